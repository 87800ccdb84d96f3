#pragma once
// The OpenAI-format request a client sent, parsed once. The body stays a JSON
// object so unknown fields travel to the upstream untouched.
#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace switchyard {

enum class ApiRoute { kChatCompletions, kCompletions, kEmbeddings };
const char* api_route_name(ApiRoute route);    // "/v1/chat/completions", ...
const char* api_route_suffix(ApiRoute route);  // "/chat/completions", ...

struct InboundRequest {
  InboundRequest() = default;
  // Takes `body` over with its memory resource (see inbound_from_object).
  InboundRequest(ApiRoute r, boost::json::object b) : route(r), body(std::move(b)) {}

  ApiRoute route = ApiRoute::kChatCompletions;
  boost::json::object body;
  size_t body_bytes = 0;  // the body as the client sent it (for cost estimates)
  std::string model;
  bool stream = false;
  bool include_usage = false;
  std::optional<std::string> mock_response;  // LiteLLM per-request mock
  std::optional<int64_t> num_retries;        // LiteLLM per-request override
  // LiteLLM per-request cache controls: {"no-cache", "no-store", "ttl"}.
  std::optional<boost::json::object> cache_control;
  // LiteLLM per-request `timeout` / `stream_timeout` (seconds in the body):
  // they replace the deployment's limits for this request.
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<std::chrono::milliseconds> stream_timeout;
  // Client headers an Anthropic upstream honours (empty when not sent).
  std::string anthropic_version;
  std::string anthropic_beta;
};

// Parses and validates; LiteLLM control fields are read, then removed from
// the body so no upstream ever sees them.
Result<InboundRequest> parse_inbound(ApiRoute route, std::string_view body);
// The same validation for a body that is already a JSON object (e.g. one
// translated from the Anthropic format).
Result<InboundRequest> inbound_from_object(ApiRoute route, boost::json::object body);

// Removes fields only the gateway understands (LiteLLM control fields) so
// the upstream never sees them.
void strip_gateway_fields(boost::json::object& body);

struct TokenUsage {
  int64_t prompt_tokens = -1;
  int64_t completion_tokens = -1;
  int64_t total_tokens = -1;
  bool known() const { return total_tokens >= 0 || prompt_tokens >= 0; }
};
// Reads an OpenAI "usage" object, if `value` has one.
TokenUsage usage_from(const boost::json::object& response);
// An answer without total_tokens: prompt + completion (the rule usage_from()
// and the DOM-free scan in usage_scan.h share).
void derive_total_tokens(TokenUsage& usage);

}  // namespace switchyard
