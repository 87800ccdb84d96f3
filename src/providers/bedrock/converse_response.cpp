#include "providers/bedrock/converse_response.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "providers/bedrock/common.h"

namespace switchyard::bedrock {

namespace json = boost::json;
using namespace json_util;

boost::json::object converse_to_openai_response(const json::object& converse,
                                                const std::string& model, const std::string& id,
                                                std::optional<int64_t> created) {
  std::string text;
  bool has_text = false;
  std::string reasoning;
  bool has_reasoning = false;
  json::array tool_calls;
  json::array thinking_blocks;

  const json::object* output = find_object(converse, "output");
  const json::object* message = output ? find_object(*output, "message") : nullptr;
  const json::array* content = message ? find_array(*message, "content") : nullptr;
  if (content != nullptr) {
    for (const auto& bv : *content) {
      if (!bv.is_object()) continue;
      const auto& block = bv.get_object();
      if (auto t = find_string(block, "text")) {
        text.append(*t);
        has_text = true;
      } else if (const json::object* tu = find_object(block, "toolUse")) {
        // Server tools (type server_tool_use) ran inside Bedrock; the text
        // that follows carries their outcome.
        if (auto type = find_string(*tu, "type"); type && *type == "server_tool_use") continue;
        json::object fn;
        fn["name"] = find_string(*tu, "name").value_or("");
        const json::value* input = find_set(*tu, "input");
        fn["arguments"] = input ? json::serialize(*input) : std::string("{}");
        json::object call;
        call["id"] = find_string(*tu, "toolUseId").value_or("");
        call["type"] = "function";
        call["function"] = std::move(fn);
        tool_calls.push_back(std::move(call));
      } else if (const json::object* rc = find_object(block, "reasoningContent")) {
        if (const json::object* rt = find_object(*rc, "reasoningText")) {
          std::string_view rtext = find_string(*rt, "text").value_or("");
          reasoning.append(rtext);
          has_reasoning = true;
          json::object tb;
          tb["type"] = "thinking";
          tb["thinking"] = rtext;
          tb["signature"] = find_string(*rt, "signature").value_or("");
          thinking_blocks.push_back(std::move(tb));
        } else if (auto redacted = find_string(*rc, "redactedContent")) {
          json::object tb;
          tb["type"] = "redacted_thinking";
          tb["data"] = *redacted;
          thinking_blocks.push_back(std::move(tb));
        }
      } else if (const json::object* cc = find_object(block, "citationsContent")) {
        // Text generated with document citations: the words are the answer,
        // the citation locations are dropped.
        if (const json::array* parts = find_array(*cc, "content")) {
          for (const auto& p : *parts) {
            if (!p.is_object()) continue;
            if (auto t = find_string(p.get_object(), "text")) {
              text.append(*t);
              has_text = true;
            }
          }
        }
      }
      // image, document, toolResult (server tool results), cachePoint and
      // guardContent blocks have no OpenAI equivalent in a reply.
    }
  }

  json::object msg;
  msg["role"] = "assistant";
  if (has_text || tool_calls.empty()) {
    msg["content"] = text;
  } else {
    msg["content"] = nullptr;
  }
  if (!tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);
  if (has_reasoning) msg["reasoning_content"] = reasoning;
  if (!thinking_blocks.empty()) msg["thinking_blocks"] = std::move(thinking_blocks);

  json::object choice;
  choice["index"] = 0;
  choice["message"] = std::move(msg);
  choice["logprobs"] = nullptr;
  choice["finish_reason"] =
      openai_finish_reason(find_string(converse, "stopReason").value_or("end_turn"));

  ConverseUsage usage;
  if (const json::object* u = find_object(converse, "usage")) usage.merge_from(*u);

  json::object out;
  out["id"] = id;
  out["object"] = "chat.completion";
  out["created"] = created ? *created : static_cast<int64_t>(std::time(nullptr));
  out["model"] = model;
  json::array choices;
  choices.push_back(std::move(choice));
  out["choices"] = std::move(choices);
  out["usage"] = usage.to_openai();
  return out;
}

namespace {

bool contains_ci(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) ==
                                 std::tolower(static_cast<unsigned char>(b));
                        });
  return it != haystack.end();
}

bool is_context_overflow(std::string_view error_type, std::string_view message) {
  if (error_type != "ValidationException") return false;
  for (std::string_view needle :
       {"input is too long", "prompt is too long", "too many input tokens", "context window",
        "context length", "maximum context", "too many tokens"}) {
    if (contains_ci(message, needle)) return true;
  }
  return false;
}

}  // namespace

TranslatedError bedrock_exception_to_openai(std::string_view error_type, std::string_view message,
                                            int upstream_status) {
  TranslatedError t;
  t.error_type = normalize_error_type(error_type);
  if (upstream_status >= 400 && upstream_status <= 599) {
    t.status = upstream_status;
  } else if (int s = bedrock_error_status(t.error_type); s != 0) {
    t.status = s;
  } else {
    t.status = 502;
  }
  json::object inner;
  inner["message"] = message.empty() ? std::string("Bedrock returned ") +
                                           (t.error_type.empty() ? "an error" : t.error_type)
                                     : std::string(message);
  inner["type"] = openai_error_type_for_status(t.status);
  inner["param"] = nullptr;
  if (is_context_overflow(t.error_type, message)) {
    inner["code"] = "context_length_exceeded";
  } else if (!t.error_type.empty()) {
    inner["code"] = t.error_type;
  } else {
    inner["code"] = nullptr;
  }
  t.body["error"] = std::move(inner);
  return t;
}

TranslatedError bedrock_error_to_openai(std::string_view error_type_header,
                                        std::string_view raw_body, int upstream_status) {
  std::string type(error_type_header);
  std::string message;
  json::error_code ec;
  json::value parsed = json::parse(raw_body, ec);
  if (!ec && parsed.is_object()) {
    const auto& obj = parsed.get_object();
    if (auto m = find_string(obj, "message")) {
      message = *m;
    } else if (auto m2 = find_string(obj, "Message")) {
      message = *m2;
    }
    if (type.empty()) {
      if (auto t = find_string(obj, "__type")) {
        type = *t;
      } else if (auto c = find_string(obj, "code")) {
        type = *c;
      }
    }
  } else {
    // Not JSON (a proxy's HTML page, a truncated body): keep a bounded excerpt.
    message.assign(raw_body.substr(0, 512));
  }
  if (message.empty() && upstream_status != 0) {
    message = "Bedrock returned HTTP " + std::to_string(upstream_status);
  }
  return bedrock_exception_to_openai(type, message, upstream_status);
}

Error bedrock_upstream_error(std::string_view error_type_header, std::string_view raw_body,
                             int upstream_status, std::string retry_after) {
  TranslatedError t = bedrock_error_to_openai(error_type_header, raw_body, upstream_status);
  Error e;
  e.kind = ErrorKind::kUpstreamStatus;
  e.upstream_status = t.status;
  e.retry_after = std::move(retry_after);
  const auto& inner = t.body.at("error").as_object();
  e.message = std::string(inner.at("message").as_string());
  if (const auto* c = inner.if_contains("code"); c && c->is_string()) {
    e.code = std::string(c->get_string());
  }
  e.upstream_body_error = json::serialize(t.body);
  return e;
}

}  // namespace switchyard::bedrock
