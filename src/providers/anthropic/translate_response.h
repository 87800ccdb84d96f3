#pragma once
// Non-streaming response and error translation between Anthropic Messages and
// OpenAI Chat Completions, both ways. Pure functions; safe on any thread.
// The mapping tables are in docs/providers.md ("Anthropic translation").
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace switchyard::anthropic {

// An error reply in the client's wire format, with the HTTP status to send.
struct TranslatedError {
  int status = 502;
  boost::json::object body;
};

// Anthropic Message -> OpenAI chat.completion. `id` is the Anthropic message id
// (as LiteLLM does), or `id_hint` when the upstream sent none; `model` is what
// the client asked for. `created` defaults to the current time.
boost::json::object anthropic_to_openai_response(const boost::json::object& anthropic,
                                                 const std::string& model_group_or_model,
                                                 const std::string& id_hint,
                                                 std::optional<int64_t> created = std::nullopt);

// Anthropic {"type":"error","error":{"type","message"}} -> OpenAI
// {"error":{"message","type","param","code"}}. The status is the upstream's
// HTTP status when it is 4xx/5xx, else the documented status of the error
// type (overloaded_error 529, ...), else 502. Prompt-too-long errors get
// code "context_length_exceeded" so context-window fallbacks can see them.
TranslatedError anthropic_error_to_openai(const boost::json::object& anthropic_body,
                                          int upstream_status = 0);
// Same, from the raw upstream body (which may not be JSON at all).
TranslatedError anthropic_error_to_openai(std::string_view raw_body, int upstream_status);

// OpenAI chat.completion -> Anthropic Message (inbound /v1/messages). Fails
// with kUpstreamInvalid when the upstream reply has no choice or a tool call
// whose arguments are not a JSON object.
Result<boost::json::object> openai_to_anthropic_response(const boost::json::object& openai,
                                                         const std::string& model,
                                                         const std::string& id_hint = "");

// OpenAI-shaped (or vLLM-style {"message": ...}) error body -> Anthropic
// error body, keeping the status.
TranslatedError openai_error_to_anthropic(const boost::json::object& openai_body, int status);
// The gateway's own errors in Anthropic shape, for /v1/messages clients.
TranslatedError anthropic_error_from(const Error& error);

}  // namespace switchyard::anthropic
