#pragma once
// Bedrock ConverseStream (AWS event stream frames) -> OpenAI
// chat.completion.chunk Server-Sent Events.
//
//   messageStart                      -> chunk delta {"role":"assistant","content":""}
//   contentBlockDelta text            -> delta.content
//   contentBlockStart toolUse         ->
//   delta.tool_calls[{index,id,type,function{name,arguments:""}}] contentBlockDelta toolUse.input
//   -> delta.tool_calls[{index,function{arguments:piece}}] contentBlockDelta reasoningContent->
//   delta.reasoning_content; at the block's stop one
//                                        delta.thinking_blocks entry (text + signature, or
//                                        redacted data) so the client can send it back
//   messageStop                       -> chunk delta {} with finish_reason
//   metadata                          -> usage; a usage chunk (choices: []) only when the
//                                        client asked for stream_options.include_usage
//   after messageStop and metadata    -> data: [DONE]
//   exception / error message         -> data: {"error":{...}} and the stream ends (no [DONE])
//   anything else (citations, images, unknown events) -> nothing
//
// Owned by the one request whose upstream body it reads, touched only by that
// request's thread, lives as long as that stream. The output does not depend
// on how the upstream bytes were split.
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/inbound.h"
#include "providers/bedrock/common.h"
#include "providers/bedrock/converse_response.h"
#include "providers/bedrock/event_stream.h"

namespace switchyard::bedrock {

class ConverseStreamTranslator {
 public:
  // `id` is the gateway's chunk id ("chatcmpl-..."), `model` what the client
  // asked for; `created` defaults to the current time.
  ConverseStreamTranslator(std::string model, std::string id, bool include_usage,
                           std::optional<int64_t> created = std::nullopt);

  // Raw upstream body bytes (any split). Appends SSE text for the client to
  // `out`. A corrupt frame ends the stream with an error chunk.
  void feed(std::string_view bytes, std::string& out);
  // One decoded message (for callers that run their own decoder).
  void on_message(const EventStreamMessage& message, std::string& out);
  // The upstream body ended. Completes a stream that got messageStop but no
  // metadata (usage chunk if known, [DONE]); otherwise ends it with an error
  // chunk (truncated or cut-off stream). Idempotent.
  void finish(std::string& out);

  // Saw messageStop and wrote [DONE].
  bool ended_cleanly() const { return done_; }
  // Wrote an error chunk (exception from Bedrock, corrupt frame, early end).
  bool saw_error() const { return error_.has_value(); }
  // The error written, with the HTTP status it maps to (e.g. 429 for a
  // throttlingException), so a caller that has sent nothing yet could answer
  // with a plain HTTP error instead.
  const std::optional<TranslatedError>& error() const { return error_; }
  // True once a chunk other than an error was produced. When saw_error()
  // and !started(), nothing useful reached the client yet: the caller may
  // answer with error()->status (and retry or fall back) instead of the SSE.
  bool started() const { return started_; }
  const std::string& finish_reason() const { return finish_reason_; }
  const ConverseUsage& usage() const { return usage_; }
  TokenUsage token_usage() const { return usage_.to_token_usage(); }

 private:
  struct ReasoningBlock {
    std::string text;
    std::string signature;
    std::string redacted;
  };

  boost::json::object envelope() const;
  void emit_delta(boost::json::object delta, std::string& out, const char* finish = nullptr);
  void emit(const boost::json::object& chunk, std::string& out);
  void ensure_role(std::string& out);
  void maybe_done(std::string& out);
  void write_done(std::string& out);
  void fail(TranslatedError error, std::string& out);
  void on_event(std::string_view type, const boost::json::object& payload, std::string& out);
  int tool_index_for(int64_t block);

  std::string model_;
  std::string id_;
  bool include_usage_;
  int64_t created_;

  EventStreamDecoder decoder_;
  bool started_ = false;
  bool role_sent_ = false;
  bool stop_seen_ = false;
  bool metadata_seen_ = false;
  bool done_ = false;
  bool finished_ = false;
  std::optional<TranslatedError> error_;
  std::string finish_reason_;
  ConverseUsage usage_;
  std::map<int64_t, int> tool_index_;            // contentBlockIndex -> OpenAI tool_calls index
  std::map<int64_t, ReasoningBlock> reasoning_;  // open reasoning blocks
};

}  // namespace switchyard::bedrock
