#pragma once
// Answers in the client's dialect. The pipeline speaks OpenAI; a client that
// called POST /v1/messages (Anthropic format) gets every answer, stream and
// error converted back to the Anthropic format here. One per request.
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"
#include "providers/anthropic/stream_translator.h"

namespace switchyard {

class AnthropicClientEncoder {
 public:
  AnthropicClientEncoder(std::string model, std::string id)
      : model_(model), id_(id), stream_(std::move(model), std::move(id)) {}

  // OpenAI chat.completion JSON -> Anthropic message JSON.
  Result<std::string> body(std::string_view openai_json) const;
  // OpenAI SSE bytes -> Anthropic SSE bytes.
  void stream(std::string_view openai_sse, std::string& out) { stream_.feed(openai_sse, out); }
  void stream_end(std::string& out) { stream_.finish(out); }
  // Status and Anthropic-shaped body for a gateway or upstream error.
  std::pair<int, std::string> error(const Error& error) const;

 private:
  std::string model_;
  std::string id_;
  anthropic::OpenAIToAnthropicStream stream_;
};

}  // namespace switchyard
