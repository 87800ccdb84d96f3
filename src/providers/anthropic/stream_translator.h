#pragma once
// Streaming translation between Anthropic Messages SSE and OpenAI
// chat.completion.chunk SSE, both ways. Each translator is owned by the one
// request whose upstream stream it reads, touched only by that request's
// thread, and lives as long as that stream. Bytes may arrive split at any
// offset (inside a line, inside a UTF-8 sequence, between \r and \n); the
// output does not depend on where the splits fall.
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/inbound.h"
#include "providers/anthropic/common.h"

namespace switchyard::anthropic {

// Incremental Server-Sent Events parser (WHATWG rules: LF, CRLF or CR line
// ends; "data" lines joined with \n; comments and unknown fields ignored).
class SseEventParser {
 public:
  // Calls on_event(std::string_view event_name, std::string_view data) for each
  // complete event in the bytes seen so far.
  template <typename F>
  void feed(std::string_view bytes, F&& on_event);
  // At end of stream: dispatches an event that lacked its final blank line.
  template <typename F>
  void finish(F&& on_event);

 private:
  template <typename F>
  void on_line(std::string_view line, F& on_event);
  template <typename F>
  void dispatch(F& on_event);

  std::string line_;   // incomplete line carried over between feeds
  std::string event_;  // "event:" field of the event being built
  std::string data_;   // joined "data:" fields
  bool has_data_ = false;
  bool skip_lf_ = false;  // last byte was \r: a following \n ends nothing
};

// Anthropic /v1/messages stream -> OpenAI chat.completion.chunk stream.
//   message_start        -> chunk with delta {"role":"assistant","content":""}
//   text deltas          -> delta.content
//   tool_use block       -> delta.tool_calls[{index,id,type,function{name,arguments:""}}],
//                           then input_json_delta -> function.arguments pieces
//   thinking deltas      -> delta.reasoning_content; at the block's end one
//                           delta.thinking_blocks[{type,thinking,signature}]
//   message_delta        -> chunk with delta {} and finish_reason
//   message_stop         -> usage chunk (choices: [], only with include_usage), data: [DONE]
//   error event          -> data: {"error":{...}} and the stream ends (no [DONE])
//   ping, server tool blocks, unknown events -> nothing
class AnthropicToOpenAIStream {
 public:
  AnthropicToOpenAIStream(std::string model, std::string id_hint, bool include_usage,
                          std::optional<int64_t> created = std::nullopt);

  // Appends the OpenAI SSE text for `bytes` to `out` (possibly nothing).
  void feed(std::string_view bytes, std::string& out);
  std::string feed(std::string_view bytes) {
    std::string out;
    feed(bytes, out);
    return out;
  }
  // Upstream EOF: handles a final event that lacked its blank line. A stream
  // that never reached message_stop stays !ended_cleanly(); the caller tells
  // the client (e.g. an in-band error event).
  void finish(std::string& out);

  bool ended_cleanly() const { return done_; }  // saw message_stop and sent [DONE]
  bool saw_error() const { return error_; }     // an Anthropic error event arrived
  const std::optional<std::string>& finish_reason() const { return finish_reason_; }
  TokenUsage usage() const { return usage_.to_token_usage(); }
  const AnthropicUsage& anthropic_usage() const { return usage_; }
  const std::string& id() const { return id_; }

 private:
  struct Block {
    enum Kind { kText, kTool, kThinking, kIgnored } kind = kIgnored;
    int tool_index = -1;
    bool args_sent = false;
    boost::json::value start_input;  // tool_use input at content_block_start
    std::string thinking;
    std::string signature;
  };
  void on_event(std::string_view name, std::string_view data, std::string& out);
  void emit_chunk(boost::json::object delta, const char* finish_reason, std::string& out);
  void ensure_started(std::string& out);

  std::string model_;
  std::string id_;
  bool include_usage_;
  int64_t created_;
  SseEventParser parser_;
  std::map<int64_t, Block> blocks_;  // by Anthropic content block index
  int next_tool_index_ = 0;
  AnthropicUsage usage_;
  std::optional<std::string> finish_reason_;
  bool started_ = false;
  bool finish_sent_ = false;
  bool done_ = false;
  bool error_ = false;
};

// OpenAI chat.completion.chunk stream -> Anthropic /v1/messages stream
// (inbound /v1/messages routed to an OpenAI-compatible deployment).
//   first chunk           -> message_start
//   delta.reasoning_content / reasoning -> thinking block (thinking_delta)
//   delta.content         -> text block (text_delta)
//   delta.tool_calls[k]   -> tool_use block per k (input_json_delta)
//   a new kind of block closes the previous one (content_block_stop)
//   data: [DONE]          -> content_block_stop, message_delta (stop_reason +
//                            usage), message_stop
//   data: {"error":...}   -> event: error, and the stream ends
class OpenAIToAnthropicStream {
 public:
  OpenAIToAnthropicStream(std::string model, std::string id_hint);

  void feed(std::string_view bytes, std::string& out);
  std::string feed(std::string_view bytes) {
    std::string out;
    feed(bytes, out);
    return out;
  }
  // Upstream EOF. Some OpenAI-compatible servers end without [DONE]: when a
  // finish_reason was seen the message is completed here and counts as clean.
  void finish(std::string& out);

  bool ended_cleanly() const { return done_; }
  bool saw_error() const { return error_; }
  TokenUsage usage() const { return usage_; }
  const std::optional<std::string>& stop_reason() const { return stop_reason_; }

 private:
  enum class Open { kNone, kText, kThinking, kTool };
  void on_data(std::string_view data, std::string& out);
  void emit(std::string_view event, const boost::json::object& body, std::string& out);
  void ensure_started(const boost::json::object* chunk, std::string& out);
  void close_block(std::string& out);
  void open_block(Open kind, boost::json::object content_block, std::string& out);
  void complete(std::string& out);
  boost::json::object usage_json() const;

  std::string model_;
  std::string id_;
  SseEventParser parser_;
  Open open_ = Open::kNone;
  int64_t open_index_ = -1;
  int64_t next_index_ = 0;
  std::map<int64_t, int64_t> tool_blocks_;  // OpenAI tool_calls index -> block index
  TokenUsage usage_;
  int64_t cached_tokens_ = 0;
  std::optional<std::string> stop_reason_;
  bool started_ = false;
  bool done_ = false;
  bool error_ = false;
};

// ---------------------------------------------------------------------------
// SseEventParser implementation (templates).

template <typename F>
void SseEventParser::feed(std::string_view bytes, F&& on_event) {
  size_t pos = 0;
  if (skip_lf_ && !bytes.empty()) {
    skip_lf_ = false;
    if (bytes.front() == '\n') pos = 1;
  }
  while (pos < bytes.size()) {
    size_t end = bytes.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(pos));
      return;
    }
    std::string_view piece = bytes.substr(pos, end - pos);
    if (line_.empty()) {
      on_line(piece, on_event);
    } else {
      line_.append(piece);
      std::string line = std::move(line_);
      line_.clear();
      on_line(line, on_event);
    }
    pos = end + 1;
    if (bytes[end] == '\r') {
      if (pos < bytes.size()) {
        if (bytes[pos] == '\n') ++pos;
      } else {
        skip_lf_ = true;
      }
    }
  }
}

template <typename F>
void SseEventParser::finish(F&& on_event) {
  if (!line_.empty()) {
    std::string line = std::move(line_);
    line_.clear();
    on_line(line, on_event);
  }
  dispatch(on_event);
}

template <typename F>
void SseEventParser::on_line(std::string_view line, F& on_event) {
  if (line.empty()) {
    dispatch(on_event);
    return;
  }
  if (line.front() == ':') return;  // comment
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view val;
  if (colon != std::string_view::npos) {
    val = line.substr(colon + 1);
    if (!val.empty() && val.front() == ' ') val.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_ += '\n';
    data_.append(val);
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(val);
  }
}

template <typename F>
void SseEventParser::dispatch(F& on_event) {
  if (has_data_) on_event(std::string_view(event_), std::string_view(data_));
  event_.clear();
  data_.clear();
  has_data_ = false;
}

}  // namespace switchyard::anthropic
