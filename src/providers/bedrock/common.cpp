#include "providers/bedrock/common.h"

#include <cctype>
#include <cmath>

namespace switchyard::bedrock {

using namespace json_util;

void ConverseUsage::merge_from(const boost::json::object& usage) {
  seen = true;
  if (auto v = find_int(usage, "inputTokens")) input_tokens = *v;
  if (auto v = find_int(usage, "outputTokens")) output_tokens = *v;
  if (auto v = find_int(usage, "totalTokens")) total_tokens = *v;
  if (auto v = find_int(usage, "cacheReadInputTokens")) cache_read_input_tokens = *v;
  if (auto v = find_int(usage, "cacheWriteInputTokens")) cache_write_input_tokens = *v;
}

boost::json::object ConverseUsage::to_openai() const {
  boost::json::object u;
  u["prompt_tokens"] = prompt_tokens();
  u["completion_tokens"] = output_tokens;
  u["total_tokens"] = prompt_tokens() + output_tokens;
  boost::json::object details;
  details["cached_tokens"] = cache_read_input_tokens.value_or(0);
  u["prompt_tokens_details"] = std::move(details);
  if (cache_read_input_tokens) u["cache_read_input_tokens"] = *cache_read_input_tokens;
  if (cache_write_input_tokens) u["cache_creation_input_tokens"] = *cache_write_input_tokens;
  return u;
}

TokenUsage ConverseUsage::to_token_usage() const {
  TokenUsage t;
  if (!seen) return t;
  t.prompt_tokens = prompt_tokens();
  t.completion_tokens = output_tokens;
  t.total_tokens = prompt_tokens() + output_tokens;
  return t;
}

const char* openai_finish_reason(std::string_view stop_reason) {
  if (stop_reason == "end_turn" || stop_reason == "stop_sequence") return "stop";
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
    return "length";
  }
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "content_filtered" || stop_reason == "guardrail_intervened") {
    return "content_filter";
  }
  return "stop";
}

std::string normalize_error_type(std::string_view raw) {
  // Header form: "Name:http://internal.amazon.com/coral/...".
  if (size_t colon = raw.find(':'); colon != std::string_view::npos) raw = raw.substr(0, colon);
  // Body form: "namespace#Name".
  if (size_t hash = raw.rfind('#'); hash != std::string_view::npos) raw = raw.substr(hash + 1);
  while (!raw.empty() && std::isspace(static_cast<unsigned char>(raw.front())))
    raw.remove_prefix(1);
  while (!raw.empty() && std::isspace(static_cast<unsigned char>(raw.back()))) raw.remove_suffix(1);
  std::string out(raw);
  // Event-stream form names the union member: "throttlingException".
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

int bedrock_error_status(std::string_view t) {
  // Statuses from the Bedrock Runtime API reference (Converse / ConverseStream
  // "Errors") plus the AWS-wide authentication errors.
  struct Row {
    std::string_view name;
    int status;
  };
  static constexpr Row kTable[] = {
      {"ValidationException", 400},
      {"ServiceQuotaExceededException", 400},
      {"IncompleteSignature", 400},
      {"IncompleteSignatureException", 400},
      {"AccessDeniedException", 403},
      {"UnrecognizedClientException", 403},
      {"InvalidSignatureException", 403},
      {"ExpiredTokenException", 403},
      {"MissingAuthenticationTokenException", 403},
      {"ResourceNotFoundException", 404},
      {"ModelTimeoutException", 408},
      {"ConflictException", 409},
      {"ModelErrorException", 424},
      {"ModelStreamErrorException", 424},
      {"ThrottlingException", 429},
      {"ModelNotReadyException", 429},
      {"InternalServerException", 500},
      {"InternalFailure", 500},
      {"ServiceUnavailableException", 503},
  };
  for (const auto& row : kTable) {
    if (row.name == t) return row.status;
  }
  return 0;
}

const char* openai_error_type_for_status(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 408:
      return "timeout_error";
    case 424:
      return "api_error";  // the model failed (ModelErrorException)
    case 429:
      return "rate_limit_error";
    case 503:
      return "service_unavailable_error";
    default:
      break;
  }
  if (status >= 500) return "api_error";
  return "upstream_error";
}

Error invalid_request(std::string message, std::string param, std::string code) {
  return Error::make(ErrorKind::kInvalidRequest, std::move(message), std::move(code),
                     std::move(param));
}

}  // namespace switchyard::bedrock
