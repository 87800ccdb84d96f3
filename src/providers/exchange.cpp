#include "providers/exchange.h"

#include <boost/json.hpp>

#include "api/sse.h"
#include "api/usage_scan.h"
#include "providers/anthropic/stream_translator.h"
#include "providers/anthropic/translate_request.h"
#include "providers/anthropic/translate_response.h"
#include "providers/bedrock/converse_request.h"
#include "providers/bedrock/converse_response.h"
#include "providers/bedrock/converse_stream.h"
#include "providers/openai_compatible.h"
#include "upstream/aws_sigv4.h"

namespace switchyard {

Error upstream_status_error(int status, const std::string& body, const std::string& retry_after) {
  Error error;
  error.kind = ErrorKind::kUpstreamStatus;
  error.upstream_status = status;
  error.retry_after = retry_after;
  error.code = "upstream_status_" + std::to_string(status);
  boost::json::error_code ec;
  auto parsed = boost::json::parse(body, ec);
  if (!ec && parsed.is_object()) {
    const auto& obj = parsed.as_object();
    if (auto* inner = obj.if_contains("error"); inner && inner->is_object()) {
      const auto& e = inner->as_object();
      if (auto* msg = e.if_contains("message"); msg && msg->is_string()) {
        // Normalise to exactly {"error":{message,type,param,code}}.
        boost::json::object out_inner;
        out_inner["message"] = msg->get_string();
        auto* type = e.if_contains("type");
        out_inner["type"] =
            type && type->is_string() ? *type : boost::json::value(error_type(error));
        auto* param = e.if_contains("param");
        out_inner["param"] = param ? *param : boost::json::value(nullptr);
        auto* code = e.if_contains("code");
        out_inner["code"] = code ? *code : boost::json::value(nullptr);
        if (code && code->is_string()) error.code = std::string(code->get_string());
        error.message = std::string(msg->get_string());
        error.upstream_body_error =
            boost::json::serialize(boost::json::object{{"error", out_inner}});
        return error;
      }
      error.message = "Upstream returned HTTP " + std::to_string(status);
      return error;
    }
    // vLLM-style {"object":"error","message":...}
    if (auto* msg = obj.if_contains("message"); msg && msg->is_string()) {
      error.message = std::string(msg->get_string());
      return error;
    }
    if (auto* msg = obj.if_contains("error"); msg && msg->is_string()) {
      error.message = std::string(msg->get_string());
      return error;
    }
  }
  error.message = "Upstream returned HTTP " + std::to_string(status);
  return error;
}

namespace {

Error invalid_upstream_body(const DeploymentRuntime& deployment) {
  return Error::make(
      ErrorKind::kUpstreamInvalid,
      "Upstream returned a body that is not a JSON object (deployment " + deployment.id() + ")",
      "upstream_invalid_response");
}

// OpenAI-compatible answers are already in the right format.
class PassthroughTranslator final : public ResponseTranslator {
 public:
  explicit PassthroughTranslator(const DeploymentRuntime& deployment) : deployment_(deployment) {}
  bool passthrough() const override { return true; }
  Result<std::string> body(std::string upstream_body, TokenUsage& usage) override {
    // Validated and read for its usage only, without building a DOM.
    if (!scan_response_usage(upstream_body, usage)) return invalid_upstream_body(deployment_);
    return upstream_body;
  }
  Error error(int status, const std::string& body, const std::string& retry_after,
              std::string_view) override {
    return upstream_status_error(status, body, retry_after);
  }
  void stream_piece(std::string_view in, std::string& out) override {
    observer_.feed(in);
    out.append(in);
  }
  void stream_end(std::string&) override {}
  TokenUsage stream_usage() const override { return observer_.usage(); }
  SseObserver& observer() { return observer_; }

 private:
  const DeploymentRuntime& deployment_;
  SseObserver observer_;
};

class AnthropicTranslator final : public ResponseTranslator {
 public:
  AnthropicTranslator(const DeploymentRuntime& deployment, const InboundRequest& request,
                      std::string call_id)
      : deployment_(deployment),
        model_(request.model),
        call_id_(std::move(call_id)),
        stream_(request.model, "chatcmpl-" + call_id_, request.include_usage) {}

  Result<std::string> body(std::string upstream_body, TokenUsage& usage) override {
    boost::json::error_code ec;
    auto parsed = boost::json::parse(upstream_body, ec);
    if (ec || !parsed.is_object()) return invalid_upstream_body(deployment_);
    auto openai =
        anthropic::anthropic_to_openai_response(parsed.as_object(), model_, "chatcmpl-" + call_id_);
    usage = usage_from(openai);
    return boost::json::serialize(openai);
  }
  Error error(int status, const std::string& body, const std::string& retry_after,
              std::string_view) override {
    auto translated = anthropic::anthropic_error_to_openai(std::string_view(body), status);
    return upstream_status_error(status, boost::json::serialize(translated.body), retry_after);
  }
  void stream_piece(std::string_view in, std::string& out) override { stream_.feed(in, out); }
  void stream_end(std::string& out) override { stream_.finish(out); }
  TokenUsage stream_usage() const override { return stream_.usage(); }
  bool stream_complete() const override { return stream_.ended_cleanly() || stream_.saw_error(); }

 private:
  const DeploymentRuntime& deployment_;
  std::string model_;
  std::string call_id_;
  anthropic::AnthropicToOpenAIStream stream_;
};

class BedrockTranslator final : public ResponseTranslator {
 public:
  BedrockTranslator(const DeploymentRuntime& deployment, const InboundRequest& request,
                    std::string call_id)
      : deployment_(deployment),
        model_(request.model),
        id_("chatcmpl-" + call_id),
        stream_(request.model, id_, request.include_usage) {}

  bool is_stream(std::string_view content_type) const override {
    return content_type.find("application/vnd.amazon.eventstream") != std::string_view::npos;
  }
  Result<std::string> body(std::string upstream_body, TokenUsage& usage) override {
    boost::json::error_code ec;
    auto parsed = boost::json::parse(upstream_body, ec);
    if (ec || !parsed.is_object()) return invalid_upstream_body(deployment_);
    auto openai = bedrock::converse_to_openai_response(parsed.as_object(), model_, id_);
    usage = usage_from(openai);
    return boost::json::serialize(openai);
  }
  Error error(int status, const std::string& body, const std::string& retry_after,
              std::string_view amzn_error_type) override {
    return bedrock::bedrock_upstream_error(amzn_error_type, body, status, retry_after);
  }
  void stream_piece(std::string_view in, std::string& out) override { stream_.feed(in, out); }
  void stream_end(std::string& out) override { stream_.finish(out); }
  TokenUsage stream_usage() const override { return stream_.token_usage(); }
  bool stream_complete() const override { return stream_.ended_cleanly() || stream_.saw_error(); }

 private:
  const DeploymentRuntime& deployment_;
  std::string model_;
  std::string id_;
  bedrock::ConverseStreamTranslator stream_;
};

Result<PreparedExchange> prepare_bedrock(const DeploymentRuntime& deployment,
                                         InboundRequest& request, const std::string& call_id) {
  auto body = bedrock::openai_to_converse_request(request.body);
  if (!body) return body.error();
  const AwsCredentials credentials = deployment.aws_credentials->current();
  if (credentials.empty()) {
    // Temporary credentials not fetched yet, or expired and not renewed.
    return Error::make(
        ErrorKind::kUnavailable,
        deployment.aws_credentials->problem() + " (deployment " + deployment.id() + ")",
        "aws_credentials_unavailable");
  }
  const LitellmParams& params = deployment.config->params;
  PreparedExchange exchange;
  auto& out = exchange.request;
  out.method = http::verb::post;
  out.target = deployment.path_prefix + bedrock::converse_path(params.model_id, request.stream);
  out.body = boost::json::serialize(*body);
  // SigV4 over exactly the headers that are sent (Host included).
  SigV4Request to_sign;
  to_sign.method = "POST";
  to_sign.path = out.target;
  to_sign.payload_sha256_hex = sha256_hex(out.body);
  const std::string amz_date = amz_date_now();
  to_sign.headers = {{"host", deployment.endpoint.host_header()},
                     {"content-type", "application/json"},
                     {"x-amz-date", amz_date}};
  if (!credentials.session_token.empty()) {
    to_sign.headers.emplace_back("x-amz-security-token", credentials.session_token);
  }
  auto signature = sign_v4(to_sign, credentials, deployment.aws_region, "bedrock", amz_date);
  for (const auto& [name, value] : to_sign.headers) {
    if (name != "host") out.headers.emplace_back(name, value);
  }
  out.headers.emplace_back("authorization", signature.authorization);
  if (request.stream) out.headers.emplace_back("accept", "application/vnd.amazon.eventstream");
  exchange.translator = std::make_unique<BedrockTranslator>(deployment, request, call_id);
  return exchange;
}

}  // namespace

Result<PreparedExchange> prepare_exchange(const DeploymentRuntime& deployment,
                                          InboundRequest& request, const std::string& call_id) {
  if (deployment.kind == ProviderKind::kBedrock) {
    if (request.route != ApiRoute::kChatCompletions) {
      return Error::make(ErrorKind::kInvalidRequest,
                         std::string("Bedrock deployments only serve chat completions, not ") +
                             api_route_name(request.route),
                         "unsupported_route");
    }
    return prepare_bedrock(deployment, request, call_id);
  }
  PreparedExchange exchange;
  if (deployment.kind != ProviderKind::kAnthropic) {
    exchange.request = build_openai_request(deployment, request);
    exchange.translator = std::make_unique<PassthroughTranslator>(deployment);
    return exchange;
  }
  if (request.route != ApiRoute::kChatCompletions) {
    return Error::make(ErrorKind::kInvalidRequest,
                       std::string("Anthropic deployments only serve chat completions, not ") +
                           api_route_name(request.route),
                       "unsupported_route");
  }
  const LitellmParams& params = deployment.config->params;
  auto body =
      anthropic::openai_to_anthropic_request(request.body, params.model_id, params.max_tokens);
  if (!body) return body.error();
  for (const auto& item : params.extra_body) {
    if (!body->contains(item.key())) (*body)[item.key()] = item.value();
  }
  exchange.request.method = http::verb::post;
  exchange.request.target = deployment.path_prefix + deployment.query;
  exchange.request.headers =
      anthropic::anthropic_request_headers(deployment.auth_header_value, request.anthropic_version,
                                           request.anthropic_beta, &request.body);
  for (const auto& [name, value] : params.extra_headers) {
    exchange.request.headers.emplace_back(name, value);
  }
  if (request.stream) exchange.request.headers.emplace_back("accept", "text/event-stream");
  exchange.request.body = boost::json::serialize(*body);
  exchange.translator = std::make_unique<AnthropicTranslator>(deployment, request, call_id);
  return exchange;
}

}  // namespace switchyard
