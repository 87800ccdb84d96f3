#include "providers/anthropic/common.h"

#include <cmath>

namespace switchyard::anthropic {

using namespace json_util;

void AnthropicUsage::merge_from(const boost::json::object& usage) {
  seen = true;
  if (auto v = find_int(usage, "input_tokens")) input_tokens = *v;
  if (auto v = find_int(usage, "output_tokens")) output_tokens = *v;
  if (auto v = find_int(usage, "cache_creation_input_tokens")) {
    cache_creation_input_tokens = *v;
    has_cache_creation = true;
  }
  if (auto v = find_int(usage, "cache_read_input_tokens")) {
    cache_read_input_tokens = *v;
    has_cache_read = true;
  }
  if (const auto* details = find_object(usage, "output_tokens_details")) {
    if (auto v = find_int(*details, "thinking_tokens")) thinking_tokens = *v;
  }
}

boost::json::object AnthropicUsage::to_openai() const {
  boost::json::object out;
  const int64_t prompt = prompt_tokens();
  out["prompt_tokens"] = prompt;
  out["completion_tokens"] = output_tokens;
  out["total_tokens"] = prompt + output_tokens;
  boost::json::object details;
  details["cached_tokens"] = cache_read_input_tokens;
  out["prompt_tokens_details"] = std::move(details);
  if (thinking_tokens) {
    boost::json::object completion_details;
    completion_details["reasoning_tokens"] = *thinking_tokens;
    out["completion_tokens_details"] = std::move(completion_details);
  }
  if (has_cache_creation) out["cache_creation_input_tokens"] = cache_creation_input_tokens;
  if (has_cache_read) out["cache_read_input_tokens"] = cache_read_input_tokens;
  return out;
}

TokenUsage AnthropicUsage::to_token_usage() const {
  TokenUsage u;
  if (!seen) return u;
  u.prompt_tokens = prompt_tokens();
  u.completion_tokens = output_tokens;
  u.total_tokens = u.prompt_tokens + u.completion_tokens;
  return u;
}

const char* openai_finish_reason(std::string_view r) {
  if (r == "end_turn" || r == "stop_sequence" || r == "pause_turn") return "stop";
  if (r == "max_tokens" || r == "model_context_window_exceeded") return "length";
  if (r == "tool_use") return "tool_calls";
  if (r == "refusal") return "content_filter";
  return "stop";
}

const char* anthropic_stop_reason(std::string_view r) {
  if (r == "length") return "max_tokens";
  if (r == "tool_calls" || r == "function_call") return "tool_use";
  if (r == "content_filter") return "refusal";
  return "end_turn";
}

int anthropic_error_status(std::string_view t) {
  if (t == "invalid_request_error") return 400;
  if (t == "authentication_error") return 401;
  if (t == "billing_error") return 402;
  if (t == "permission_error") return 403;
  if (t == "not_found_error") return 404;
  if (t == "request_too_large") return 413;
  if (t == "rate_limit_error") return 429;
  if (t == "api_error") return 500;
  if (t == "timeout_error") return 504;
  if (t == "overloaded_error") return 529;
  return 0;
}

const char* anthropic_error_type_for_status(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    case 504:
      return "timeout_error";
    default:
      break;
  }
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

Error invalid_request(std::string message, std::string param, std::string code) {
  return Error::make(ErrorKind::kInvalidRequest, std::move(message), std::move(code),
                     std::move(param));
}

}  // namespace switchyard::anthropic
