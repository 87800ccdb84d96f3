#pragma once
// Pieces shared by the Bedrock Converse translators: token usage, the
// stop-reason table, the Bedrock exception -> HTTP status table and small JSON
// accessors. Pure functions and value types; safe on any thread.
#include <boost/json.hpp>

#include "api/json_access.h"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/inbound.h"
#include "core/error.h"

namespace switchyard::bedrock {

// Token counts as Bedrock reports them (TokenUsage). `inputTokens` does not
// include prompt-cache reads and writes, which are reported separately and
// only when the model uses prompt caching.
struct ConverseUsage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t total_tokens = 0;  // as Bedrock sent it (informational)
  std::optional<int64_t> cache_read_input_tokens;
  std::optional<int64_t> cache_write_input_tokens;
  bool seen = false;  // a usage object was read

  // Reads a Bedrock `usage` object; fields it lacks keep their values.
  void merge_from(const boost::json::object& usage);

  // LiteLLM convention: prompt_tokens counts every input token, cached or not.
  int64_t prompt_tokens() const {
    return input_tokens + cache_read_input_tokens.value_or(0) +
           cache_write_input_tokens.value_or(0);
  }
  // OpenAI usage: prompt/completion/total (total = prompt + completion),
  // prompt_tokens_details.cached_tokens (= cache reads), plus LiteLLM's
  // cache_read_input_tokens / cache_creation_input_tokens when Bedrock sent them.
  boost::json::object to_openai() const;
  TokenUsage to_token_usage() const;
};

// Bedrock stopReason -> OpenAI finish_reason:
// end_turn/stop_sequence -> stop, max_tokens/model_context_window_exceeded ->
// length, tool_use -> tool_calls, content_filtered/guardrail_intervened ->
// content_filter; anything else (malformed_model_output, malformed_tool_use,
// unknown values) -> stop.
const char* openai_finish_reason(std::string_view stop_reason);

// "ValidationException:http://internal..." (x-amzn-ErrorType header),
// "com.amazon.coral.validate#ValidationException" (__type in a body) and
// "validationException" (:exception-type in an event stream) all become
// "ValidationException".
std::string normalize_error_type(std::string_view raw);
// HTTP status AWS documents for a (normalized) Bedrock exception name; 0 when
// the name is not known.
int bedrock_error_status(std::string_view normalized_error_type);
// OpenAI error `type` for the status sent to the client.
const char* openai_error_type_for_status(int status);

namespace json_util {
using namespace ::switchyard::json_access;  // shared lookups (src/api/json_access.h)
}  // namespace json_util

// 400 invalid_request_error whose `param` names the offending field.
Error invalid_request(std::string message, std::string param, std::string code = "invalid_value");

}  // namespace switchyard::bedrock
