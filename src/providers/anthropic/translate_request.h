#pragma once
// Request translation between the OpenAI Chat Completions wire format and the
// Anthropic Messages API, both ways. Pure functions: no I/O, no clock, no
// state; safe on any thread. What is translated, rejected, dropped and passed
// through is listed in docs/providers.md ("Anthropic translation").
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace switchyard::anthropic {

inline constexpr int64_t kDefaultMaxTokens = 4096;
inline constexpr std::string_view kDefaultAnthropicVersion = "2023-06-01";

// OpenAI /v1/chat/completions body -> Anthropic /v1/messages body for an
// `anthropic/` deployment. `model_id` replaces `model`. Anthropic requires
// max_tokens: max_completion_tokens, else max_tokens, else
// `default_max_tokens`, else 4096. Errors are kInvalidRequest (400) with
// `param` naming the offending field, e.g. "messages[1].tool_calls[0].function.arguments".
// Gateway-only fields (LiteLLM control fields) must be stripped before.
Result<boost::json::object> openai_to_anthropic_request(const boost::json::object& openai_body,
                                                        const std::string& model_id,
                                                        std::optional<int64_t> default_max_tokens);

// Headers for the upstream call: content-type, x-api-key, anthropic-version
// (the client's `anthropic-version` header when it sent one, else
// 2023-06-01) and anthropic-beta (the client's header, plus the entries of an
// `anthropic_beta` body field when `openai_body` is given; duplicates removed).
// Pass empty views for headers the client did not send.
std::vector<std::pair<std::string, std::string>> anthropic_request_headers(
    std::string_view api_key, std::string_view client_anthropic_version,
    std::string_view client_anthropic_beta, const boost::json::object* openai_body = nullptr);

// Inbound Anthropic /v1/messages body -> OpenAI /v1/chat/completions body, so
// Claude clients can reach any OpenAI-compatible deployment. `model_id`
// replaces `model` (when empty, the body's model is kept). Streaming requests
// get stream_options.include_usage so the reply can carry usage.
Result<boost::json::object> anthropic_to_openai_request(const boost::json::object& anthropic_body,
                                                        const std::string& model_id);

}  // namespace switchyard::anthropic
