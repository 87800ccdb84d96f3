#pragma once
// Request building for OpenAI-compatible upstreams (OpenAI, vLLM, Ollama,
// Groq, ...): same wire format, so the body is forwarded with `model`
// replaced by the deployment's model id and deployment defaults merged in.
#include "api/inbound.h"
#include "routing/model_registry.h"
#include "upstream/http_client.h"

namespace switchyard {

UpstreamRequest build_openai_request(const DeploymentRuntime& deployment, InboundRequest& request);

}  // namespace switchyard
