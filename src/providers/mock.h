#pragma once
// The built-in `mock/` provider: deterministic OpenAI-shaped answers with no
// network, for the offline quickstart, tests and benchmarks. Also serves
// LiteLLM's per-request `mock_response` on any deployment.
#include <string>
#include <vector>

#include "api/inbound.h"

namespace switchyard {

struct MockAnswer {
  // Non-streaming: the complete JSON body. Streaming: SSE events, the last
  // being "data: [DONE]".
  std::string body;
  std::vector<std::string> events;
  TokenUsage usage;
};

// `model` is the model id reported back; `content` overrides the default text.
MockAnswer mock_answer(const InboundRequest& request, const std::string& model,
                       const std::optional<std::string>& content, int64_t stream_chunks,
                       const std::string& call_id);

// Rough token count (~4 characters a token), enough for usage in mocks.
int64_t estimate_tokens(std::string_view text);

}  // namespace switchyard
