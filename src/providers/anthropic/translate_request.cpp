#include "providers/anthropic/translate_request.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "providers/anthropic/common.h"

namespace switchyard::anthropic {

namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;
using namespace json_util;

bool istarts_with(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view sv(const boost::json::string& s) { return {s.data(), s.size()}; }

// ---------------------------------------------------------------------------
// OpenAI -> Anthropic
// ---------------------------------------------------------------------------

struct DataUrl {
  std::string media_type;
  std::string_view data;
};

// "data:<media type>[;param]*;base64,<payload>". Only base64 payloads are
// accepted: Anthropic's base64 source needs the encoded bytes as they are.
std::optional<DataUrl> parse_data_url(std::string_view url) {
  if (!istarts_with(url, "data:")) return std::nullopt;
  size_t comma = url.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  std::string_view header = url.substr(5, comma - 5);
  size_t semi = header.find(';');
  if (semi == std::string_view::npos) return std::nullopt;
  std::string_view params = header.substr(semi);
  if (lower(params).find(";base64") == std::string::npos) return std::nullopt;
  DataUrl out;
  out.media_type = lower(header.substr(0, semi));
  out.data = url.substr(comma + 1);
  if (out.media_type.empty() || out.data.empty()) return std::nullopt;
  return out;
}

// A base64 image or PDF as an Anthropic content block.
Result<object> data_url_block(std::string_view url, const std::string& param) {
  auto parsed = parse_data_url(url);
  if (!parsed) {
    return invalid_request(
        "Unsupported data URL: expected 'data:<media type>;base64,<data>' at " + param, param);
  }
  std::string media = parsed->media_type;
  if (media == "image/jpg") media = "image/jpeg";
  object source;
  source["type"] = "base64";
  object block;
  if (media == "image/jpeg" || media == "image/png" || media == "image/gif" ||
      media == "image/webp") {
    block["type"] = "image";
  } else if (media == "application/pdf") {
    block["type"] = "document";
  } else {
    return invalid_request(
        "Anthropic models accept image/jpeg, image/png, image/gif, image/webp "
        "and application/pdf; got '" +
            parsed->media_type + "' at " + param,
        param, "unsupported_value");
  }
  source["media_type"] = media;
  source["data"] = parsed->data;
  block["source"] = std::move(source);
  return block;
}

void copy_cache_control(const object& from, object& to) {
  if (const auto* cc = find_set(from, "cache_control")) to["cache_control"] = *cc;
}

object text_block(std::string_view text) {
  object b;
  b["type"] = "text";
  b["text"] = text;
  return b;
}

// Content part of a user or tool message -> Anthropic block. Parts whose type
// is not an OpenAI part type (Anthropic-native blocks such as "image" with a
// source, "document", "search_result") pass through untouched.
Result<object> user_part(const value& part_value, const std::string& path) {
  if (!part_value.is_object()) {
    return invalid_request("Each content part must be an object", path, "invalid_type");
  }
  const object& part = part_value.get_object();
  auto type = find_string(part, "type");
  if (!type) {
    return invalid_request("Content part is missing 'type'", join(path, "type"),
                           "missing_required_parameter");
  }
  if (*type == "text") {
    auto text = find_string(part, "text");
    if (!text) {
      return invalid_request("Text content part needs a string 'text'", join(path, "text"),
                             "invalid_type");
    }
    object b = text_block(*text);
    copy_cache_control(part, b);
    return b;
  }
  if (*type == "image_url") {
    const std::string url_param = join(path, "image_url.url");
    std::optional<std::string_view> url;
    if (const auto* iu = find(part, "image_url")) {
      if (iu->is_string()) {
        url = sv(iu->get_string());
      } else if (iu->is_object()) {
        url = find_string(iu->get_object(), "url");
      }
    }
    if (!url) {
      return invalid_request("Image content part needs 'image_url.url'", url_param,
                             "missing_required_parameter");
    }
    object b;
    if (istarts_with(*url, "data:")) {
      auto block = data_url_block(*url, url_param);
      if (!block) return block.error();
      b = std::move(*block);
    } else if (istarts_with(*url, "https://") || istarts_with(*url, "http://")) {
      object source;
      source["type"] = "url";
      source["url"] = *url;
      b["type"] = "image";
      b["source"] = std::move(source);
    } else {
      return invalid_request("Image URL must be an http(s) URL or a base64 data URL", url_param);
    }
    copy_cache_control(part, b);
    return b;
  }
  if (*type == "file") {
    const object* file = find_object(part, "file");
    if (file != nullptr) {
      if (auto data = find_string(*file, "file_data")) {
        auto block = data_url_block(*data, join(path, "file.file_data"));
        if (!block) return block.error();
        copy_cache_control(part, *block);
        return block;
      }
      if (find_set(*file, "file_id") != nullptr) {
        return invalid_request(
            "OpenAI file ids cannot be sent to Anthropic models; send the file "
            "inline as file_data",
            join(path, "file.file_id"), "unsupported_value");
      }
    }
    return invalid_request("File content part needs 'file.file_data'", join(path, "file"),
                           "missing_required_parameter");
  }
  if (*type == "input_audio") {
    return invalid_request("Anthropic models do not accept audio input", join(path, "type"),
                           "unsupported_value");
  }
  return part;  // Anthropic-native block
}

bool is_empty_text(const object& block) {
  auto type = find_string(block, "type");
  auto text = find_string(block, "text");
  return type && *type == "text" && text && text->empty();
}

// Puts a message-level cache_control (LiteLLM convention) on the last block.
void apply_message_cache_control(const object& msg, value& content) {
  const auto* cc = find_set(msg, "cache_control");
  if (cc == nullptr) return;
  if (content.is_string()) {
    array blocks;
    blocks.push_back(text_block(sv(content.get_string())));
    content = std::move(blocks);
  }
  auto& blocks = content.get_array();
  if (!blocks.empty() && blocks.back().is_object())
    blocks.back().get_object()["cache_control"] = *cc;
}

struct Turn {
  bool user = true;
  value content;  // string or array of blocks
};

array as_blocks(value content) {
  if (content.is_array()) return std::move(content.get_array());
  array out;
  if (content.is_string() && !content.get_string().empty()) {
    out.push_back(text_block(sv(content.get_string())));
  }
  return out;
}

// Anthropic needs alternating roles, so consecutive same-role messages (for
// example parallel tool results, or a tool result followed by user text) are
// merged into one message.
void push_turn(std::vector<Turn>& turns, bool user, value content) {
  if (!turns.empty() && turns.back().user == user) {
    array merged = as_blocks(std::move(turns.back().content));
    for (auto& b : as_blocks(std::move(content))) merged.push_back(std::move(b));
    turns.back().content = std::move(merged);
    return;
  }
  turns.push_back(Turn{user, std::move(content)});
}

Result<value> parse_tool_arguments(const value* args, const std::string& param) {
  if (args == nullptr || args->is_null()) return value(object{});
  if (args->is_object()) return *args;
  if (!args->is_string()) {
    return invalid_request("Tool call arguments must be a JSON string", param, "invalid_type");
  }
  std::string_view text = sv(args->get_string());
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return value(object{});
  boost::json::error_code ec;
  value parsed = boost::json::parse(text, ec);
  if (ec) {
    return invalid_request("Tool call arguments are not valid JSON (" + ec.message() + ")", param);
  }
  if (!parsed.is_object()) {
    return invalid_request("Tool call arguments must be a JSON object", param);
  }
  return parsed;
}

Result<bool> translate_messages(const array& messages, object& out) {
  std::vector<Turn> turns;
  array system_blocks;

  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string path = at("messages", i);
    if (!messages[i].is_object()) {
      return invalid_request("Each message must be an object", path, "invalid_type");
    }
    const object& msg = messages[i].get_object();
    auto role = find_string(msg, "role");
    if (!role) {
      return invalid_request("Message is missing 'role'", join(path, "role"),
                             "missing_required_parameter");
    }
    const value* content = find(msg, "content");
    const std::string content_path = join(path, "content");

    if (*role == "system" || *role == "developer") {
      size_t before = system_blocks.size();
      if (content != nullptr && content->is_string()) {
        if (!content->get_string().empty()) {
          system_blocks.push_back(text_block(sv(content->get_string())));
        }
      } else if (content != nullptr && content->is_array()) {
        const auto& parts = content->get_array();
        for (size_t j = 0; j < parts.size(); ++j) {
          const std::string part_path = at(content_path, j);
          const object* part = parts[j].is_object() ? &parts[j].get_object() : nullptr;
          auto type = part ? find_string(*part, "type") : std::nullopt;
          auto text = part ? find_string(*part, "text") : std::nullopt;
          if (!type || *type != "text" || !text) {
            return invalid_request("System and developer messages may only contain text parts",
                                   join(part_path, "type"), "unsupported_value");
          }
          object b = text_block(*text);
          copy_cache_control(*part, b);
          system_blocks.push_back(std::move(b));
        }
      } else {
        return invalid_request("System message content must be a string or an array of text parts",
                               content_path, "invalid_type");
      }
      if (const auto* cc = find_set(msg, "cache_control"); cc && system_blocks.size() > before) {
        system_blocks.back().get_object()["cache_control"] = *cc;
      }
      continue;
    }

    if (*role == "user") {
      value c;
      if (content != nullptr && content->is_string()) {
        c = content->get_string();
      } else if (content != nullptr && content->is_array()) {
        array blocks;
        const auto& parts = content->get_array();
        for (size_t j = 0; j < parts.size(); ++j) {
          auto block = user_part(parts[j], at(content_path, j));
          if (!block) return block.error();
          if (is_empty_text(*block)) continue;  // Anthropic rejects empty text blocks
          blocks.push_back(std::move(*block));
        }
        c = std::move(blocks);
      } else {
        return invalid_request("User message content must be a string or an array of parts",
                               content_path,
                               content ? "invalid_type" : "missing_required_parameter");
      }
      apply_message_cache_control(msg, c);
      push_turn(turns, true, std::move(c));
      continue;
    }

    if (*role == "assistant") {
      if (find_set(msg, "function_call") != nullptr) {
        return invalid_request("Legacy 'function_call' is not supported; use 'tool_calls'",
                               join(path, "function_call"), "unsupported_parameter");
      }
      array blocks;
      // LiteLLM convention: thinking blocks (with signatures) from an earlier
      // Anthropic reply come back on the assistant message and must lead it.
      if (const auto* thinking = find_array(msg, "thinking_blocks")) {
        for (const auto& b : *thinking) {
          if (b.is_object()) blocks.push_back(b);
        }
      }
      bool plain_string = false;
      if (content != nullptr && content->is_string()) {
        if (!content->get_string().empty()) {
          blocks.push_back(text_block(sv(content->get_string())));
          plain_string = true;
        }
      } else if (content != nullptr && content->is_array()) {
        const auto& parts = content->get_array();
        for (size_t j = 0; j < parts.size(); ++j) {
          const std::string part_path = at(content_path, j);
          if (!parts[j].is_object()) {
            return invalid_request("Each content part must be an object", part_path,
                                   "invalid_type");
          }
          const object& part = parts[j].get_object();
          auto type = find_string(part, "type");
          if (type && (*type == "text" || *type == "refusal")) {
            auto text = find_string(part, *type == "text" ? "text" : "refusal");
            if (!text) {
              return invalid_request("Content part needs a string text", part_path, "invalid_type");
            }
            if (text->empty()) continue;
            object b = text_block(*text);
            copy_cache_control(part, b);
            blocks.push_back(std::move(b));
          } else if (!type) {
            return invalid_request("Content part is missing 'type'", join(part_path, "type"),
                                   "missing_required_parameter");
          } else {
            blocks.push_back(part);  // Anthropic-native block (thinking, tool_use, ...)
          }
        }
      } else if (content != nullptr && !content->is_null()) {
        return invalid_request("Assistant message content must be a string, an array or null",
                               content_path, "invalid_type");
      }
      if (auto refusal = find_string(msg, "refusal"); refusal && !refusal->empty()) {
        bool has_text = std::any_of(blocks.begin(), blocks.end(), [](const value& b) {
          return b.is_object() && b.get_object().contains("text");
        });
        if (!has_text) blocks.push_back(text_block(*refusal));
      }
      bool has_tool_calls = false;
      if (const auto* calls_value = find_set(msg, "tool_calls")) {
        if (!calls_value->is_array()) {
          return invalid_request("'tool_calls' must be an array", join(path, "tool_calls"),
                                 "invalid_type");
        }
        const auto& calls = calls_value->get_array();
        for (size_t j = 0; j < calls.size(); ++j) {
          const std::string call_path = at(join(path, "tool_calls"), j);
          if (!calls[j].is_object()) {
            return invalid_request("Each tool call must be an object", call_path, "invalid_type");
          }
          const object& call = calls[j].get_object();
          if (auto type = find_string(call, "type"); type && *type != "function") {
            return invalid_request("Only function tool calls can be sent to Anthropic models",
                                   join(call_path, "type"), "unsupported_value");
          }
          auto id = find_string(call, "id");
          if (!id || id->empty()) {
            return invalid_request("Tool call is missing 'id'", join(call_path, "id"),
                                   "missing_required_parameter");
          }
          const object* fn = find_object(call, "function");
          auto name = fn ? find_string(*fn, "name") : std::nullopt;
          if (!name || name->empty()) {
            return invalid_request("Tool call is missing 'function.name'",
                                   join(call_path, "function.name"), "missing_required_parameter");
          }
          auto input =
              parse_tool_arguments(find(*fn, "arguments"), join(call_path, "function.arguments"));
          if (!input) return input.error();
          object b;
          b["type"] = "tool_use";
          b["id"] = *id;
          b["name"] = *name;
          b["input"] = std::move(*input);
          blocks.push_back(std::move(b));
          has_tool_calls = true;
        }
      }
      if (blocks.empty()) continue;  // nothing said: an empty turn carries no information
      value c;
      if (plain_string && !has_tool_calls && blocks.size() == 1) {
        c = content->get_string();
      } else {
        c = std::move(blocks);
      }
      apply_message_cache_control(msg, c);
      push_turn(turns, false, std::move(c));
      continue;
    }

    if (*role == "tool") {
      auto id = find_string(msg, "tool_call_id");
      if (!id || id->empty()) {
        return invalid_request("Tool message is missing 'tool_call_id'", join(path, "tool_call_id"),
                               "missing_required_parameter");
      }
      object result;
      result["type"] = "tool_result";
      result["tool_use_id"] = *id;
      if (content != nullptr && content->is_string()) {
        if (!content->get_string().empty()) result["content"] = content->get_string();
      } else if (content != nullptr && content->is_array()) {
        array blocks;
        const auto& parts = content->get_array();
        for (size_t j = 0; j < parts.size(); ++j) {
          auto block = user_part(parts[j], at(content_path, j));
          if (!block) return block.error();
          if (is_empty_text(*block)) continue;
          blocks.push_back(std::move(*block));
        }
        if (!blocks.empty()) result["content"] = std::move(blocks);
      } else if (content != nullptr && !content->is_null()) {
        return invalid_request("Tool message content must be a string or an array of parts",
                               content_path, "invalid_type");
      }
      copy_cache_control(msg, result);
      array blocks;
      blocks.push_back(std::move(result));
      push_turn(turns, true, std::move(blocks));
      continue;
    }

    if (*role == "function") {
      return invalid_request("Legacy 'function' messages are not supported; use 'tool' messages",
                             join(path, "role"), "unsupported_value");
    }
    return invalid_request("Unknown message role '" + std::string(*role) + "'", join(path, "role"));
  }

  if (!system_blocks.empty()) {
    const auto& first = system_blocks.front().get_object();
    if (system_blocks.size() == 1 && !first.contains("cache_control")) {
      out["system"] = first.at("text");
    } else {
      out["system"] = std::move(system_blocks);
    }
  }
  if (turns.empty()) {
    return invalid_request("At least one user or assistant message is required", "messages",
                           "missing_required_parameter");
  }
  array anthropic_messages;
  anthropic_messages.reserve(turns.size());
  for (auto& t : turns) {
    object m;
    m["role"] = t.user ? "user" : "assistant";
    m["content"] = std::move(t.content);
    anthropic_messages.push_back(std::move(m));
  }
  out["messages"] = std::move(anthropic_messages);
  return true;
}

Result<array> translate_tools(const value& tools_value) {
  if (!tools_value.is_array()) {
    return invalid_request("'tools' must be an array", "tools", "invalid_type");
  }
  const auto& tools = tools_value.get_array();
  array out;
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string path = at("tools", i);
    if (!tools[i].is_object()) {
      return invalid_request("Each tool must be an object", path, "invalid_type");
    }
    const object& tool = tools[i].get_object();
    auto type = find_string(tool, "type");
    if (!type || *type != "function") {
      // Anthropic-defined tools (bash_*, computer_*, text_editor_*,
      // web_search_*, ...) and Anthropic-shaped custom tools go as they are.
      out.push_back(tool);
      continue;
    }
    const object* fn = find_object(tool, "function");
    if (fn == nullptr) {
      return invalid_request("Function tool is missing 'function'", join(path, "function"),
                             "missing_required_parameter");
    }
    auto name = find_string(*fn, "name");
    if (!name || name->empty()) {
      return invalid_request("Function tool is missing 'function.name'",
                             join(path, "function.name"), "missing_required_parameter");
    }
    object t;
    t["name"] = *name;
    if (auto description = find_string(*fn, "description")) t["description"] = *description;
    if (const auto* params = find_set(*fn, "parameters")) {
      if (!params->is_object()) {
        return invalid_request("'function.parameters' must be a JSON Schema object",
                               join(path, "function.parameters"), "invalid_type");
      }
      t["input_schema"] = *params;
    } else {
      t["input_schema"] = object{{"type", "object"}, {"properties", object{}}};
    }
    if (const auto* strict = find_set(*fn, "strict"); strict && strict->is_bool()) {
      t["strict"] = *strict;
    }
    copy_cache_control(*fn, t);
    copy_cache_control(tool, t);
    out.push_back(std::move(t));
  }
  return out;
}

Result<object> translate_tool_choice(const value& choice) {
  object out;
  if (choice.is_string()) {
    std::string_view c = sv(choice.get_string());
    if (c == "auto") {
      out["type"] = "auto";
    } else if (c == "none") {
      out["type"] = "none";
    } else if (c == "required") {
      out["type"] = "any";
    } else {
      return invalid_request("'tool_choice' must be auto, none, required or a function choice",
                             "tool_choice");
    }
    return out;
  }
  if (choice.is_object()) {
    const object& obj = choice.get_object();
    auto type = find_string(obj, "type");
    if (type && *type == "function") {
      const object* fn = find_object(obj, "function");
      auto name = fn ? find_string(*fn, "name") : std::nullopt;
      if (!name || name->empty()) {
        return invalid_request("'tool_choice.function.name' is required",
                               "tool_choice.function.name", "missing_required_parameter");
      }
      out["type"] = "tool";
      out["name"] = *name;
      return out;
    }
    if (type && (*type == "auto" || *type == "any" || *type == "tool" || *type == "none")) {
      return obj;  // already Anthropic-shaped
    }
  }
  return invalid_request("'tool_choice' must be auto, none, required or a function choice",
                         "tool_choice");
}

bool is_zero_number(const value& v) {
  if (v.is_int64()) return v.get_int64() == 0;
  if (v.is_uint64()) return v.get_uint64() == 0;
  if (v.is_double()) return v.get_double() == 0.0;
  return false;
}

Error unsupported(std::string_view field, std::string why) {
  return invalid_request(
      "'" + std::string(field) + "' is not supported by Anthropic models: " + std::move(why),
      std::string(field), "unsupported_value");
}

}  // namespace

Result<boost::json::object> openai_to_anthropic_request(const boost::json::object& body,
                                                        const std::string& model_id,
                                                        std::optional<int64_t> default_max_tokens) {
  object out;
  out["model"] = model_id;

  const value* messages = find(body, "messages");
  if (messages == nullptr || !messages->is_array()) {
    return invalid_request("Missing required parameter 'messages' (an array)", "messages",
                           "missing_required_parameter");
  }
  if (auto r = translate_messages(messages->get_array(), out); !r) return r.error();

  // max_tokens is required by Anthropic.
  int64_t max_tokens = default_max_tokens.value_or(kDefaultMaxTokens);
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (const auto* v = find_set(body, key)) {
      auto n = as_int(*v);
      if (!n)
        return invalid_request(std::string("'") + key + "' must be an integer", key,
                               "invalid_type");
      max_tokens = *n;  // max_completion_tokens (second) wins
    }
  }
  out["max_tokens"] = max_tokens;

  bool has_tools = false;
  if (const auto* tools = find_set(body, "tools")) {
    auto translated = translate_tools(*tools);
    if (!translated) return translated.error();
    if (!translated->empty()) {
      out["tools"] = std::move(*translated);
      has_tools = true;
    }
  }
  // tool_choice without tools cannot change the answer (there is nothing to
  // call) but Anthropic rejects it, so it is dropped.
  if (const auto* choice = find_set(body, "tool_choice"); choice && has_tools) {
    auto translated = translate_tool_choice(*choice);
    if (!translated) return translated.error();
    out["tool_choice"] = std::move(*translated);
  }
  if (const auto* parallel = find_set(body, "parallel_tool_calls")) {
    if (!parallel->is_bool()) {
      return invalid_request("'parallel_tool_calls' must be a boolean", "parallel_tool_calls",
                             "invalid_type");
    }
    if (!parallel->get_bool() && has_tools) {
      auto* choice = out.if_contains("tool_choice");
      if (choice == nullptr) {
        out["tool_choice"] = object{{"type", "auto"}};
        choice = out.if_contains("tool_choice");
      }
      auto& c = choice->get_object();
      if (find_string(c, "type") != std::optional<std::string_view>("none")) {
        c["disable_parallel_tool_use"] = true;
      }
    }
  }

  for (const auto& item : body) {
    const std::string_view key = item.key();
    const value& v = item.value();
    // Handled above.
    if (key == "model" || key == "messages" || key == "max_tokens" ||
        key == "max_completion_tokens" || key == "tools" || key == "tool_choice" ||
        key == "parallel_tool_calls") {
      continue;
    }
    // Consumed elsewhere: the stream translator reads include_usage; the
    // header helper moves anthropic_beta into the anthropic-beta header.
    if (key == "stream_options" || key == "anthropic_beta") continue;
    // OpenAI-only knobs that do not change the answer.
    if (key == "seed" || key == "store" || key == "prediction" || key == "safety_identifier" ||
        key == "prompt_cache_key" || key == "prompt_cache_retention") {
      continue;
    }
    if (v.is_null()) continue;  // an explicit null means "not set"

    if (key == "temperature" || key == "top_p" || key == "top_k") {
      out[key] = v;
    } else if (key == "stream") {
      if (!v.is_bool())
        return invalid_request("'stream' must be a boolean", "stream", "invalid_type");
      out["stream"] = v;
    } else if (key == "stop") {
      array seqs;
      if (v.is_string()) {
        seqs.push_back(v);
      } else if (v.is_array()) {
        const auto& arr = v.get_array();
        for (size_t i = 0; i < arr.size(); ++i) {
          if (!arr[i].is_string()) {
            return invalid_request("Stop sequences must be strings", at("stop", i), "invalid_type");
          }
          seqs.push_back(arr[i]);
        }
      } else {
        return invalid_request("'stop' must be a string or an array of strings", "stop",
                               "invalid_type");
      }
      if (!seqs.empty()) out["stop_sequences"] = std::move(seqs);
    } else if (key == "user") {
      if (!v.is_string()) return invalid_request("'user' must be a string", "user", "invalid_type");
      // merged into metadata below
    } else if (key == "metadata") {
      out["metadata"] = v;  // Anthropic's own field ({"user_id": ...}); passed through
    } else if (key == "n") {
      auto n = as_int(v);
      if (!n || *n != 1) return unsupported("n", "they return exactly one choice");
    } else if (key == "logprobs") {
      if (!v.is_bool())
        return invalid_request("'logprobs' must be a boolean", "logprobs", "invalid_type");
      if (v.get_bool()) return unsupported("logprobs", "they do not return log probabilities");
    } else if (key == "top_logprobs") {
      if (!is_zero_number(v)) {
        return unsupported("top_logprobs", "they do not return log probabilities");
      }
    } else if (key == "presence_penalty" || key == "frequency_penalty") {
      if (!is_zero_number(v)) return unsupported(key, "there is no equivalent setting");
    } else if (key == "logit_bias") {
      if (!(v.is_object() && v.get_object().empty())) {
        return unsupported("logit_bias", "there is no equivalent setting");
      }
    } else if (key == "response_format") {
      const object* rf = v.is_object() ? &v.get_object() : nullptr;
      auto type = rf ? find_string(*rf, "type") : std::nullopt;
      if (!type || *type != "text") {
        return unsupported("response_format",
                           "JSON mode and json_schema are not translated; describe the format in "
                           "the prompt or use a forced tool call");
      }
    } else if (key == "modalities") {
      bool text_only = v.is_array();
      if (text_only) {
        for (const auto& m : v.get_array()) {
          if (!m.is_string() || m.get_string() != "text") text_only = false;
        }
      }
      if (!text_only) return unsupported("modalities", "they only produce text");
    } else if (key == "audio") {
      return unsupported("audio", "they do not produce audio");
    } else if (key == "functions" || key == "function_call") {
      return invalid_request("Legacy '" + std::string(key) + "' is not supported; use 'tools'",
                             std::string(key), "unsupported_parameter");
    } else if (key == "reasoning_effort") {
      if (!(v.is_string() && v.get_string() == "none")) {
        return unsupported("reasoning_effort",
                           "use Anthropic's 'thinking' parameter (passed through unchanged)");
      }
    } else if (key == "verbosity") {
      if (!(v.is_string() && v.get_string() == "medium")) {
        return unsupported("verbosity", "there is no equivalent setting");
      }
    } else if (key == "web_search_options") {
      return unsupported("web_search_options",
                         "use Anthropic's web_search tool in 'tools' (passed through unchanged)");
    } else if (key == "service_tier") {
      // Anthropic knows auto / standard_only; OpenAI's default/flex/priority
      // only choose a price and latency class, not the answer.
      if (v.is_string() && (v.get_string() == "auto" || v.get_string() == "standard_only")) {
        out["service_tier"] = v;
      }
    } else {
      // Anthropic-only fields (thinking, top_k, container, mcp_servers,
      // output_config, ...) and anything unknown go through unchanged: the
      // upstream answers a clear 400 for fields it does not know.
      out[key] = v;
    }
  }

  if (auto user = find_string(body, "user"); user && !user->empty()) {
    auto* md = out.if_contains("metadata");
    if (md == nullptr || !md->is_object()) {
      out["metadata"] = object{{"user_id", *user}};
    } else if (!md->get_object().contains("user_id")) {
      md->get_object()["user_id"] = *user;
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> anthropic_request_headers(
    std::string_view api_key, std::string_view client_anthropic_version,
    std::string_view client_anthropic_beta, const boost::json::object* openai_body) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("content-type", "application/json");
  headers.emplace_back("x-api-key", std::string(api_key));
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  std::string_view version = trim(client_anthropic_version);
  headers.emplace_back("anthropic-version",
                       std::string(version.empty() ? kDefaultAnthropicVersion : version));

  std::vector<std::string> betas;
  auto add_beta = [&](std::string_view b) {
    b = trim(b);
    if (b.empty()) return;
    if (std::find(betas.begin(), betas.end(), b) == betas.end()) betas.emplace_back(b);
  };
  auto add_list = [&](std::string_view list) {
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string_view::npos) comma = list.size();
      add_beta(list.substr(start, comma - start));
      start = comma + 1;
    }
  };
  add_list(client_anthropic_beta);
  if (openai_body != nullptr) {
    if (const auto* b = find(*openai_body, "anthropic_beta")) {
      if (b->is_string()) add_list(sv(b->get_string()));
      if (b->is_array()) {
        for (const auto& e : b->get_array()) {
          if (e.is_string()) add_list(sv(e.get_string()));
        }
      }
    }
  }
  if (!betas.empty()) {
    std::string joined;
    for (const auto& b : betas) {
      if (!joined.empty()) joined += ',';
      joined += b;
    }
    headers.emplace_back("anthropic-beta", std::move(joined));
  }
  return headers;
}

// ---------------------------------------------------------------------------
// Anthropic -> OpenAI (inbound /v1/messages)
// ---------------------------------------------------------------------------

namespace {

// Text of a system prompt or tool result given as blocks.
Result<std::string> joined_text(const array& blocks, const std::string& path) {
  std::string out;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const object* b = blocks[i].is_object() ? &blocks[i].get_object() : nullptr;
    auto type = b ? find_string(*b, "type") : std::nullopt;
    auto text = b ? find_string(*b, "text") : std::nullopt;
    if (!type || *type != "text" || !text) {
      return invalid_request("Only text blocks are supported here", join(at(path, i), "type"),
                             "unsupported_value");
    }
    if (!out.empty()) out += "\n\n";
    out += *text;
  }
  return out;
}

// Anthropic image/document block -> OpenAI content part.
Result<object> media_part(const object& block, std::string_view type, const std::string& path) {
  const object* source = find_object(block, "source");
  auto source_type = source ? find_string(*source, "type") : std::nullopt;
  if (!source_type) {
    return invalid_request("Block is missing 'source'", join(path, "source"),
                           "missing_required_parameter");
  }
  if (*source_type == "base64") {
    auto media = find_string(*source, "media_type");
    auto data = find_string(*source, "data");
    if (!media || !data) {
      return invalid_request("Base64 source needs 'media_type' and 'data'", join(path, "source"),
                             "missing_required_parameter");
    }
    std::string url = "data:" + std::string(*media) + ";base64," + std::string(*data);
    object part;
    if (type == "image") {
      part["type"] = "image_url";
      part["image_url"] = object{{"url", url}};
    } else {
      object file{{"file_data", url}};
      if (auto title = find_string(block, "title")) file["filename"] = *title;
      part["type"] = "file";
      part["file"] = std::move(file);
    }
    return part;
  }
  if (*source_type == "url" && type == "image") {
    auto url = find_string(*source, "url");
    if (!url) {
      return invalid_request("URL source needs 'url'", join(path, "source.url"),
                             "missing_required_parameter");
    }
    object part;
    part["type"] = "image_url";
    part["image_url"] = object{{"url", *url}};
    return part;
  }
  if (*source_type == "text" && type == "document") {
    auto data = find_string(*source, "data");
    if (!data) {
      return invalid_request("Text source needs 'data'", join(path, "source.data"),
                             "missing_required_parameter");
    }
    object part;
    part["type"] = "text";
    part["text"] = *data;
    return part;
  }
  return invalid_request("This " + std::string(type) +
                             " source type cannot be sent to an "
                             "OpenAI-compatible model",
                         join(path, "source.type"), "unsupported_value");
}

Result<bool> translate_anthropic_messages(const array& messages, array& out) {
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string path = at("messages", i);
    if (!messages[i].is_object()) {
      return invalid_request("Each message must be an object", path, "invalid_type");
    }
    const object& msg = messages[i].get_object();
    auto role = find_string(msg, "role");
    if (!role || (*role != "user" && *role != "assistant" && *role != "system")) {
      return invalid_request("Message role must be 'user' or 'assistant'", join(path, "role"));
    }
    const value* content = find(msg, "content");
    const std::string content_path = join(path, "content");
    if (content != nullptr && content->is_string()) {
      out.push_back(object{{"role", *role}, {"content", content->get_string()}});
      continue;
    }
    if (content == nullptr || !content->is_array()) {
      return invalid_request("Message content must be a string or an array of blocks", content_path,
                             content ? "invalid_type" : "missing_required_parameter");
    }
    const auto& blocks = content->get_array();

    if (*role == "system") {
      auto text = joined_text(blocks, content_path);
      if (!text) return text.error();
      out.push_back(object{{"role", "system"}, {"content", *text}});
      continue;
    }

    if (*role == "assistant") {
      std::string text;
      bool has_text = false;
      array tool_calls;
      for (size_t j = 0; j < blocks.size(); ++j) {
        const std::string block_path = at(content_path, j);
        const object* b = blocks[j].is_object() ? &blocks[j].get_object() : nullptr;
        auto type = b ? find_string(*b, "type") : std::nullopt;
        if (!type) {
          return invalid_request("Content block is missing 'type'", join(block_path, "type"),
                                 "missing_required_parameter");
        }
        if (*type == "text") {
          auto t = find_string(*b, "text");
          if (!t)
            return invalid_request("Text block needs 'text'", join(block_path, "text"),
                                   "invalid_type");
          text += *t;
          has_text = true;
        } else if (*type == "tool_use") {
          auto id = find_string(*b, "id");
          auto name = find_string(*b, "name");
          if (!id || !name) {
            return invalid_request("tool_use block needs 'id' and 'name'", block_path,
                                   "missing_required_parameter");
          }
          const value* input = find(*b, "input");
          object fn;
          fn["name"] = *name;
          fn["arguments"] = input ? boost::json::serialize(*input) : std::string("{}");
          tool_calls.push_back(
              object{{"id", *id}, {"type", "function"}, {"function", std::move(fn)}});
        } else if (*type == "thinking" || *type == "redacted_thinking") {
          // Earlier reasoning cannot be replayed to another provider; Anthropic
          // itself ignores it outside a tool-use loop.
          continue;
        } else {
          return invalid_request("Assistant block type '" + std::string(*type) +
                                     "' cannot be sent to an OpenAI-compatible model",
                                 join(block_path, "type"), "unsupported_value");
        }
      }
      if (!has_text && tool_calls.empty()) continue;
      object m;
      m["role"] = "assistant";
      if (has_text) {
        m["content"] = text;
      } else {
        m["content"] = nullptr;
      }
      if (!tool_calls.empty()) m["tool_calls"] = std::move(tool_calls);
      out.push_back(std::move(m));
      continue;
    }

    // user: tool_result blocks become `tool` messages, which OpenAI needs
    // directly after the assistant's tool_calls; the rest follows as one user
    // message. Images inside tool results move to that user message because
    // OpenAI tool messages carry text only.
    array parts;
    array tool_images;
    for (size_t j = 0; j < blocks.size(); ++j) {
      const std::string block_path = at(content_path, j);
      const object* b = blocks[j].is_object() ? &blocks[j].get_object() : nullptr;
      auto type = b ? find_string(*b, "type") : std::nullopt;
      if (!type) {
        return invalid_request("Content block is missing 'type'", join(block_path, "type"),
                               "missing_required_parameter");
      }
      if (*type == "text") {
        auto t = find_string(*b, "text");
        if (!t)
          return invalid_request("Text block needs 'text'", join(block_path, "text"),
                                 "invalid_type");
        parts.push_back(object{{"type", "text"}, {"text", *t}});
      } else if (*type == "image" || *type == "document") {
        auto part = media_part(*b, *type, block_path);
        if (!part) return part.error();
        parts.push_back(std::move(*part));
      } else if (*type == "tool_result") {
        auto id = find_string(*b, "tool_use_id");
        if (!id) {
          return invalid_request("tool_result block needs 'tool_use_id'",
                                 join(block_path, "tool_use_id"), "missing_required_parameter");
        }
        std::string text;
        const value* rc = find(*b, "content");
        if (rc != nullptr && rc->is_string()) {
          text = rc->get_string();
        } else if (rc != nullptr && rc->is_array()) {
          const auto& inner = rc->get_array();
          for (size_t k = 0; k < inner.size(); ++k) {
            const std::string inner_path = at(join(block_path, "content"), k);
            const object* ib = inner[k].is_object() ? &inner[k].get_object() : nullptr;
            auto itype = ib ? find_string(*ib, "type") : std::nullopt;
            if (itype && *itype == "text") {
              auto t = find_string(*ib, "text");
              if (!t)
                return invalid_request("Text block needs 'text'", join(inner_path, "text"),
                                       "invalid_type");
              if (!text.empty()) text += "\n\n";
              text += *t;
            } else if (itype && (*itype == "image" || *itype == "document")) {
              auto part = media_part(*ib, *itype, inner_path);
              if (!part) return part.error();
              tool_images.push_back(std::move(*part));
            } else {
              return invalid_request(
                  "tool_result content may hold text, image and document "
                  "blocks only",
                  join(inner_path, "type"), "unsupported_value");
            }
          }
        } else if (rc != nullptr && !rc->is_null()) {
          return invalid_request("tool_result content must be a string or an array",
                                 join(block_path, "content"), "invalid_type");
        }
        out.push_back(object{{"role", "tool"}, {"tool_call_id", *id}, {"content", text}});
      } else {
        return invalid_request("User block type '" + std::string(*type) +
                                   "' cannot be sent to an OpenAI-compatible model",
                               join(block_path, "type"), "unsupported_value");
      }
    }
    if (!tool_images.empty()) {
      for (auto& p : parts) tool_images.push_back(std::move(p));
      parts = std::move(tool_images);
    }
    if (!parts.empty()) out.push_back(object{{"role", "user"}, {"content", std::move(parts)}});
  }
  return true;
}

}  // namespace

Result<boost::json::object> anthropic_to_openai_request(const boost::json::object& body,
                                                        const std::string& model_id) {
  object out;
  if (!model_id.empty()) {
    out["model"] = model_id;
  } else if (const auto* model = find(body, "model")) {
    out["model"] = *model;
  }
  array messages;

  if (const auto* system = find_set(body, "system")) {
    if (system->is_string()) {
      if (!system->get_string().empty()) {
        messages.push_back(object{{"role", "system"}, {"content", system->get_string()}});
      }
    } else if (system->is_array()) {
      auto text = joined_text(system->get_array(), "system");
      if (!text) return text.error();
      if (!text->empty()) messages.push_back(object{{"role", "system"}, {"content", *text}});
    } else {
      return invalid_request("'system' must be a string or an array of text blocks", "system",
                             "invalid_type");
    }
  }
  const auto* msgs = find(body, "messages");
  if (msgs == nullptr || !msgs->is_array()) {
    return invalid_request("Missing required parameter 'messages' (an array)", "messages",
                           "missing_required_parameter");
  }
  if (auto r = translate_anthropic_messages(msgs->get_array(), messages); !r) return r.error();
  out["messages"] = std::move(messages);

  bool has_tools = false;
  bool stream = false;
  for (const auto& item : body) {
    const std::string_view key = item.key();
    const value& v = item.value();
    if (key == "model" || key == "messages" || key == "system") continue;
    if (v.is_null()) continue;
    if (key == "max_tokens") {
      if (!as_int(v))
        return invalid_request("'max_tokens' must be an integer", "max_tokens", "invalid_type");
      out["max_tokens"] = v;
    } else if (key == "temperature" || key == "top_p" || key == "top_k") {
      out[key] = v;
    } else if (key == "stop_sequences") {
      if (!v.is_array()) {
        return invalid_request("'stop_sequences' must be an array of strings", "stop_sequences",
                               "invalid_type");
      }
      if (!v.get_array().empty()) out["stop"] = v;
    } else if (key == "stream") {
      if (!v.is_bool())
        return invalid_request("'stream' must be a boolean", "stream", "invalid_type");
      stream = v.get_bool();
      out["stream"] = v;
    } else if (key == "metadata") {
      if (v.is_object()) {
        if (auto user = find_string(v.get_object(), "user_id")) out["user"] = *user;
      }
    } else if (key == "tools") {
      if (!v.is_array())
        return invalid_request("'tools' must be an array", "tools", "invalid_type");
      array tools;
      const auto& arr = v.get_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        const std::string path = at("tools", i);
        const object* t = arr[i].is_object() ? &arr[i].get_object() : nullptr;
        if (t == nullptr)
          return invalid_request("Each tool must be an object", path, "invalid_type");
        if (auto type = find_string(*t, "type"); type && *type != "custom") {
          return invalid_request("Anthropic-defined tool '" + std::string(*type) +
                                     "' cannot run on an OpenAI-compatible model",
                                 join(path, "type"), "unsupported_value");
        }
        auto name = find_string(*t, "name");
        if (!name || name->empty()) {
          return invalid_request("Tool is missing 'name'", join(path, "name"),
                                 "missing_required_parameter");
        }
        object fn;
        fn["name"] = *name;
        if (auto d = find_string(*t, "description")) fn["description"] = *d;
        if (const auto* schema = find_set(*t, "input_schema")) {
          fn["parameters"] = *schema;
        } else {
          fn["parameters"] = object{{"type", "object"}, {"properties", object{}}};
        }
        if (const auto* strict = find_set(*t, "strict"); strict && strict->is_bool()) {
          fn["strict"] = *strict;
        }
        tools.push_back(object{{"type", "function"}, {"function", std::move(fn)}});
      }
      if (!tools.empty()) {
        out["tools"] = std::move(tools);
        has_tools = true;
      }
    } else if (key == "tool_choice") {
      // handled after the loop (needs to know whether tools exist)
    } else if (key == "thinking") {
      const object* t = v.is_object() ? &v.get_object() : nullptr;
      auto type = t ? find_string(*t, "type") : std::nullopt;
      if (!type)
        return invalid_request("'thinking.type' is required", "thinking.type",
                               "missing_required_parameter");
      if (*type == "enabled") {
        // Inverse of LiteLLM's reasoning_effort -> budget table
        // (low 1024, medium 2048, high 4096).
        int64_t budget = t ? find_int(*t, "budget_tokens").value_or(0) : 0;
        out["reasoning_effort"] = budget < 2048 ? "low" : (budget < 4096 ? "medium" : "high");
      } else if (*type != "disabled" && *type != "adaptive") {
        return invalid_request("Unknown thinking type '" + std::string(*type) + "'",
                               "thinking.type");
      }
    } else if (key == "service_tier" || key == "cache_control") {
      // Price/latency class and prompt caching do not change the answer.
    } else {
      return invalid_request(
          "'" + std::string(key) + "' cannot be honoured by an OpenAI-compatible model",
          std::string(key), "unsupported_parameter");
    }
  }

  if (const auto* choice = find_set(body, "tool_choice"); choice && has_tools) {
    const object* c = choice->is_object() ? &choice->get_object() : nullptr;
    auto type = c ? find_string(*c, "type") : std::nullopt;
    if (!type)
      return invalid_request("'tool_choice.type' is required", "tool_choice.type",
                             "missing_required_parameter");
    if (*type == "auto") {
      out["tool_choice"] = "auto";
    } else if (*type == "any") {
      out["tool_choice"] = "required";
    } else if (*type == "none") {
      out["tool_choice"] = "none";
    } else if (*type == "tool") {
      auto name = find_string(*c, "name");
      if (!name)
        return invalid_request("'tool_choice.name' is required", "tool_choice.name",
                               "missing_required_parameter");
      out["tool_choice"] = object{{"type", "function"}, {"function", object{{"name", *name}}}};
    } else {
      return invalid_request("Unknown tool_choice type '" + std::string(*type) + "'",
                             "tool_choice.type");
    }
    if (const auto* d = find(*c, "disable_parallel_tool_use");
        d && d->is_bool() && d->get_bool() && *type != "none") {
      out["parallel_tool_calls"] = false;
    }
  }
  if (stream) out["stream_options"] = object{{"include_usage", true}};
  return out;
}

}  // namespace switchyard::anthropic
