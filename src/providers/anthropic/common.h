#pragma once
// Pieces shared by the OpenAI <-> Anthropic translators: usage accounting,
// stop-reason tables and small JSON accessors. Pure functions, no state.
#include <boost/json.hpp>

#include "api/json_access.h"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/inbound.h"
#include "core/error.h"

namespace switchyard::anthropic {

// Token counts as Anthropic reports them. `input_tokens` excludes cached
// tokens; the cache fields are separate (and only present when the upstream
// sent them, so the OpenAI side mirrors exactly what it was given).
struct AnthropicUsage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cache_creation_input_tokens = 0;
  int64_t cache_read_input_tokens = 0;
  std::optional<int64_t> thinking_tokens;  // usage.output_tokens_details.thinking_tokens
  bool has_cache_creation = false;
  bool has_cache_read = false;
  bool seen = false;  // any usage object was read

  // Overwrites the fields `usage` carries (message_delta usage is cumulative,
  // so a later value replaces an earlier one).
  void merge_from(const boost::json::object& usage);

  // LiteLLM convention: prompt_tokens counts every input token, cached or not.
  int64_t prompt_tokens() const {
    return input_tokens + cache_creation_input_tokens + cache_read_input_tokens;
  }
  // OpenAI usage object: prompt/completion/total, prompt_tokens_details.
  // cached_tokens (= cache reads), plus LiteLLM's cache_creation_input_tokens /
  // cache_read_input_tokens when Anthropic reported them.
  boost::json::object to_openai() const;
  TokenUsage to_token_usage() const;
};

// end_turn/stop_sequence/pause_turn -> stop, max_tokens/model_context_window_exceeded
// -> length, tool_use -> tool_calls, refusal -> content_filter; anything else -> stop.
const char* openai_finish_reason(std::string_view anthropic_stop_reason);
// stop -> end_turn, length -> max_tokens, tool_calls/function_call -> tool_use,
// content_filter -> refusal; anything else -> end_turn.
const char* anthropic_stop_reason(std::string_view openai_finish_reason);

// Anthropic error type <-> HTTP status (the table in docs/providers.md).
int anthropic_error_status(std::string_view anthropic_error_type);  // 0 when unknown
const char* anthropic_error_type_for_status(int status);

namespace json_util {
using namespace ::switchyard::json_access;  // shared lookups (src/api/json_access.h)
}  // namespace json_util

// 400 invalid_request_error naming the offending field.
Error invalid_request(std::string message, std::string param, std::string code = "invalid_value");

}  // namespace switchyard::anthropic
