#include "providers/openai_compatible.h"

namespace switchyard {

UpstreamRequest build_openai_request(const DeploymentRuntime& deployment,
                                     InboundRequest& request) {
  const LitellmParams& params = deployment.config->params;
  auto& body = request.body;
  strip_gateway_fields(body);
  body["model"] = params.model_id;
  // Deployment params are defaults; what the client sent wins.
  for (const auto& item : params.extra_body) {
    if (!body.contains(item.key())) body[item.key()] = item.value();
  }
  if (params.max_tokens && request.route != ApiRoute::kEmbeddings &&
      !body.contains("max_tokens") && !body.contains("max_completion_tokens")) {
    body["max_tokens"] = *params.max_tokens;
  }

  UpstreamRequest out;
  out.method = http::verb::post;
  out.target = deployment.endpoint.base_path + api_route_suffix(request.route);
  out.headers.emplace_back("content-type", "application/json");
  out.headers.emplace_back("accept", request.stream ? "text/event-stream" : "application/json");
  if (!deployment.authorization.empty()) {
    out.headers.emplace_back("authorization", deployment.authorization);
  }
  if (!params.organization.empty()) {
    out.headers.emplace_back("openai-organization", params.organization);
  }
  for (const auto& [name, value] : params.extra_headers) out.headers.emplace_back(name, value);
  out.body = boost::json::serialize(body);
  return out;
}

}  // namespace switchyard
