#include "providers/anthropic/stream_translator.h"

#include <chrono>

#include "providers/anthropic/translate_response.h"

namespace switchyard::anthropic {

namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;
using namespace json_util;

void append_data_event(const object& body, std::string& out) {
  out += "data: ";
  out += boost::json::serialize(body);
  out += "\n\n";
}

std::optional<object> parse_object(std::string_view data) {
  boost::json::error_code ec;
  value v = boost::json::parse(data, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

}  // namespace

// ---------------------------------------------------------------------------
// Anthropic -> OpenAI

AnthropicToOpenAIStream::AnthropicToOpenAIStream(std::string model, std::string id_hint,
                                                 bool include_usage, std::optional<int64_t> created)
    : model_(std::move(model)), id_(std::move(id_hint)), include_usage_(include_usage) {
  created_ = created ? *created
                     : std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
}

void AnthropicToOpenAIStream::feed(std::string_view bytes, std::string& out) {
  parser_.feed(bytes,
               [&](std::string_view name, std::string_view data) { on_event(name, data, out); });
}

void AnthropicToOpenAIStream::finish(std::string& out) {
  parser_.finish([&](std::string_view name, std::string_view data) { on_event(name, data, out); });
}

void AnthropicToOpenAIStream::emit_chunk(object delta, const char* finish_reason,
                                         std::string& out) {
  object choice;
  choice["index"] = 0;
  choice["delta"] = std::move(delta);
  choice["logprobs"] = nullptr;
  if (finish_reason != nullptr) {
    choice["finish_reason"] = finish_reason;
  } else {
    choice["finish_reason"] = nullptr;
  }
  object chunk;
  chunk["id"] = id_;
  chunk["object"] = "chat.completion.chunk";
  chunk["created"] = created_;
  chunk["model"] = model_;
  chunk["choices"] = array{std::move(choice)};
  append_data_event(chunk, out);
}

void AnthropicToOpenAIStream::ensure_started(std::string& out) {
  if (started_) return;
  started_ = true;
  emit_chunk(object{{"role", "assistant"}, {"content", ""}}, nullptr, out);
}

void AnthropicToOpenAIStream::on_event(std::string_view name, std::string_view data,
                                       std::string& out) {
  if (done_ || error_) return;
  auto parsed = parse_object(data);
  if (!parsed) return;  // not JSON: nothing we can translate
  const object& ev = *parsed;
  std::string_view type = find_string(ev, "type").value_or(name);

  if (type == "message_start") {
    if (const auto* message = find_object(ev, "message")) {
      if (auto id = find_string(*message, "id"); id && !id->empty() && !started_) id_ = *id;
      if (const auto* u = find_object(*message, "usage")) usage_.merge_from(*u);
    }
    ensure_started(out);
    return;
  }
  if (type == "content_block_start") {
    ensure_started(out);
    const int64_t index = find_int(ev, "index").value_or(0);
    const object* cb = find_object(ev, "content_block");
    auto cb_type = cb ? find_string(*cb, "type") : std::nullopt;
    Block& block = blocks_[index];
    if (cb_type && *cb_type == "text") {
      block.kind = Block::kText;
      if (auto t = find_string(*cb, "text"); t && !t->empty()) {
        emit_chunk(object{{"content", *t}}, nullptr, out);
      }
    } else if (cb_type && *cb_type == "tool_use") {
      block.kind = Block::kTool;
      block.tool_index = next_tool_index_++;
      if (const auto* input = find(*cb, "input")) block.start_input = *input;
      object fn;
      fn["name"] = find_string(*cb, "name").value_or("");
      fn["arguments"] = "";
      object call;
      call["index"] = block.tool_index;
      call["id"] = find_string(*cb, "id").value_or("");
      call["type"] = "function";
      call["function"] = std::move(fn);
      emit_chunk(object{{"tool_calls", array{std::move(call)}}}, nullptr, out);
    } else if (cb_type && *cb_type == "thinking") {
      block.kind = Block::kThinking;
      if (auto t = find_string(*cb, "thinking"); t && !t->empty()) {
        block.thinking.append(*t);
        emit_chunk(object{{"reasoning_content", *t}}, nullptr, out);
      }
      if (auto s = find_string(*cb, "signature")) block.signature.append(*s);
    } else if (cb_type && *cb_type == "redacted_thinking") {
      block.kind = Block::kIgnored;
      emit_chunk(object{{"thinking_blocks", array{*cb}}}, nullptr, out);
    } else {
      // server_tool_use, web_search_tool_result, ...: run by Anthropic, not
      // by the client, so not tool_calls.
      block.kind = Block::kIgnored;
    }
    return;
  }
  if (type == "content_block_delta") {
    ensure_started(out);
    const int64_t index = find_int(ev, "index").value_or(0);
    const object* delta = find_object(ev, "delta");
    if (delta == nullptr) return;
    std::string_view delta_type = find_string(*delta, "type").value_or("");
    auto it = blocks_.find(index);
    if (it == blocks_.end()) {
      // A delta without its start: only text can be placed sensibly.
      if (delta_type != "text_delta") return;
      it = blocks_.emplace(index, Block{}).first;
      it->second.kind = Block::kText;
    }
    Block& block = it->second;
    if (delta_type == "text_delta" && block.kind == Block::kText) {
      if (auto t = find_string(*delta, "text"); t && !t->empty()) {
        emit_chunk(object{{"content", *t}}, nullptr, out);
      }
    } else if (delta_type == "input_json_delta" && block.kind == Block::kTool) {
      if (auto p = find_string(*delta, "partial_json"); p && !p->empty()) {
        block.args_sent = true;
        object call;
        call["index"] = block.tool_index;
        call["function"] = object{{"arguments", *p}};
        emit_chunk(object{{"tool_calls", array{std::move(call)}}}, nullptr, out);
      }
    } else if (delta_type == "thinking_delta" && block.kind == Block::kThinking) {
      if (auto t = find_string(*delta, "thinking"); t && !t->empty()) {
        block.thinking.append(*t);
        emit_chunk(object{{"reasoning_content", *t}}, nullptr, out);
      }
    } else if (delta_type == "signature_delta" && block.kind == Block::kThinking) {
      if (auto s = find_string(*delta, "signature")) block.signature.append(*s);
    }
    return;
  }
  if (type == "content_block_stop") {
    const int64_t index = find_int(ev, "index").value_or(0);
    auto it = blocks_.find(index);
    if (it == blocks_.end()) return;
    Block& block = it->second;
    if (block.kind == Block::kTool && !block.args_sent) {
      // No input_json_delta: the whole input came with the start (or is empty).
      const value& input = block.start_input.is_object() ? block.start_input : value(object{});
      object call;
      call["index"] = block.tool_index;
      call["function"] = object{{"arguments", boost::json::serialize(input)}};
      emit_chunk(object{{"tool_calls", array{std::move(call)}}}, nullptr, out);
    } else if (block.kind == Block::kThinking) {
      // The signature lets the client send the thinking back in a later turn.
      object tb;
      tb["type"] = "thinking";
      tb["thinking"] = block.thinking;
      tb["signature"] = block.signature;
      emit_chunk(object{{"thinking_blocks", array{std::move(tb)}}}, nullptr, out);
    }
    blocks_.erase(it);
    return;
  }
  if (type == "message_delta") {
    ensure_started(out);
    if (const auto* u = find_object(ev, "usage")) usage_.merge_from(*u);
    if (const auto* delta = find_object(ev, "delta")) {
      if (auto stop = find_string(*delta, "stop_reason")) {
        finish_reason_ = openai_finish_reason(*stop);
        if (!finish_sent_) {
          finish_sent_ = true;
          emit_chunk(object{}, finish_reason_->c_str(), out);
        }
      }
    }
    return;
  }
  if (type == "message_stop") {
    ensure_started(out);
    if (!finish_sent_) {
      finish_sent_ = true;
      if (!finish_reason_) finish_reason_ = "stop";
      emit_chunk(object{}, finish_reason_->c_str(), out);
    }
    if (include_usage_) {
      object chunk;
      chunk["id"] = id_;
      chunk["object"] = "chat.completion.chunk";
      chunk["created"] = created_;
      chunk["model"] = model_;
      chunk["choices"] = array{};
      chunk["usage"] = usage_.to_openai();
      append_data_event(chunk, out);
    }
    out += "data: [DONE]\n\n";
    done_ = true;
    return;
  }
  if (type == "error") {
    error_ = true;
    append_data_event(anthropic_error_to_openai(ev, 0).body, out);
    return;
  }
  // ping and event types added in the future: nothing to send.
}

// ---------------------------------------------------------------------------
// OpenAI -> Anthropic

OpenAIToAnthropicStream::OpenAIToAnthropicStream(std::string model, std::string id_hint)
    : model_(std::move(model)), id_(std::move(id_hint)) {}

void OpenAIToAnthropicStream::feed(std::string_view bytes, std::string& out) {
  parser_.feed(bytes, [&](std::string_view, std::string_view data) { on_data(data, out); });
}

void OpenAIToAnthropicStream::finish(std::string& out) {
  parser_.finish([&](std::string_view, std::string_view data) { on_data(data, out); });
  if (!done_ && !error_ && stop_reason_) complete(out);
}

void OpenAIToAnthropicStream::emit(std::string_view event, const object& body, std::string& out) {
  out += "event: ";
  out += event;
  out += "\ndata: ";
  out += boost::json::serialize(body);
  out += "\n\n";
}

object OpenAIToAnthropicStream::usage_json() const {
  object u;
  const int64_t prompt = usage_.prompt_tokens >= 0 ? usage_.prompt_tokens : 0;
  u["input_tokens"] = prompt - cached_tokens_;
  u["output_tokens"] = usage_.completion_tokens >= 0 ? usage_.completion_tokens : 0;
  u["cache_creation_input_tokens"] = 0;
  u["cache_read_input_tokens"] = cached_tokens_;
  return u;
}

void OpenAIToAnthropicStream::ensure_started(const object* chunk, std::string& out) {
  if (started_) return;
  started_ = true;
  if (chunk != nullptr) {
    if (auto id = find_string(*chunk, "id"); id && !id->empty()) id_ = *id;
  }
  object message;
  message["id"] = id_;
  message["type"] = "message";
  message["role"] = "assistant";
  message["model"] = model_;
  message["content"] = array{};
  message["stop_reason"] = nullptr;
  message["stop_sequence"] = nullptr;
  message["usage"] = usage_json();
  emit("message_start", object{{"type", "message_start"}, {"message", std::move(message)}}, out);
}

void OpenAIToAnthropicStream::close_block(std::string& out) {
  if (open_ == Open::kNone) return;
  emit("content_block_stop", object{{"type", "content_block_stop"}, {"index", open_index_}}, out);
  open_ = Open::kNone;
}

void OpenAIToAnthropicStream::open_block(Open kind, object content_block, std::string& out) {
  close_block(out);
  open_ = kind;
  open_index_ = next_index_++;
  object ev;
  ev["type"] = "content_block_start";
  ev["index"] = open_index_;
  ev["content_block"] = std::move(content_block);
  emit("content_block_start", ev, out);
}

void OpenAIToAnthropicStream::complete(std::string& out) {
  close_block(out);
  object delta;
  delta["stop_reason"] = stop_reason_ ? *stop_reason_ : std::string("end_turn");
  delta["stop_sequence"] = nullptr;
  object ev;
  ev["type"] = "message_delta";
  ev["delta"] = std::move(delta);
  ev["usage"] = usage_json();
  emit("message_delta", ev, out);
  emit("message_stop", object{{"type", "message_stop"}}, out);
  done_ = true;
}

void OpenAIToAnthropicStream::on_data(std::string_view data, std::string& out) {
  if (done_ || error_) return;
  if (data == "[DONE]") {
    ensure_started(nullptr, out);
    complete(out);
    return;
  }
  auto parsed = parse_object(data);
  if (!parsed) return;
  const object& chunk = *parsed;

  if (const auto* err = find_set(chunk, "error")) {
    error_ = true;
    std::string message = "Upstream stream failed";
    std::string type = "api_error";
    if (err->is_object()) {
      if (auto m = find_string(err->get_object(), "message")) message = std::string(*m);
      if (auto t = find_string(err->get_object(), "type"); t && anthropic_error_status(*t) != 0) {
        type = std::string(*t);
      }
    } else if (err->is_string()) {
      message = std::string(err->get_string());
    }
    object inner{{"type", type}, {"message", message}};
    emit("error", object{{"type", "error"}, {"error", std::move(inner)}}, out);
    return;
  }

  if (const auto* u = find_object(chunk, "usage")) {
    if (auto v = find_int(*u, "prompt_tokens")) usage_.prompt_tokens = *v;
    if (auto v = find_int(*u, "completion_tokens")) usage_.completion_tokens = *v;
    if (auto v = find_int(*u, "total_tokens")) usage_.total_tokens = *v;
    if (const auto* d = find_object(*u, "prompt_tokens_details")) {
      if (auto v = find_int(*d, "cached_tokens")) cached_tokens_ = *v;
    }
    if (usage_.total_tokens < 0 && usage_.prompt_tokens >= 0) {
      usage_.total_tokens = usage_.prompt_tokens + std::max<int64_t>(usage_.completion_tokens, 0);
    }
  }
  ensure_started(&chunk, out);

  const array* choices = find_array(chunk, "choices");
  if (choices == nullptr) return;
  for (const auto& choice_value : *choices) {
    if (!choice_value.is_object()) continue;
    const object& choice = choice_value.get_object();
    if (find_int(choice, "index").value_or(0) != 0) continue;  // n = 1
    if (const object* delta = find_object(choice, "delta")) {
      std::optional<std::string_view> reasoning = find_string(*delta, "reasoning_content");
      if (!reasoning) reasoning = find_string(*delta, "reasoning");
      if (reasoning && !reasoning->empty()) {
        if (open_ != Open::kThinking) {
          open_block(Open::kThinking, object{{"type", "thinking"}, {"thinking", ""}}, out);
        }
        object d{{"type", "thinking_delta"}, {"thinking", *reasoning}};
        emit("content_block_delta",
             object{
                 {"type", "content_block_delta"}, {"index", open_index_}, {"delta", std::move(d)}},
             out);
      }
      for (const char* key : {"content", "refusal"}) {
        auto text = find_string(*delta, key);
        if (!text || text->empty()) continue;
        if (open_ != Open::kText) {
          open_block(Open::kText, object{{"type", "text"}, {"text", ""}}, out);
        }
        object d{{"type", "text_delta"}, {"text", *text}};
        emit("content_block_delta",
             object{
                 {"type", "content_block_delta"}, {"index", open_index_}, {"delta", std::move(d)}},
             out);
      }
      if (const auto* calls = find_array(*delta, "tool_calls")) {
        for (size_t pos = 0; pos < calls->size(); ++pos) {
          if (!(*calls)[pos].is_object()) continue;
          const object& call = (*calls)[pos].get_object();
          const int64_t k = find_int(call, "index").value_or(static_cast<int64_t>(pos));
          const object* fn = find_object(call, "function");
          auto it = tool_blocks_.find(k);
          if (it == tool_blocks_.end()) {
            std::string id(find_string(call, "id").value_or(""));
            if (id.empty()) id = "toolu_" + id_ + "_" + std::to_string(k);
            object block;
            block["type"] = "tool_use";
            block["id"] = id;
            block["name"] = fn ? find_string(*fn, "name").value_or("") : std::string_view();
            block["input"] = object{};
            open_block(Open::kTool, std::move(block), out);
            it = tool_blocks_.emplace(k, open_index_).first;
          }
          auto args = fn ? find_string(*fn, "arguments") : std::nullopt;
          if (args && !args->empty()) {
            object d{{"type", "input_json_delta"}, {"partial_json", *args}};
            emit("content_block_delta",
                 object{{"type", "content_block_delta"},
                        {"index", it->second},
                        {"delta", std::move(d)}},
                 out);
          }
        }
      }
    }
    if (auto finish = find_string(choice, "finish_reason")) {
      stop_reason_ = anthropic_stop_reason(*finish);
    }
  }
}

}  // namespace switchyard::anthropic
