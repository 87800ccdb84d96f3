#pragma once
// One upstream exchange, provider-neutral: the request to send, and a
// translator that turns the provider's answer (whole body, error body, or
// stream bytes) into the OpenAI format the rest of the pipeline speaks.
// OpenAI-compatible providers pass bytes through untouched.
#include <memory>
#include <string>

#include "api/inbound.h"
#include "core/error.h"
#include "routing/model_registry.h"
#include "upstream/http_client.h"

namespace switchyard {

class ResponseTranslator {
 public:
  virtual ~ResponseTranslator() = default;
  // True when stream bytes are already OpenAI SSE (no translation, no copy).
  virtual bool passthrough() const { return false; }
  // A 2xx body -> OpenAI JSON body (moved through when already OpenAI).
  virtual Result<std::string> body(std::string upstream_body, TokenUsage& usage) = 0;
  // A non-2xx answer -> Error with the upstream status. `amzn_error_type`
  // is the x-amzn-ErrorType header (Bedrock), empty otherwise.
  virtual Error error(int status, const std::string& body, const std::string& retry_after,
                      std::string_view amzn_error_type) = 0;
  // Whether a 200 answer with this content type is the provider's stream.
  virtual bool is_stream(std::string_view content_type) const {
    return content_type.find("text/event-stream") != std::string_view::npos;
  }
  // Stream bytes -> OpenAI SSE bytes appended to `out`.
  virtual void stream_piece(std::string_view in, std::string& out) = 0;
  virtual void stream_end(std::string& out) = 0;
  virtual TokenUsage stream_usage() const = 0;
  // False when the upstream closed its stream without the provider's end
  // marker and without an error event (cut off): the client must be told.
  virtual bool stream_complete() const { return true; }
};

struct PreparedExchange {
  UpstreamRequest request;
  std::unique_ptr<ResponseTranslator> translator;
};

// Builds the upstream request for `deployment` (OpenAI-compatible, Azure or
// Anthropic) and the translator for its answer. A request the provider
// cannot take gets a 400 naming the field.
Result<PreparedExchange> prepare_exchange(const DeploymentRuntime& deployment,
                                          InboundRequest& request, const std::string& call_id);

// Upstream error body in OpenAI shape (kept when it already is one).
Error upstream_status_error(int status, const std::string& body, const std::string& retry_after);

}  // namespace switchyard
