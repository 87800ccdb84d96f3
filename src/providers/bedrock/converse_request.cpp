#include "providers/bedrock/converse_request.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "providers/bedrock/common.h"
#include "upstream/aws_sigv4.h"

namespace switchyard::bedrock {

namespace json = boost::json;
using namespace json_util;

std::string converse_path(std::string_view model_id, bool stream) {
  std::string path = "/model/";
  path += aws_uri_encode(model_id, /*encode_slash=*/true);
  path += stream ? "/converse-stream" : "/converse";
  return path;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_base64(std::string_view s) {
  if (s.empty()) return false;
  size_t pad = 0;
  for (char c : s) {
    const bool alnum = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (c == '=') {
      ++pad;
    } else if (pad > 0 || !(alnum || c == '+' || c == '/')) {
      return false;  // data after padding, or not in the standard alphabet
    }
  }
  return pad <= 2;
}

struct DataUrl {
  std::string mime;       // lower case, parameters removed
  std::string_view data;  // base64 payload
};

// "data:<mime>[;param]*;base64,<data>". nullopt when `url` is not a base64
// data URL.
std::optional<DataUrl> parse_data_url(std::string_view url) {
  if (url.size() < 5 || lower(url.substr(0, 5)) != "data:") return std::nullopt;
  size_t comma = url.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  std::string_view meta = url.substr(5, comma - 5);
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (true) {
    size_t semi = meta.find(';', pos);
    parts.push_back(meta.substr(pos, semi == std::string_view::npos ? semi : semi - pos));
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  bool base64 = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (lower(parts[i]) == "base64") base64 = true;
  }
  if (!base64) return std::nullopt;
  return DataUrl{lower(parts[0]), url.substr(comma + 1)};
}

std::optional<std::string_view> image_format(std::string_view mime) {
  if (mime == "image/png") return "png";
  if (mime == "image/jpeg" || mime == "image/jpg") return "jpeg";
  if (mime == "image/gif") return "gif";
  if (mime == "image/webp") return "webp";
  return std::nullopt;
}

// Bedrock DocumentFormat for a media type.
std::optional<std::string_view> document_format(std::string_view mime) {
  if (mime == "application/pdf") return "pdf";
  if (mime == "text/csv") return "csv";
  if (mime == "application/msword") return "doc";
  if (mime == "application/vnd.openxmlformats-officedocument.wordprocessingml.document") {
    return "docx";
  }
  if (mime == "application/vnd.ms-excel") return "xls";
  if (mime == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") return "xlsx";
  if (mime == "text/html") return "html";
  if (mime == "text/plain") return "txt";
  if (mime == "text/markdown") return "md";
  return std::nullopt;
}

// Same, from a file name's extension (file parts whose file_data is bare
// base64). Sets *is_image for image extensions.
std::optional<std::string_view> format_from_filename(std::string_view filename, bool* is_image) {
  size_t dotpos = filename.rfind('.');
  if (dotpos == std::string_view::npos) return std::nullopt;
  const std::string ext = lower(filename.substr(dotpos + 1));
  struct Row {
    std::string_view ext;
    std::string_view format;
    bool image;
  };
  static constexpr Row kRows[] = {
      {"pdf", "pdf", false},   {"csv", "csv", false},  {"doc", "doc", false},
      {"docx", "docx", false}, {"xls", "xls", false},  {"xlsx", "xlsx", false},
      {"html", "html", false}, {"txt", "txt", false},  {"md", "md", false},
      {"png", "png", true},    {"jpg", "jpeg", true},  {"jpeg", "jpeg", true},
      {"gif", "gif", true},    {"webp", "webp", true},
  };
  for (const auto& row : kRows) {
    if (row.ext == ext) {
      *is_image = row.image;
      return row.format;
    }
  }
  return std::nullopt;
}

json::object image_block(std::string_view format, std::string_view base64) {
  json::object source;
  source["bytes"] = base64;
  json::object image;
  image["format"] = format;
  image["source"] = std::move(source);
  json::object block;
  block["image"] = std::move(image);
  return block;
}

json::object text_block(std::string_view text) {
  json::object block;
  block["text"] = text;
  return block;
}

// cache_control (LiteLLM/Anthropic convention) -> a Bedrock cachePoint block,
// keeping a "5m"/"1h" ttl.
json::object cache_point(const json::object& cache_control) {
  json::object cp;
  cp["type"] = "default";
  if (auto ttl = find_string(cache_control, "ttl"); ttl && (*ttl == "5m" || *ttl == "1h")) {
    cp["ttl"] = *ttl;
  }
  json::object block;
  block["cachePoint"] = std::move(cp);
  return block;
}

bool is_block(const json::value& v, std::string_view kind) {
  return v.is_object() && v.get_object().contains(kind);
}

struct Turn {
  std::string role;
  json::array content;
};

// Builds one Converse request; holds the little state translation needs
// (document names must be unique within a request).
class Translator {
 public:
  std::optional<Error> run(const json::object& body, json::object& out);

 private:
  std::optional<Error> messages(const json::array& msgs);
  std::optional<Error> system_message(const json::object& msg, const std::string& path);
  std::optional<Error> user_content(const json::value& content, const std::string& path,
                                    json::array& blocks);
  std::optional<Error> assistant_message(const json::object& msg, const std::string& path,
                                         json::array& blocks);
  std::optional<Error> tool_message(const json::object& msg, const std::string& path,
                                    json::array& blocks);
  std::optional<Error> media_part(const json::object& part, const std::string& path,
                                  bool tool_result, json::array& blocks);
  std::optional<Error> file_part(const json::object& part, const std::string& path,
                                 json::array& blocks);
  std::optional<Error> tools(const json::object& body, json::object& out);
  std::optional<Error> inference(const json::object& body, json::object& out);
  std::optional<Error> rejections(const json::object& body);
  std::optional<Error> response_format(const json::value& v, json::object& out);
  json::object document_block(std::string_view format, std::string_view base64,
                              std::string_view filename);

  void push_turn(std::string_view role, json::array blocks);

  std::vector<Turn> turns_;
  json::array system_;
  bool has_tool_blocks_ = false;
  std::set<std::string> document_names_;
  json::object additional_fields_;
};

void Translator::push_turn(std::string_view role, json::array blocks) {
  if (blocks.empty()) return;
  // Converse requires alternating roles: merge consecutive same-role turns.
  if (!turns_.empty() && turns_.back().role == role) {
    for (auto& b : blocks) turns_.back().content.push_back(std::move(b));
    return;
  }
  turns_.push_back(Turn{std::string(role), std::move(blocks)});
}

// Document names may hold only alphanumerics, single spaces, hyphens,
// parentheses and square brackets, and must be unique within a request.
json::object Translator::document_block(std::string_view format, std::string_view base64,
                                        std::string_view filename) {
  if (size_t dotpos = filename.rfind('.'); dotpos != std::string_view::npos && dotpos > 0) {
    filename = filename.substr(0, dotpos);
  }
  std::string name;
  for (char c : filename) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '(' || c == ')' || c == '[' || c == ']') {
      name += c;
    } else if (std::isspace(u)) {
      if (!name.empty() && name.back() != ' ') name += ' ';
    } else if (u < 0x80) {
      name += '-';
    }
    // Bytes of non-ASCII characters are left out.
  }
  while (!name.empty() && name.back() == ' ') name.pop_back();
  if (name.empty()) name = "document-" + std::to_string(document_names_.size() + 1);
  std::string unique = name;
  for (int n = 2; document_names_.count(unique) != 0; ++n) {
    unique = name + "-" + std::to_string(n);
  }
  document_names_.insert(unique);

  json::object source;
  source["bytes"] = base64;
  json::object doc;
  doc["format"] = format;
  doc["name"] = unique;
  doc["source"] = std::move(source);
  json::object block;
  block["document"] = std::move(doc);
  return block;
}

std::optional<Error> Translator::media_part(const json::object& part, const std::string& path,
                                            bool tool_result, json::array& blocks) {
  const std::string iu_path = join(path, "image_url");
  const json::value* iu = find_set(part, "image_url");
  std::string_view url;
  if (iu != nullptr && iu->is_string()) {
    url = iu->get_string();
  } else if (iu != nullptr && iu->is_object()) {
    auto u = find_string(iu->get_object(), "url");
    if (!u)
      return invalid_request(
          "image_url.url must be a string", join(iu_path, "url"),
          find_set(iu->get_object(), "url") ? "invalid_type" : "missing_required_parameter");
    url = *u;
  } else {
    return invalid_request("image_url must be an object with a url", iu_path,
                           iu == nullptr ? "missing_required_parameter" : "invalid_type");
  }
  const std::string url_path = iu->is_object() ? join(iu_path, "url") : iu_path;
  std::string head = lower(url.substr(0, std::min<size_t>(url.size(), 8)));
  if (head.rfind("http://", 0) == 0 || head.rfind("https://", 0) == 0) {
    return invalid_request(
        "Bedrock cannot fetch image URLs; send the image as a base64 data URL "
        "(data:image/png;base64,...)",
        url_path, "unsupported_value");
  }
  auto data = parse_data_url(url);
  if (!data) {
    return invalid_request("image_url.url must be a base64 data URL (data:image/png;base64,...)",
                           url_path, "invalid_value");
  }
  if (!is_base64(data->data)) {
    return invalid_request("the data URL does not hold valid base64", url_path, "invalid_value");
  }
  if (auto fmt = image_format(data->mime)) {
    blocks.push_back(image_block(*fmt, data->data));
    return std::nullopt;
  }
  if (data->mime == "application/pdf" && !tool_result) {
    blocks.push_back(document_block("pdf", data->data, ""));
    return std::nullopt;
  }
  return invalid_request("unsupported image media type '" + data->mime +
                             "' (Bedrock takes image/png, image/jpeg, image/gif, image/webp)",
                         url_path, "unsupported_value");
}

std::optional<Error> Translator::file_part(const json::object& part, const std::string& path,
                                           json::array& blocks) {
  const std::string fpath = join(path, "file");
  const json::object* file = find_object(part, "file");
  if (file == nullptr) {
    return invalid_request("file part needs a file object", fpath,
                           find_set(part, "file") ? "invalid_type" : "missing_required_parameter");
  }
  if (find_set(*file, "file_id") != nullptr) {
    return invalid_request("file_id references cannot be sent to Bedrock; send file_data",
                           join(fpath, "file_id"), "unsupported_value");
  }
  auto file_data = find_string(*file, "file_data");
  if (!file_data) {
    return invalid_request(
        "file part needs file_data (a base64 data URL)", join(fpath, "file_data"),
        find_set(*file, "file_data") ? "invalid_type" : "missing_required_parameter");
  }
  std::string_view filename = find_string(*file, "filename").value_or("");
  const std::string data_path = join(fpath, "file_data");
  std::string_view b64;
  std::optional<std::string_view> doc_fmt;
  std::optional<std::string_view> img_fmt;
  if (auto data = parse_data_url(*file_data)) {
    b64 = data->data;
    img_fmt = image_format(data->mime);
    if (!img_fmt) doc_fmt = document_format(data->mime);
    if (!img_fmt && !doc_fmt) {
      return invalid_request("unsupported file media type '" + data->mime + "'", data_path,
                             "unsupported_value");
    }
  } else {
    bool image = false;
    auto fmt = format_from_filename(filename, &image);
    if (!fmt) {
      return invalid_request(
          "file_data must be a base64 data URL (data:application/pdf;base64,...)", data_path,
          "invalid_value");
    }
    b64 = *file_data;
    (image ? img_fmt : doc_fmt) = fmt;
  }
  if (!is_base64(b64)) {
    return invalid_request("file_data does not hold valid base64", data_path, "invalid_value");
  }
  if (img_fmt) {
    blocks.push_back(image_block(*img_fmt, b64));
  } else {
    blocks.push_back(document_block(*doc_fmt, b64, filename));
  }
  return std::nullopt;
}

std::optional<Error> Translator::user_content(const json::value& content, const std::string& path,
                                              json::array& blocks) {
  if (content.is_null()) return std::nullopt;
  if (content.is_string()) {
    if (!content.get_string().empty()) blocks.push_back(text_block(content.get_string()));
    return std::nullopt;
  }
  if (!content.is_array()) {
    return invalid_request("content must be a string or an array of parts", path, "invalid_type");
  }
  const auto& parts = content.get_array();
  for (size_t j = 0; j < parts.size(); ++j) {
    const std::string ppath = at(path, j);
    if (!parts[j].is_object()) {
      return invalid_request("content part must be an object", ppath, "invalid_type");
    }
    const auto& part = parts[j].get_object();
    auto type = find_string(part, "type");
    if (!type) {
      return invalid_request("content part needs a type", join(ppath, "type"),
                             "missing_required_parameter");
    }
    const size_t before = blocks.size();
    if (*type == "text") {
      auto text = find_string(part, "text");
      if (!text) {
        return invalid_request("text part needs a text string", join(ppath, "text"),
                               "invalid_type");
      }
      if (!text->empty()) blocks.push_back(text_block(*text));
    } else if (*type == "image_url") {
      if (auto err = media_part(part, ppath, false, blocks)) return err;
    } else if (*type == "file") {
      if (auto err = file_part(part, ppath, blocks)) return err;
    } else if (*type == "input_audio") {
      return invalid_request("audio input cannot be sent to Bedrock Converse", join(ppath, "type"),
                             "unsupported_value");
    } else {
      return invalid_request("unsupported content part type '" + std::string(*type) + "'",
                             join(ppath, "type"), "unsupported_value");
    }
    if (const auto* cc = find_object(part, "cache_control"); cc && blocks.size() > before) {
      blocks.push_back(cache_point(*cc));
    }
  }
  return std::nullopt;
}

std::optional<Error> Translator::system_message(const json::object& msg, const std::string& path) {
  const std::string cpath = join(path, "content");
  const json::value* content = find_set(msg, "content");
  const size_t before = system_.size();
  if (content == nullptr) {
    // Nothing to add.
  } else if (content->is_string()) {
    if (!content->get_string().empty()) system_.push_back(text_block(content->get_string()));
  } else if (content->is_array()) {
    const auto& parts = content->get_array();
    for (size_t j = 0; j < parts.size(); ++j) {
      const std::string ppath = at(cpath, j);
      const json::object* part = parts[j].is_object() ? &parts[j].get_object() : nullptr;
      auto type = part ? find_string(*part, "type") : std::nullopt;
      auto text = part ? find_string(*part, "text") : std::nullopt;
      if (!type || *type != "text" || !text) {
        return invalid_request("system and developer messages may hold text parts only", ppath,
                               "unsupported_value");
      }
      if (text->empty()) continue;
      system_.push_back(text_block(*text));
      if (const auto* cc = find_object(*part, "cache_control")) system_.push_back(cache_point(*cc));
    }
  } else {
    return invalid_request("content must be a string or an array of text parts", cpath,
                           "invalid_type");
  }
  if (const auto* cc = find_object(msg, "cache_control");
      cc && system_.size() > before && !is_block(system_.back(), "cachePoint")) {
    system_.push_back(cache_point(*cc));
  }
  return std::nullopt;
}

std::optional<Error> Translator::assistant_message(const json::object& msg, const std::string& path,
                                                   json::array& blocks) {
  // Signed reasoning from an earlier Bedrock/Anthropic reply goes first, as
  // Claude requires when extended thinking is combined with tool use.
  if (const json::value* tb = find_set(msg, "thinking_blocks")) {
    const std::string tpath = join(path, "thinking_blocks");
    if (!tb->is_array())
      return invalid_request("thinking_blocks must be an array", tpath, "invalid_type");
    const auto& arr = tb->get_array();
    for (size_t k = 0; k < arr.size(); ++k) {
      const std::string kpath = at(tpath, k);
      const json::object* b = arr[k].is_object() ? &arr[k].get_object() : nullptr;
      auto type = b ? find_string(*b, "type") : std::nullopt;
      json::object rc;
      if (type && *type == "thinking") {
        auto text = find_string(*b, "thinking");
        if (!text)
          return invalid_request("thinking block needs a thinking string", join(kpath, "thinking"),
                                 "invalid_type");
        json::object rt;
        rt["text"] = *text;
        if (auto sig = find_string(*b, "signature"); sig && !sig->empty()) rt["signature"] = *sig;
        rc["reasoningText"] = std::move(rt);
      } else if (type && *type == "redacted_thinking") {
        auto data = find_string(*b, "data");
        if (!data)
          return invalid_request("redacted_thinking block needs a data string", join(kpath, "data"),
                                 "invalid_type");
        rc["redactedContent"] = *data;
      } else {
        return invalid_request("thinking block type must be thinking or redacted_thinking",
                               join(kpath, "type"), "invalid_value");
      }
      json::object block;
      block["reasoningContent"] = std::move(rc);
      blocks.push_back(std::move(block));
    }
  }

  const std::string cpath = join(path, "content");
  if (const json::value* content = find_set(msg, "content")) {
    if (content->is_string()) {
      if (!content->get_string().empty()) blocks.push_back(text_block(content->get_string()));
    } else if (content->is_array()) {
      const auto& parts = content->get_array();
      for (size_t j = 0; j < parts.size(); ++j) {
        const std::string ppath = at(cpath, j);
        const json::object* part = parts[j].is_object() ? &parts[j].get_object() : nullptr;
        auto type = part ? find_string(*part, "type") : std::nullopt;
        std::optional<std::string_view> text;
        if (type && *type == "text") text = find_string(*part, "text");
        if (type && *type == "refusal") text = find_string(*part, "refusal");
        if (!text) {
          return invalid_request("assistant content parts must be text or refusal", ppath,
                                 "unsupported_value");
        }
        if (text->empty()) continue;
        blocks.push_back(text_block(*text));
        if (const auto* cc = find_object(*part, "cache_control"))
          blocks.push_back(cache_point(*cc));
      }
    } else {
      return invalid_request("content must be a string or an array of parts", cpath,
                             "invalid_type");
    }
  }

  if (const json::value* tcv = find_set(msg, "tool_calls")) {
    const std::string tpath = join(path, "tool_calls");
    if (!tcv->is_array())
      return invalid_request("tool_calls must be an array", tpath, "invalid_type");
    const auto& calls = tcv->get_array();
    for (size_t j = 0; j < calls.size(); ++j) {
      const std::string cp = at(tpath, j);
      if (!calls[j].is_object())
        return invalid_request("tool call must be an object", cp, "invalid_type");
      const auto& call = calls[j].get_object();
      auto id = find_string(call, "id");
      if (!id || id->empty()) {
        return invalid_request("tool call needs an id", join(cp, "id"),
                               "missing_required_parameter");
      }
      if (auto t = find_string(call, "type"); t && *t != "function") {
        return invalid_request("only function tool calls can be sent to Bedrock", join(cp, "type"),
                               "unsupported_value");
      }
      const json::object* fn = find_object(call, "function");
      auto name = fn ? find_string(*fn, "name") : std::nullopt;
      if (!name || name->empty()) {
        return invalid_request("tool call needs function.name", join(cp, "function.name"),
                               "missing_required_parameter");
      }
      const std::string apath = join(cp, "function.arguments");
      json::value input = json::object();
      const json::value* args = fn ? find_set(*fn, "arguments") : nullptr;
      if (args != nullptr && args->is_string()) {
        std::string_view s = args->get_string();
        if (s.find_first_not_of(" \t\r\n") != std::string_view::npos) {
          json::error_code ec;
          input = json::parse(s, ec);
          if (ec) {
            return invalid_request("function.arguments is not valid JSON: " + ec.message(), apath,
                                   "invalid_value");
          }
        }
      } else if (args != nullptr) {
        input = *args;  // some clients send the object itself
      }
      if (!input.is_object()) {
        return invalid_request("function.arguments must be a JSON object", apath, "invalid_value");
      }
      json::object tu;
      tu["toolUseId"] = *id;
      tu["name"] = *name;
      tu["input"] = std::move(input);
      json::object block;
      block["toolUse"] = std::move(tu);
      blocks.push_back(std::move(block));
      has_tool_blocks_ = true;
    }
  }
  if (find_set(msg, "function_call") != nullptr) {
    return invalid_request("legacy function_call is not supported; use tool_calls",
                           join(path, "function_call"), "unsupported_parameter");
  }
  return std::nullopt;
}

std::optional<Error> Translator::tool_message(const json::object& msg, const std::string& path,
                                              json::array& blocks) {
  auto id = find_string(msg, "tool_call_id");
  if (!id || id->empty()) {
    return invalid_request("tool message needs tool_call_id", join(path, "tool_call_id"),
                           "missing_required_parameter");
  }
  json::array content;
  const std::string cpath = join(path, "content");
  if (const json::value* c = find_set(msg, "content")) {
    if (c->is_string()) {
      if (!c->get_string().empty()) content.push_back(text_block(c->get_string()));
    } else if (c->is_array()) {
      const auto& parts = c->get_array();
      for (size_t j = 0; j < parts.size(); ++j) {
        const std::string ppath = at(cpath, j);
        const json::object* part = parts[j].is_object() ? &parts[j].get_object() : nullptr;
        auto type = part ? find_string(*part, "type") : std::nullopt;
        if (type && *type == "text") {
          auto text = find_string(*part, "text");
          if (!text)
            return invalid_request("text part needs a text string", join(ppath, "text"),
                                   "invalid_type");
          if (!text->empty()) content.push_back(text_block(*text));
        } else if (type && *type == "image_url") {
          if (auto err = media_part(*part, ppath, true, content)) return err;
        } else {
          return invalid_request("tool message parts must be text or image_url", ppath,
                                 "unsupported_value");
        }
      }
    } else {
      return invalid_request("content must be a string or an array of parts", cpath,
                             "invalid_type");
    }
  }
  json::object tr;
  tr["toolUseId"] = *id;
  tr["content"] = std::move(content);
  json::object block;
  block["toolResult"] = std::move(tr);
  blocks.push_back(std::move(block));
  has_tool_blocks_ = true;
  return std::nullopt;
}

std::optional<Error> Translator::messages(const json::array& msgs) {
  for (size_t i = 0; i < msgs.size(); ++i) {
    const std::string path = at("messages", i);
    if (!msgs[i].is_object())
      return invalid_request("message must be an object", path, "invalid_type");
    const auto& msg = msgs[i].get_object();
    auto role = find_string(msg, "role");
    if (!role) {
      return invalid_request("message needs a role", join(path, "role"),
                             find_set(msg, "role") ? "invalid_type" : "missing_required_parameter");
    }
    json::array blocks;
    std::string_view target;
    if (*role == "system" || *role == "developer") {
      if (auto err = system_message(msg, path)) return err;
      continue;
    }
    if (*role == "user") {
      const json::value* content = msg.if_contains("content");
      if (content != nullptr) {
        if (auto err = user_content(*content, join(path, "content"), blocks)) return err;
      }
      target = "user";
    } else if (*role == "assistant") {
      if (auto err = assistant_message(msg, path, blocks)) return err;
      target = "assistant";
    } else if (*role == "tool") {
      if (auto err = tool_message(msg, path, blocks)) return err;
      target = "user";
    } else if (*role == "function") {
      return invalid_request("legacy function messages are not supported; use tool messages",
                             join(path, "role"), "unsupported_parameter");
    } else {
      return invalid_request("unknown role '" + std::string(*role) + "'", join(path, "role"),
                             "invalid_value");
    }
    if (const auto* cc = find_object(msg, "cache_control");
        cc && !blocks.empty() && !is_block(blocks.back(), "cachePoint")) {
      blocks.push_back(cache_point(*cc));
    }
    push_turn(target, std::move(blocks));
  }
  // Claude (and so Bedrock) wants tool results at the start of a user turn;
  // a cachePoint stays with the block before it.
  for (auto& turn : turns_) {
    if (turn.role != "user") continue;
    json::array results;
    json::array rest;
    bool last_was_result = false;
    for (auto& b : turn.content) {
      const bool cp = is_block(b, "cachePoint");
      const bool to_results = cp ? last_was_result : is_block(b, "toolResult");
      if (!cp) last_was_result = to_results;
      (to_results ? results : rest).push_back(std::move(b));
    }
    for (auto& b : rest) results.push_back(std::move(b));
    turn.content = std::move(results);
  }
  if (turns_.empty()) {
    return invalid_request("messages must contain at least one non-empty user or assistant message",
                           "messages", "invalid_value");
  }
  return std::nullopt;
}

std::optional<Error> Translator::tools(const json::object& body, json::object& out) {
  json::array specs;
  if (const json::value* tv = find_set(body, "tools")) {
    if (!tv->is_array()) return invalid_request("tools must be an array", "tools", "invalid_type");
    const auto& arr = tv->get_array();
    for (size_t j = 0; j < arr.size(); ++j) {
      const std::string tp = at("tools", j);
      if (!arr[j].is_object()) return invalid_request("tool must be an object", tp, "invalid_type");
      const auto& tool = arr[j].get_object();
      auto type = find_string(tool, "type");
      if (type && *type != "function") {
        return invalid_request("Bedrock Converse takes function tools only", join(tp, "type"),
                               "unsupported_value");
      }
      const json::object* fn = find_object(tool, "function");
      auto name = fn ? find_string(*fn, "name") : std::nullopt;
      if (!name || name->empty()) {
        return invalid_request("tool needs function.name", join(tp, "function.name"),
                               "missing_required_parameter");
      }
      json::object spec;
      spec["name"] = *name;
      if (auto d = find_string(*fn, "description"); d && !d->empty()) spec["description"] = *d;
      json::object schema;
      if (const json::value* p = find_set(*fn, "parameters")) {
        if (!p->is_object())
          return invalid_request("function.parameters must be an object",
                                 join(tp, "function.parameters"), "invalid_type");
        schema["json"] = *p;
      } else {
        json::object empty;
        empty["type"] = "object";
        empty["properties"] = json::object();
        schema["json"] = std::move(empty);
      }
      spec["inputSchema"] = std::move(schema);
      if (const json::value* strict = find_set(*fn, "strict");
          strict && strict->is_bool() && strict->get_bool()) {
        spec["strict"] = true;
      }
      json::object entry;
      entry["toolSpec"] = std::move(spec);
      specs.push_back(std::move(entry));
      if (const auto* cc = find_object(tool, "cache_control")) specs.push_back(cache_point(*cc));
    }
  }

  const json::value* choice = find_set(body, "tool_choice");
  bool none = false;
  json::object tool_choice;
  if (choice != nullptr) {
    if (choice->is_string() && choice->get_string() == "auto") {
      tool_choice["auto"] = json::object();
    } else if (choice->is_string() && choice->get_string() == "required") {
      tool_choice["any"] = json::object();
    } else if (choice->is_string() && choice->get_string() == "none") {
      none = true;
    } else if (choice->is_object()) {
      const auto& c = choice->get_object();
      auto type = find_string(c, "type");
      const json::object* fn = find_object(c, "function");
      auto name = fn ? find_string(*fn, "name") : std::nullopt;
      if (!type || *type != "function" || !name || name->empty()) {
        return invalid_request(
            "tool_choice object must be {\"type\":\"function\",\"function\":{\"name\":...}}",
            "tool_choice", "invalid_value");
      }
      json::object named;
      named["name"] = *name;
      tool_choice["tool"] = std::move(named);
    } else {
      return invalid_request("tool_choice must be auto, none, required or a function choice",
                             "tool_choice", "invalid_value");
    }
  }

  if (specs.empty() || none) {
    // Converse requires toolConfig whenever the conversation holds toolUse or
    // toolResult blocks, and it has no way to say "do not call a tool".
    if (has_tool_blocks_) {
      if (none && !specs.empty()) {
        return invalid_request(
            "tool_choice \"none\" cannot be honoured on Bedrock when the conversation contains "
            "tool calls (Converse needs the tools to read them and has no \"none\" choice)",
            "tool_choice", "unsupported_value");
      }
      return invalid_request(
          "Bedrock requires the tools to be sent when the conversation contains tool calls or "
          "tool results",
          "tools", "missing_required_parameter");
    }
    return std::nullopt;  // tool_choice / parallel_tool_calls without tools are dropped
  }
  if (const json::value* ptc = find_set(body, "parallel_tool_calls")) {
    if (!ptc->is_bool())
      return invalid_request("parallel_tool_calls must be a boolean", "parallel_tool_calls",
                             "invalid_type");
    if (!ptc->get_bool()) {
      return invalid_request("Bedrock Converse cannot disable parallel tool calls",
                             "parallel_tool_calls", "unsupported_value");
    }
  }
  json::object config;
  config["tools"] = std::move(specs);
  if (!tool_choice.empty()) config["toolChoice"] = std::move(tool_choice);
  out["toolConfig"] = std::move(config);
  return std::nullopt;
}

std::optional<Error> Translator::inference(const json::object& body, json::object& out) {
  json::object cfg;
  const char* max_key =
      find_set(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (const json::value* v = find_set(body, max_key)) {
    auto n = as_int(*v);
    if (!n)
      return invalid_request(std::string(max_key) + " must be an integer", max_key, "invalid_type");
    if (*n < 1)
      return invalid_request(std::string(max_key) + " must be at least 1", max_key,
                             "invalid_value");
    cfg["maxTokens"] = *n;
  }
  for (auto [from, to] :
       {std::pair<const char*, const char*>{"temperature", "temperature"}, {"top_p", "topP"}}) {
    if (const json::value* v = find_set(body, from)) {
      if (!v->is_number())
        return invalid_request(std::string(from) + " must be a number", from, "invalid_type");
      cfg[to] = *v;
    }
  }
  if (const json::value* v = find_set(body, "stop")) {
    json::array seqs;
    if (v->is_string()) {
      seqs.push_back(v->get_string());
    } else if (v->is_array()) {
      for (size_t i = 0; i < v->get_array().size(); ++i) {
        const auto& s = v->get_array()[i];
        if (!s.is_string())
          return invalid_request("stop sequences must be strings", at("stop", i), "invalid_type");
        seqs.push_back(s);
      }
    } else {
      return invalid_request("stop must be a string or an array of strings", "stop",
                             "invalid_type");
    }
    if (!seqs.empty()) cfg["stopSequences"] = std::move(seqs);
  }
  if (!cfg.empty()) out["inferenceConfig"] = std::move(cfg);

  // Model-specific fields AWS documents for Converse's additionalModelRequestFields
  // (Anthropic Claude: top_k, extended thinking).
  if (const json::value* v = find_set(body, "top_k")) {
    if (!as_int(*v)) return invalid_request("top_k must be an integer", "top_k", "invalid_type");
    additional_fields_["top_k"] = *v;
  }
  if (const json::value* v = find_set(body, "thinking")) {
    if (!v->is_object())
      return invalid_request("thinking must be an object", "thinking", "invalid_type");
    additional_fields_["thinking"] = *v;
  }
  return std::nullopt;
}

std::optional<Error> Translator::response_format(const json::value& v, json::object& out) {
  if (!v.is_object())
    return invalid_request("response_format must be an object", "response_format", "invalid_type");
  const auto& rf = v.get_object();
  auto type = find_string(rf, "type");
  if (type && *type == "text") return std::nullopt;
  if (type && *type == "json_schema") {
    const json::object* js = find_object(rf, "json_schema");
    const json::object* schema = js ? find_object(*js, "schema") : nullptr;
    if (schema == nullptr) {
      return invalid_request("response_format.json_schema.schema must be an object",
                             "response_format.json_schema.schema", "missing_required_parameter");
    }
    // Bedrock structured output: outputConfig.textFormat, the schema as a string.
    json::object def;
    def["schema"] = json::serialize(*schema);
    if (auto name = find_string(*js, "name"); name && !name->empty()) def["name"] = *name;
    if (auto d = find_string(*js, "description"); d && !d->empty()) def["description"] = *d;
    json::object structure;
    structure["jsonSchema"] = std::move(def);
    json::object fmt;
    fmt["type"] = "json_schema";
    fmt["structure"] = std::move(structure);
    json::object oc;
    oc["textFormat"] = std::move(fmt);
    out["outputConfig"] = std::move(oc);
    return std::nullopt;
  }
  if (type && *type == "json_object") {
    return invalid_request("Bedrock has no schema-less JSON mode; use response_format json_schema",
                           "response_format.type", "unsupported_value");
  }
  return invalid_request("response_format.type must be text or json_schema", "response_format.type",
                         "invalid_value");
}

// Fields Bedrock cannot honour and whose loss would change the answer.
std::optional<Error> Translator::rejections(const json::object& body) {
  auto unsupported = [](std::string_view field, std::string why) {
    return invalid_request(std::move(why), std::string(field), "unsupported_value");
  };
  if (const json::value* v = find_set(body, "n")) {
    auto n = as_int(*v);
    if (!n) return invalid_request("n must be an integer", "n", "invalid_type");
    if (*n != 1) return unsupported("n", "Bedrock returns one choice; n must be 1");
  }
  if (const json::value* v = find_set(body, "logprobs"); v && !(v->is_bool() && !v->get_bool())) {
    return unsupported("logprobs", "Bedrock Converse does not return log probabilities");
  }
  if (const json::value* v = find_set(body, "top_logprobs"); v && as_int(*v).value_or(1) != 0) {
    return unsupported("top_logprobs", "Bedrock Converse does not return log probabilities");
  }
  for (const char* f : {"presence_penalty", "frequency_penalty"}) {
    if (const json::value* v = find_set(body, f);
        v && !(v->is_number() && v->to_number<double>() == 0)) {
      return unsupported(f, std::string("Bedrock Converse has no ") + f);
    }
  }
  if (const json::value* v = find_set(body, "logit_bias");
      v && !(v->is_object() && v->get_object().empty())) {
    return unsupported("logit_bias", "Bedrock Converse has no logit_bias");
  }
  if (const json::value* v = find_set(body, "modalities")) {
    const bool text_only = v->is_array() && v->get_array().size() == 1 &&
                           v->get_array()[0].is_string() &&
                           v->get_array()[0].get_string() == "text";
    if (!text_only) return unsupported("modalities", "Bedrock Converse produces text only");
  }
  if (find_set(body, "audio") != nullptr) {
    return unsupported("audio", "Bedrock Converse cannot produce audio");
  }
  if (find_set(body, "web_search_options") != nullptr) {
    return unsupported("web_search_options", "Bedrock Converse has no built-in web search");
  }
  if (const json::value* v = find_set(body, "reasoning_effort");
      v && !(v->is_string() && v->get_string() == "none")) {
    return unsupported(
        "reasoning_effort",
        "reasoning_effort is not translated for Bedrock; send the model's own "
        "field, e.g. thinking: {\"type\":\"enabled\",\"budget_tokens\":N} for Claude");
  }
  if (const json::value* v = find_set(body, "verbosity");
      v && !(v->is_string() && v->get_string() == "medium")) {
    return unsupported("verbosity", "Bedrock Converse has no verbosity setting");
  }
  for (const char* f : {"functions", "function_call"}) {
    if (find_set(body, f) != nullptr) {
      return invalid_request(std::string("legacy ") + f + " is not supported; use tools", f,
                             "unsupported_parameter");
    }
  }
  return std::nullopt;
}

std::optional<Error> Translator::run(const json::object& body, json::object& out) {
  const json::value* msgs = find_set(body, "messages");
  if (msgs == nullptr) {
    return invalid_request("messages is required", "messages", "missing_required_parameter");
  }
  if (!msgs->is_array())
    return invalid_request("messages must be an array", "messages", "invalid_type");
  if (auto err = rejections(body)) return err;
  if (auto err = messages(msgs->get_array())) return err;

  json::array converse_messages;
  for (auto& turn : turns_) {
    json::object m;
    m["role"] = turn.role;
    m["content"] = std::move(turn.content);
    converse_messages.push_back(std::move(m));
  }
  out["messages"] = std::move(converse_messages);
  if (!system_.empty()) out["system"] = std::move(system_);
  if (auto err = inference(body, out)) return err;
  if (auto err = tools(body, out)) return err;
  if (const json::value* rf = find_set(body, "response_format")) {
    if (auto err = response_format(*rf, out)) return err;
  }
  if (auto tier = find_string(body, "service_tier");
      tier && (*tier == "default" || *tier == "flex" || *tier == "priority")) {
    json::object st;
    st["type"] = *tier;
    out["serviceTier"] = std::move(st);
  }

  // Bedrock-native fields pass through; a native value wins over a translated one.
  if (const json::object* amrf = find_object(body, "additionalModelRequestFields")) {
    for (const auto& kv : *amrf) additional_fields_[kv.key()] = kv.value();
  }
  if (!additional_fields_.empty())
    out["additionalModelRequestFields"] = std::move(additional_fields_);
  for (const char* f : {"guardrailConfig", "additionalModelResponseFieldPaths", "performanceConfig",
                        "requestMetadata", "outputConfig", "serviceTier"}) {
    if (const json::value* v = find_set(body, f)) out[f] = *v;
  }
  return std::nullopt;
}

}  // namespace

Result<json::object> openai_to_converse_request(const json::object& openai_body) {
  Translator t;
  json::object out;
  if (auto err = t.run(openai_body, out)) return std::move(*err);
  return out;
}

}  // namespace switchyard::bedrock
