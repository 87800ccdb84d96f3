#pragma once
// Request building for OpenAI-compatible upstreams (OpenAI, Azure OpenAI,
// vLLM, Ollama, Groq, ...): same wire format, so the body is forwarded with
// `model` replaced by the deployment's model id and deployment defaults
// merged in.
#include "api/inbound.h"
#include "routing/model_registry.h"
#include "upstream/http_client.h"

namespace switchyard {

// The request's body is used in place and left as it was on return, so the
// same InboundRequest can be sent to another deployment on retry without a
// copy of the JSON tree.
UpstreamRequest build_openai_request(const DeploymentRuntime& deployment, InboundRequest& request);

}  // namespace switchyard
