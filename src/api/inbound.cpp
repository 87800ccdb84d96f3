#include "api/inbound.h"

#include <array>
#include <cmath>

namespace switchyard {

const char* api_route_name(ApiRoute route) {
  switch (route) {
    case ApiRoute::kChatCompletions:
      return "/v1/chat/completions";
    case ApiRoute::kCompletions:
      return "/v1/completions";
    case ApiRoute::kEmbeddings:
      return "/v1/embeddings";
  }
  return "";
}

const char* api_route_suffix(ApiRoute route) {
  switch (route) {
    case ApiRoute::kChatCompletions:
      return "/chat/completions";
    case ApiRoute::kCompletions:
      return "/completions";
    case ApiRoute::kEmbeddings:
      return "/embeddings";
  }
  return "";
}

Result<InboundRequest> parse_inbound(ApiRoute route, std::string_view text) {
  boost::json::error_code ec;
  // The body lives as long as the request: one monotonic arena for all of it
  // instead of a heap block per member (it is rarely edited, never shrunk).
  boost::json::value parsed = boost::json::parse(
      text, ec, boost::json::make_shared_resource<boost::json::monotonic_resource>());
  if (ec) {
    return Error::make(ErrorKind::kInvalidRequest,
                       "Request body is not valid JSON: " + ec.message(), "invalid_json");
  }
  if (!parsed.is_object()) {
    return Error::make(ErrorKind::kInvalidRequest, "Request body must be a JSON object",
                       "invalid_json");
  }
  auto inbound = inbound_from_object(route, std::move(parsed.as_object()));
  if (inbound) inbound->body_bytes = text.size();
  return inbound;
}

namespace {

// A per-request time limit in seconds: a positive number (at most a day).
Result<std::optional<std::chrono::milliseconds>> read_seconds(const boost::json::object& body,
                                                              std::string_view field) {
  const auto* v = body.if_contains(field);
  if (v == nullptr || v->is_null()) return std::optional<std::chrono::milliseconds>{};
  constexpr double kMaxSeconds = 86400;
  if (!v->is_number() || !(v->to_number<double>() > 0) || v->to_number<double>() > kMaxSeconds) {
    return Error::make(
        ErrorKind::kInvalidRequest,
        "'" + std::string(field) + "' must be a number of seconds greater than 0 and at most 86400",
        "invalid_value", std::string(field));
  }
  const double ms = std::ceil(v->to_number<double>() * 1000);
  return std::optional<std::chrono::milliseconds>(static_cast<int64_t>(ms));
}

}  // namespace

Result<InboundRequest> inbound_from_object(ApiRoute route, boost::json::object body) {
  // The body is move-constructed: move-assigning it into a default-constructed
  // member copied the whole body into the default heap whenever it had been
  // parsed into another memory resource (parse_inbound's arena): ~3k
  // instructions per request and an allocation per member (callgrind).
  InboundRequest req(route, std::move(body));
  auto* model = req.body.if_contains("model");
  if (model == nullptr || !model->is_string() || model->get_string().empty()) {
    return Error::make(ErrorKind::kInvalidRequest,
                       "Missing required parameter 'model' (a non-empty string)",
                       "missing_required_parameter", "model");
  }
  req.model = std::string(model->get_string());
  if (auto* stream = req.body.if_contains("stream")) {
    if (stream->is_bool()) {
      req.stream = stream->get_bool();
    } else if (!stream->is_null()) {
      return Error::make(ErrorKind::kInvalidRequest, "'stream' must be a boolean", "invalid_type",
                         "stream");
    }
  }
  if (req.stream && route == ApiRoute::kEmbeddings) {
    return Error::make(ErrorKind::kInvalidRequest, "Embeddings cannot be streamed", "invalid_value",
                       "stream");
  }
  if (auto* options = req.body.if_contains("stream_options"); options && options->is_object()) {
    if (auto* usage = options->as_object().if_contains("include_usage");
        usage && usage->is_bool()) {
      req.include_usage = usage->get_bool();
    }
  }
  if (auto* cache = req.body.if_contains("cache"); cache && cache->is_object()) {
    req.cache_control = cache->get_object();
  }
  if (auto* mock = req.body.if_contains("mock_response"); mock && mock->is_string()) {
    req.mock_response = std::string(mock->get_string());
  }
  if (auto* retries = req.body.if_contains("num_retries");
      retries && retries->is_int64() && retries->get_int64() >= 0) {
    req.num_retries = retries->get_int64();
  }
  auto timeout = read_seconds(req.body, "timeout");
  if (!timeout) return timeout.error();
  req.timeout = *timeout;
  auto stream_timeout = read_seconds(req.body, "stream_timeout");
  if (!stream_timeout) return stream_timeout.error();
  req.stream_timeout = *stream_timeout;
  if (route == ApiRoute::kChatCompletions) {
    auto* messages = req.body.if_contains("messages");
    if (messages == nullptr || !messages->is_array()) {
      return Error::make(ErrorKind::kInvalidRequest,
                         "Missing required parameter 'messages' (an array)",
                         "missing_required_parameter", "messages");
    }
  } else if (route == ApiRoute::kEmbeddings) {
    if (!req.body.contains("input")) {
      return Error::make(ErrorKind::kInvalidRequest, "Missing required parameter 'input'",
                         "missing_required_parameter", "input");
    }
  } else if (route == ApiRoute::kCompletions) {
    if (!req.body.contains("prompt")) {
      return Error::make(ErrorKind::kInvalidRequest, "Missing required parameter 'prompt'",
                         "missing_required_parameter", "prompt");
    }
  }
  strip_gateway_fields(req.body);
  return req;
}

void strip_gateway_fields(boost::json::object& body) {
  static constexpr std::array<std::string_view, 14> kGatewayOnly = {"mock_response",
                                                                    "mock_testing_fallbacks",
                                                                    "mock_timeout",
                                                                    "caching",
                                                                    "cache",
                                                                    "fallbacks",
                                                                    "context_window_fallbacks",
                                                                    "content_policy_fallbacks",
                                                                    "num_retries",
                                                                    "metadata",
                                                                    "user_config",
                                                                    "tags",
                                                                    "timeout",
                                                                    "stream_timeout"};
  for (auto name : kGatewayOnly) body.erase(name);
  for (auto it = body.begin(); it != body.end();) {
    if (it->key().starts_with("litellm_")) {
      it = body.erase(it);
    } else {
      ++it;
    }
  }
}

TokenUsage usage_from(const boost::json::object& response) {
  TokenUsage usage;
  auto* u = response.if_contains("usage");
  if (u == nullptr || !u->is_object()) return usage;
  auto read = [&](const char* key) -> int64_t {
    auto* v = u->as_object().if_contains(key);
    if (v == nullptr) return -1;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
    if (v->is_double()) return static_cast<int64_t>(v->get_double());
    return -1;
  };
  usage.prompt_tokens = read("prompt_tokens");
  usage.completion_tokens = read("completion_tokens");
  usage.total_tokens = read("total_tokens");
  derive_total_tokens(usage);
  return usage;
}

void derive_total_tokens(TokenUsage& usage) {
  if (usage.total_tokens < 0 && usage.prompt_tokens >= 0) {
    usage.total_tokens = usage.prompt_tokens + std::max<int64_t>(usage.completion_tokens, 0);
  }
}

}  // namespace switchyard
