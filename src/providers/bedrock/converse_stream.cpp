#include "providers/bedrock/converse_stream.h"

#include <ctime>
#include <utility>

namespace switchyard::bedrock {

namespace json = boost::json;
using namespace json_util;

namespace {

TranslatedError gateway_stream_error(const std::string& message, const char* code) {
  TranslatedError t;
  t.status = 502;
  json::object inner;
  inner["message"] = message;
  inner["type"] = "upstream_error";
  inner["param"] = nullptr;
  inner["code"] = code;
  t.body["error"] = std::move(inner);
  return t;
}

std::optional<int64_t> block_index(const json::object& payload) {
  return find_int(payload, "contentBlockIndex");
}

}  // namespace

ConverseStreamTranslator::ConverseStreamTranslator(std::string model, std::string id,
                                                   bool include_usage,
                                                   std::optional<int64_t> created)
    : model_(std::move(model)),
      id_(std::move(id)),
      include_usage_(include_usage),
      created_(created ? *created : static_cast<int64_t>(std::time(nullptr))) {}

json::object ConverseStreamTranslator::envelope() const {
  json::object chunk;
  chunk["id"] = id_;
  chunk["object"] = "chat.completion.chunk";
  chunk["created"] = created_;
  chunk["model"] = model_;
  return chunk;
}

void ConverseStreamTranslator::emit(const json::object& chunk, std::string& out) {
  out += "data: ";
  out += json::serialize(chunk);
  out += "\n\n";
  started_ = true;
}

void ConverseStreamTranslator::emit_delta(json::object delta, std::string& out,
                                          const char* finish) {
  json::object choice;
  choice["index"] = 0;
  choice["delta"] = std::move(delta);
  choice["logprobs"] = nullptr;
  if (finish != nullptr) {
    choice["finish_reason"] = finish;
  } else {
    choice["finish_reason"] = nullptr;
  }
  json::object chunk = envelope();
  json::array choices;
  choices.push_back(std::move(choice));
  chunk["choices"] = std::move(choices);
  emit(chunk, out);
}

void ConverseStreamTranslator::ensure_role(std::string& out) {
  if (role_sent_) return;
  role_sent_ = true;
  json::object delta;
  delta["role"] = "assistant";
  delta["content"] = "";
  emit_delta(std::move(delta), out);
}

int ConverseStreamTranslator::tool_index_for(int64_t block) {
  auto it = tool_index_.find(block);
  if (it != tool_index_.end()) return it->second;
  const int index = static_cast<int>(tool_index_.size());
  tool_index_.emplace(block, index);
  return index;
}

void ConverseStreamTranslator::write_done(std::string& out) {
  if (include_usage_ && usage_.seen) {
    json::object chunk = envelope();
    chunk["choices"] = json::array();
    chunk["usage"] = usage_.to_openai();
    emit(chunk, out);
  }
  out += "data: [DONE]\n\n";
  done_ = true;
}

void ConverseStreamTranslator::maybe_done(std::string& out) {
  if (stop_seen_ && metadata_seen_ && !done_) write_done(out);
}

void ConverseStreamTranslator::fail(TranslatedError error, std::string& out) {
  out += "data: ";
  out += json::serialize(error.body);
  out += "\n\n";
  error_ = std::move(error);
}

void ConverseStreamTranslator::feed(std::string_view bytes, std::string& out) {
  if (done_ || error_) return;
  const bool ok = decoder_.feed(bytes, [&](EventStreamMessage&& m) { on_message(m, out); });
  if (!ok && !done_ && !error_) {
    fail(gateway_stream_error("Bedrock event stream is corrupt: " + decoder_.error(),
                              "invalid_event_stream"),
         out);
  }
}

void ConverseStreamTranslator::on_message(const EventStreamMessage& message, std::string& out) {
  if (done_ || error_) return;
  const std::string_view type = message.header_string(":message-type");
  if (type == "event") {
    const std::string_view event = message.header_string(":event-type");
    json::object payload;
    if (!message.payload.empty()) {
      json::error_code ec;
      json::value v = json::parse(message.payload, ec);
      if (ec || !v.is_object()) {
        fail(gateway_stream_error("Bedrock sent a " + std::string(event) +
                                      " event whose payload is not a JSON object",
                                  "invalid_event_stream"),
             out);
        return;
      }
      payload = std::move(v.get_object());
    }
    on_event(event, payload, out);
  } else if (type == "exception") {
    std::string text;
    json::error_code ec;
    json::value v = json::parse(message.payload, ec);
    if (!ec && v.is_object()) {
      text = find_string(v.get_object(), "message")
                 .value_or(find_string(v.get_object(), "Message").value_or(""));
    } else {
      text = message.payload.substr(0, 512);
    }
    fail(bedrock_exception_to_openai(message.header_string(":exception-type"), text), out);
  } else if (type == "error") {
    fail(bedrock_exception_to_openai(message.header_string(":error-code"),
                                     message.header_string(":error-message")),
         out);
  }
  // Other message types carry nothing for the client.
}

void ConverseStreamTranslator::on_event(std::string_view event, const json::object& payload,
                                        std::string& out) {
  if (event == "messageStart") {
    ensure_role(out);
  } else if (event == "contentBlockStart") {
    const auto index = block_index(payload);
    const json::object* start = find_object(payload, "start");
    const json::object* tu = start ? find_object(*start, "toolUse") : nullptr;
    if (!index || tu == nullptr) return;
    if (auto t = find_string(*tu, "type"); t && *t == "server_tool_use") return;
    ensure_role(out);
    json::object fn;
    fn["name"] = find_string(*tu, "name").value_or("");
    fn["arguments"] = "";
    json::object call;
    call["index"] = tool_index_for(*index);
    call["id"] = find_string(*tu, "toolUseId").value_or("");
    call["type"] = "function";
    call["function"] = std::move(fn);
    json::array calls;
    calls.push_back(std::move(call));
    json::object delta;
    delta["tool_calls"] = std::move(calls);
    emit_delta(std::move(delta), out);
  } else if (event == "contentBlockDelta") {
    const auto index = block_index(payload);
    const json::object* d = find_object(payload, "delta");
    if (!index || d == nullptr) return;
    if (auto text = find_string(*d, "text")) {
      if (text->empty()) return;
      ensure_role(out);
      json::object delta;
      delta["content"] = *text;
      emit_delta(std::move(delta), out);
    } else if (const json::object* tu = find_object(*d, "toolUse")) {
      auto input = find_string(*tu, "input");
      if (!input || input->empty()) return;
      ensure_role(out);
      json::object fn;
      fn["arguments"] = *input;
      json::object call;
      call["index"] = tool_index_for(*index);
      call["function"] = std::move(fn);
      json::array calls;
      calls.push_back(std::move(call));
      json::object delta;
      delta["tool_calls"] = std::move(calls);
      emit_delta(std::move(delta), out);
    } else if (const json::object* rc = find_object(*d, "reasoningContent")) {
      ReasoningBlock& block = reasoning_[*index];
      if (auto sig = find_string(*rc, "signature")) block.signature.append(*sig);
      if (auto red = find_string(*rc, "redactedContent")) block.redacted.append(*red);
      if (auto text = find_string(*rc, "text"); text && !text->empty()) {
        block.text.append(*text);
        ensure_role(out);
        json::object delta;
        delta["reasoning_content"] = *text;
        emit_delta(std::move(delta), out);
      }
    }
    // citation, image and toolResult deltas have no chat.completion.chunk form.
  } else if (event == "contentBlockStop") {
    const auto index = block_index(payload);
    if (!index) return;
    auto it = reasoning_.find(*index);
    if (it == reasoning_.end()) return;
    ReasoningBlock block = std::move(it->second);
    reasoning_.erase(it);
    json::object tb;
    if (!block.redacted.empty()) {
      tb["type"] = "redacted_thinking";
      tb["data"] = block.redacted;
    } else if (!block.signature.empty()) {
      tb["type"] = "thinking";
      tb["thinking"] = block.text;
      tb["signature"] = block.signature;
    } else {
      return;  // unsigned reasoning cannot be sent back; reasoning_content carried it
    }
    ensure_role(out);
    json::array blocks;
    blocks.push_back(std::move(tb));
    json::object delta;
    delta["thinking_blocks"] = std::move(blocks);
    emit_delta(std::move(delta), out);
  } else if (event == "messageStop") {
    if (stop_seen_) return;
    stop_seen_ = true;
    finish_reason_ = openai_finish_reason(find_string(payload, "stopReason").value_or("end_turn"));
    ensure_role(out);
    emit_delta(json::object(), out, finish_reason_.c_str());
    maybe_done(out);
  } else if (event == "metadata") {
    if (const json::object* u = find_object(payload, "usage")) usage_.merge_from(*u);
    metadata_seen_ = true;
    maybe_done(out);
  }
  // Unknown event types are skipped: newer Bedrock versions may add some.
}

void ConverseStreamTranslator::finish(std::string& out) {
  if (finished_) return;
  finished_ = true;
  if (done_ || error_) return;
  if (stop_seen_) {
    write_done(out);
    return;
  }
  std::string why = "Bedrock stream ended before messageStop";
  if (decoder_.mid_message()) why += " (the last event stream frame was truncated)";
  fail(gateway_stream_error(why, "upstream_stream_truncated"), out);
}

}  // namespace switchyard::bedrock
