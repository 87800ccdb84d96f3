#include "providers/anthropic/translate_response.h"

#include <chrono>

#include "providers/anthropic/common.h"

namespace switchyard::anthropic {

namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;
using namespace json_util;

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

boost::json::object anthropic_to_openai_response(const boost::json::object& anthropic,
                                                 const std::string& model_group_or_model,
                                                 const std::string& id_hint,
                                                 std::optional<int64_t> created) {
  std::string text;
  bool has_text = false;
  std::string reasoning;
  bool has_reasoning = false;
  array thinking_blocks;
  array tool_calls;

  if (const auto* content = find_array(anthropic, "content")) {
    for (const auto& block_value : *content) {
      if (!block_value.is_object()) continue;
      const object& block = block_value.get_object();
      auto type = find_string(block, "type");
      if (!type) continue;
      if (*type == "text") {
        if (auto t = find_string(block, "text")) text += *t;
        has_text = true;
      } else if (*type == "tool_use") {
        object fn;
        fn["name"] = find_string(block, "name").value_or("");
        const value* input = find(block, "input");
        fn["arguments"] = input ? boost::json::serialize(*input) : std::string("{}");
        object call;
        call["id"] = find_string(block, "id").value_or("");
        call["type"] = "function";
        call["function"] = std::move(fn);
        tool_calls.push_back(std::move(call));
      } else if (*type == "thinking") {
        if (auto t = find_string(block, "thinking")) reasoning += *t;
        has_reasoning = true;
        thinking_blocks.push_back(block);
      } else if (*type == "redacted_thinking") {
        thinking_blocks.push_back(block);
      }
      // server_tool_use / *_tool_result blocks: Anthropic ran those tools
      // itself; their outcome is in the text that follows.
    }
  }

  object message;
  message["role"] = "assistant";
  if (has_text) {
    message["content"] = text;
  } else {
    message["content"] = nullptr;
  }
  if (!tool_calls.empty()) message["tool_calls"] = std::move(tool_calls);
  if (has_reasoning) message["reasoning_content"] = reasoning;
  if (!thinking_blocks.empty()) message["thinking_blocks"] = std::move(thinking_blocks);

  object choice;
  choice["index"] = 0;
  choice["message"] = std::move(message);
  choice["logprobs"] = nullptr;
  auto stop = find_string(anthropic, "stop_reason");
  choice["finish_reason"] = stop ? openai_finish_reason(*stop) : "stop";

  object out;
  auto id = find_string(anthropic, "id");
  out["id"] = (id && !id->empty()) ? std::string(*id) : id_hint;
  out["object"] = "chat.completion";
  out["created"] = created.value_or(now_seconds());
  out["model"] = model_group_or_model;
  out["choices"] = array{std::move(choice)};
  AnthropicUsage usage;
  if (const auto* u = find_object(anthropic, "usage")) usage.merge_from(*u);
  out["usage"] = usage.to_openai();
  return out;
}

TranslatedError anthropic_error_to_openai(const boost::json::object& body, int upstream_status) {
  std::string type;
  std::string message;
  if (const auto* err = find_object(body, "error")) {
    type = std::string(find_string(*err, "type").value_or(""));
    message = std::string(find_string(*err, "message").value_or(""));
  }
  TranslatedError out;
  if (upstream_status >= 400 && upstream_status <= 599) {
    out.status = upstream_status;
  } else if (int s = anthropic_error_status(type); s != 0) {
    out.status = s;
  } else {
    out.status = 502;
  }
  if (type.empty()) type = anthropic_error_type_for_status(out.status);
  if (message.empty()) {
    message = upstream_status > 0 ? "Anthropic returned HTTP " + std::to_string(upstream_status)
                                  : "Anthropic returned an error";
  }
  value code = nullptr;
  if (type == "invalid_request_error" &&
      (contains(message, "prompt is too long") || contains(message, "context window") ||
       contains(message, "exceed context limit"))) {
    code = "context_length_exceeded";
  }
  object inner;
  inner["message"] = message;
  inner["type"] = type;
  inner["param"] = nullptr;
  inner["code"] = std::move(code);
  out.body["error"] = std::move(inner);
  return out;
}

TranslatedError anthropic_error_to_openai(std::string_view raw_body, int upstream_status) {
  boost::json::error_code ec;
  value parsed = boost::json::parse(raw_body, ec);
  if (!ec && parsed.is_object())
    return anthropic_error_to_openai(parsed.get_object(), upstream_status);
  return anthropic_error_to_openai(object{}, upstream_status);
}

Result<boost::json::object> openai_to_anthropic_response(const boost::json::object& openai,
                                                         const std::string& model,
                                                         const std::string& id_hint) {
  const array* choices = find_array(openai, "choices");
  if (choices == nullptr || choices->empty() || !choices->front().is_object()) {
    return Error::make(ErrorKind::kUpstreamInvalid, "Upstream reply has no choices",
                       "upstream_invalid");
  }
  const object& choice = choices->front().get_object();
  const object* message = find_object(choice, "message");
  array content;
  if (message != nullptr) {
    std::optional<std::string_view> reasoning = find_string(*message, "reasoning_content");
    if (!reasoning) reasoning = find_string(*message, "reasoning");  // vLLM / OpenRouter name
    if (reasoning && !reasoning->empty()) {
      // No signature exists for another provider's reasoning; Anthropic
      // clients show the text and send the block back, where it is dropped.
      content.push_back(object{{"type", "thinking"}, {"thinking", *reasoning}, {"signature", ""}});
    }
    const value* c = find(*message, "content");
    if (c != nullptr && c->is_string() && !c->get_string().empty()) {
      content.push_back(object{{"type", "text"}, {"text", c->get_string()}});
    } else if (c != nullptr && c->is_array()) {
      for (const auto& part : c->get_array()) {
        if (!part.is_object()) continue;
        auto t = find_string(part.get_object(), "text");
        if (t && !t->empty()) content.push_back(object{{"type", "text"}, {"text", *t}});
      }
    }
    if (auto refusal = find_string(*message, "refusal"); refusal && !refusal->empty()) {
      content.push_back(object{{"type", "text"}, {"text", *refusal}});
    }
    if (const auto* calls = find_array(*message, "tool_calls")) {
      for (const auto& call_value : *calls) {
        if (!call_value.is_object()) continue;
        const object& call = call_value.get_object();
        const object* fn = find_object(call, "function");
        if (fn == nullptr) continue;
        value input = object{};
        if (auto args = find_string(*fn, "arguments");
            args && args->find_first_not_of(" \t\r\n") != std::string_view::npos) {
          boost::json::error_code ec;
          input = boost::json::parse(*args, ec);
          if (ec || !input.is_object()) {
            return Error::make(ErrorKind::kUpstreamInvalid,
                               "Upstream returned tool call arguments that are not a JSON object",
                               "upstream_invalid");
          }
        }
        object block;
        block["type"] = "tool_use";
        block["id"] = find_string(call, "id").value_or("");
        block["name"] = find_string(*fn, "name").value_or("");
        block["input"] = std::move(input);
        content.push_back(std::move(block));
      }
    }
  }

  object out;
  auto id = find_string(openai, "id");
  out["id"] = (id && !id->empty()) ? std::string(*id) : id_hint;
  out["type"] = "message";
  out["role"] = "assistant";
  out["model"] = model;
  out["content"] = std::move(content);
  auto finish = find_string(choice, "finish_reason");
  out["stop_reason"] = finish ? anthropic_stop_reason(*finish) : "end_turn";
  out["stop_sequence"] = nullptr;

  int64_t prompt = 0;
  int64_t completion = 0;
  int64_t cached = 0;
  if (const auto* u = find_object(openai, "usage")) {
    prompt = find_int(*u, "prompt_tokens").value_or(0);
    completion = find_int(*u, "completion_tokens").value_or(0);
    if (const auto* d = find_object(*u, "prompt_tokens_details")) {
      cached = find_int(*d, "cached_tokens").value_or(0);
    }
  }
  object usage;
  usage["input_tokens"] = prompt - cached;  // Anthropic counts cache reads separately
  usage["output_tokens"] = completion;
  usage["cache_creation_input_tokens"] = 0;
  usage["cache_read_input_tokens"] = cached;
  out["usage"] = std::move(usage);
  return out;
}

TranslatedError openai_error_to_anthropic(const boost::json::object& openai_body, int status) {
  std::string message;
  if (const auto* err = find_object(openai_body, "error")) {
    message = std::string(find_string(*err, "message").value_or(""));
  } else if (auto s = find_string(openai_body, "error")) {
    message = std::string(*s);
  } else if (auto m = find_string(openai_body, "message")) {
    message = std::string(*m);
  }
  TranslatedError out;
  out.status = (status >= 400 && status <= 599) ? status : 502;
  if (message.empty()) message = "Upstream returned HTTP " + std::to_string(out.status);
  object inner;
  inner["type"] = anthropic_error_type_for_status(out.status);
  inner["message"] = message;
  out.body["type"] = "error";
  out.body["error"] = std::move(inner);
  return out;
}

TranslatedError anthropic_error_from(const Error& error) {
  if (error.kind == ErrorKind::kUpstreamStatus && !error.upstream_body_error.empty()) {
    boost::json::error_code ec;
    value parsed = boost::json::parse(error.upstream_body_error, ec);
    if (!ec && parsed.is_object())
      return openai_error_to_anthropic(parsed.get_object(), http_status(error));
  }
  TranslatedError out;
  out.status = http_status(error);
  object inner;
  inner["type"] = anthropic_error_type_for_status(out.status);
  inner["message"] = error.message;
  out.body["type"] = "error";
  out.body["error"] = std::move(inner);
  return out;
}

}  // namespace switchyard::anthropic
