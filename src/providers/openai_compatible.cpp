#include "providers/openai_compatible.h"

#include <vector>

#include "api/json_write.h"

namespace switchyard {

UpstreamRequest build_openai_request(const DeploymentRuntime& deployment, InboundRequest& request) {
  const LitellmParams& params = deployment.config->params;
  auto& body = request.body;
  // (A body without "model" gets it first, as the assignment this replaces
  // did, so extra_body keys still come after it.)
  if (!body.contains("model")) body["model"] = params.model_id;
  // Deployment params are defaults; what the client sent wins. Keys added
  // here are removed again after serialising. The upstream's model name is
  // written by the serialiser in place of the client's, as if assigned.
  std::vector<std::string_view> added;
  for (const auto& item : params.extra_body) {
    if (!body.contains(item.key())) {
      body[item.key()] = item.value();
      added.push_back(item.key());
    }
  }
  if (params.max_tokens && request.route != ApiRoute::kEmbeddings && !body.contains("max_tokens") &&
      !body.contains("max_completion_tokens")) {
    body["max_tokens"] = *params.max_tokens;
    added.emplace_back("max_tokens");
  }

  UpstreamRequest out;
  out.method = http::verb::post;
  out.target = deployment.path_prefix + api_route_suffix(request.route) + deployment.query;
  // Room for every header at once: growing 1 -> 2 -> 4 moved the strings
  // along each time (~300 instructions a request, callgrind).
  out.headers.reserve(4 + params.extra_headers.size());
  out.headers.emplace_back("content-type", "application/json");
  out.headers.emplace_back("accept", request.stream ? "text/event-stream" : "application/json");
  if (!deployment.auth_header_name.empty()) {
    out.headers.emplace_back(deployment.auth_header_name, deployment.auth_header_value);
  }
  if (!params.organization.empty()) {
    out.headers.emplace_back("openai-organization", params.organization);
  }
  for (const auto& [name, value] : params.extra_headers) out.headers.emplace_back(name, value);
  out.body = serialize_with_model(body, params.model_id, request.body_bytes);

  for (auto key : added) body.erase(key);
  // The body goes on with the client's model name (it always did: it was
  // assigned back here), without touching it when that is already so.
  if (const auto* model = body.if_contains("model");
      model == nullptr || !model->is_string() || model->get_string() != request.model) {
    body["model"] = request.model;
  }
  return out;
}

}  // namespace switchyard
