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
Result<std::optional<std::chrono::milliseconds>> read_seconds(const boost::json::value* v,
                                                              std::string_view field) {
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

// The members inbound_from_object() reads, found in one pass over the body
// instead of a lookup each: Boost.JSON looks keys up in small objects by a
// linear scan with a string compare, and the ~10 lookups here plus 14 erases
// in strip_gateway_fields() were ~2k instructions a request (callgrind).
enum KnownField : uint8_t {
  kModel,
  kStream,
  kStreamOptions,
  kCache,
  kMockResponse,
  kNumRetries,
  kTimeout,
  kStreamTimeout,
  kMessages,
  kInput,
  kPrompt,
  kKnownFieldCount
};
constexpr std::array<std::string_view, kKnownFieldCount> kKnownFieldNames = {
    "model",   "stream",         "stream_options", "cache", "mock_response", "num_retries",
    "timeout", "stream_timeout", "messages",       "input", "prompt"};

std::array<const boost::json::value*, kKnownFieldCount> find_known_fields(
    const boost::json::object& body) {
  std::array<const boost::json::value*, kKnownFieldCount> found{};
  for (const auto& item : body) {
    const std::string_view key = item.key();
    for (size_t i = 0; i < kKnownFieldCount; ++i) {
      if (key == kKnownFieldNames[i]) {
        if (found[i] == nullptr) found[i] = &item.value();  // the first, as if_contains()
        break;
      }
    }
  }
  return found;
}

constexpr std::array<std::string_view, 14> kGatewayOnly = {"mock_response",
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

bool is_gateway_field(std::string_view key) {
  if (key.starts_with("litellm_")) return true;
  for (auto name : kGatewayOnly) {
    if (key == name) return true;
  }
  return false;
}

}  // namespace

Result<InboundRequest> inbound_from_object(ApiRoute route, boost::json::object body) {
  // The body is move-constructed: move-assigning it into a default-constructed
  // member copied the whole body into the default heap whenever it had been
  // parsed into another memory resource (parse_inbound's arena): ~3k
  // instructions per request and an allocation per member (callgrind).
  InboundRequest req(route, std::move(body));
  const auto known = find_known_fields(req.body);
  const auto* model = known[kModel];
  if (model == nullptr || !model->is_string() || model->get_string().empty()) {
    return Error::make(ErrorKind::kInvalidRequest,
                       "Missing required parameter 'model' (a non-empty string)",
                       "missing_required_parameter", "model");
  }
  req.model = std::string(model->get_string());
  if (const auto* stream = known[kStream]) {
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
  if (const auto* options = known[kStreamOptions]; options && options->is_object()) {
    if (const auto* usage = options->as_object().if_contains("include_usage");
        usage && usage->is_bool()) {
      req.include_usage = usage->get_bool();
    }
  }
  if (const auto* cache = known[kCache]; cache && cache->is_object()) {
    req.cache_control = cache->get_object();
  }
  if (const auto* mock = known[kMockResponse]; mock && mock->is_string()) {
    req.mock_response = std::string(mock->get_string());
  }
  if (const auto* retries = known[kNumRetries];
      retries && retries->is_int64() && retries->get_int64() >= 0) {
    req.num_retries = retries->get_int64();
  }
  auto timeout = read_seconds(known[kTimeout], "timeout");
  if (!timeout) return timeout.error();
  req.timeout = *timeout;
  auto stream_timeout = read_seconds(known[kStreamTimeout], "stream_timeout");
  if (!stream_timeout) return stream_timeout.error();
  req.stream_timeout = *stream_timeout;
  if (route == ApiRoute::kChatCompletions) {
    const auto* messages = known[kMessages];
    if (messages == nullptr || !messages->is_array()) {
      return Error::make(ErrorKind::kInvalidRequest,
                         "Missing required parameter 'messages' (an array)",
                         "missing_required_parameter", "messages");
    }
  } else if (route == ApiRoute::kEmbeddings) {
    if (known[kInput] == nullptr) {
      return Error::make(ErrorKind::kInvalidRequest, "Missing required parameter 'input'",
                         "missing_required_parameter", "input");
    }
  } else if (route == ApiRoute::kCompletions) {
    if (known[kPrompt] == nullptr) {
      return Error::make(ErrorKind::kInvalidRequest, "Missing required parameter 'prompt'",
                         "missing_required_parameter", "prompt");
    }
  }
  strip_gateway_fields(req.body);
  return req;
}

void strip_gateway_fields(boost::json::object& body) {
  // Nearly every body has none of them: one pass to find that out is far
  // cheaper than 14 erase-by-name lookups. When there is one, the erases run
  // as before, so the order left behind (erase moves the last member into
  // the gap) is unchanged.
  bool any = false;
  for (const auto& item : body) {
    if (is_gateway_field(item.key())) {
      any = true;
      break;
    }
  }
  if (!any) return;
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
