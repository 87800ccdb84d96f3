#include "learned/dataset.h"

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>

#include "learned/artefact.h"

namespace switchyard::learned {

namespace json = boost::json;

namespace {

// The non-empty lines of a JSONL text, trailing '\r' and spaces trimmed,
// with their 1-based line numbers (for error messages).
class JsonlLines {
 public:
  explicit JsonlLines(std::string_view text) : text_(text) {}
  bool next(std::string_view& line, size_t& line_no) {
    while (pos_ < text_.size()) {
      size_t end = text_.find('\n', pos_);
      if (end == std::string_view::npos) end = text_.size();
      line = text_.substr(pos_, end - pos_);
      pos_ = end + 1;
      ++line_no_;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
      if (line.empty()) continue;
      line_no = line_no_;
      return true;
    }
    return false;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t line_no_ = 0;
};

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Error data_error(const std::string& where, const std::string& what) {
  return Error::make(ErrorKind::kInvalidRequest, where + ": " + what, std::string("data_invalid"));
}

// Text of a chat message's content: a string or an array of {type:text,text}.
void append_content(const json::value& content, std::string& out) {
  if (content.is_string()) {
    out += content.as_string();
  } else if (content.is_array()) {
    for (const auto& part : content.as_array()) {
      if (part.is_string()) {
        out += part.as_string();
      } else if (part.is_object()) {
        if (const auto* t = part.as_object().if_contains("text"); t && t->is_string()) {
          out += t->as_string();
        }
      }
    }
  }
}

// `query`/`prompt`: a string, an array of strings (joined by a blank line, as
// the RouterBench prompt lists are) or an array of chat messages.
std::optional<std::string> prompt_of(const json::object& row) {
  const json::value* v = row.if_contains("query");
  if (v == nullptr) v = row.if_contains("prompt");
  if (v == nullptr) v = row.if_contains("messages");
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return std::string(v->as_string());
  if (!v->is_array()) return std::nullopt;
  std::string out;
  for (const auto& item : v->as_array()) {
    if (!out.empty()) out += "\n\n";
    if (item.is_string()) {
      out += item.as_string();
    } else if (item.is_object()) {
      if (const auto* c = item.as_object().if_contains("content")) append_content(*c, out);
    }
  }
  return out;
}

std::string group_of(const json::object& row) {
  for (const char* key : {"eval_name", "task_name", "task"}) {
    if (const auto* v = row.if_contains(key); v && v->is_string())
      return std::string(v->as_string());
  }
  return {};
}

std::optional<double> number_of(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return v->to_number<double>();
  if (v->is_bool()) return v->as_bool() ? 1.0 : 0.0;
  return std::nullopt;
}

Result<std::vector<float>> embedding_of(const json::object& row, const std::string& where) {
  std::vector<float> out;
  const json::value* v = row.if_contains("embedding");
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return data_error(where, "embedding is not an array");
  out.reserve(v->as_array().size());
  for (const auto& x : v->as_array()) {
    if (!x.is_number()) return data_error(where, "embedding holds a non-number");
    out.push_back(static_cast<float>(x.to_number<double>()));
  }
  return out;
}

std::optional<Price> price_of(const json::object& o) {
  if (const auto* per_1k = o.if_contains("cost_per_1k_tokens"); per_1k && per_1k->is_object()) {
    auto in = number_of(per_1k->as_object().if_contains("input"));
    auto out = number_of(per_1k->as_object().if_contains("output"));
    if (in || out) return Price{in.value_or(0) * 1000.0, out.value_or(0) * 1000.0};
  }
  {
    auto in = number_of(o.if_contains("input_price"));
    auto out = number_of(o.if_contains("output_price"));
    if (in || out) return Price{in.value_or(0), out.value_or(0)};
  }
  {
    auto in = number_of(o.if_contains("input_cost_per_token"));
    auto out = number_of(o.if_contains("output_cost_per_token"));
    if (in || out) return Price{in.value_or(0) * 1e6, out.value_or(0) * 1e6};
  }
  {
    auto in = number_of(o.if_contains("in"));
    auto out = number_of(o.if_contains("out"));
    if (in || out) return Price{in.value_or(0), out.value_or(0)};
  }
  return std::nullopt;
}

// Accumulates rows before the model list is final.
struct RowBuilder {
  std::string prompt;
  std::string group;
  std::vector<float> embedding;
  std::unordered_map<std::string, float> quality, cost, in_tokens, out_tokens;
};

}  // namespace

size_t Dataset::model_index(std::string_view name) const {
  for (size_t i = 0; i < models.size(); ++i) {
    if (models[i] == name) return i;
  }
  return models.size();
}

size_t count_chars(std::string_view text) {
  // Code points = bytes that are not UTF-8 continuation bytes (10xxxxxx). It
  // runs on every routing decision, so 8 bytes at a time: a continuation byte
  // has bit 7 set and bit 6 clear; (w >> 7) & 0x01..01 leaves one 0/1 per byte,
  // summed into per-byte counters (at most 255 rounds before they are folded).
  constexpr uint64_t kLow = 0x0101010101010101ULL;
  size_t continuation = 0;
  size_t i = 0;
  while (i + 8 <= text.size()) {
    uint64_t lanes = 0;
    for (int round = 0; round < 255 && i + 8 <= text.size(); ++round, i += 8) {
      uint64_t w;
      std::memcpy(&w, text.data() + i, 8);
      lanes += ((w & ~(w << 1)) >> 7) & kLow;
    }
    // Sum of the eight byte counters, each <= 255: fold pairs into wider lanes.
    lanes = (lanes & 0x00FF00FF00FF00FFULL) + ((lanes >> 8) & 0x00FF00FF00FF00FFULL);
    lanes = (lanes & 0x0000FFFF0000FFFFULL) + ((lanes >> 16) & 0x0000FFFF0000FFFFULL);
    continuation += (lanes & 0xFFFFFFFFULL) + (lanes >> 32);
  }
  for (; i < text.size(); ++i) continuation += (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80;
  return text.size() - continuation;
}

Result<std::string> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error::make(ErrorKind::kNotFound, "cannot open " + path + ": " + std::strerror(errno),
                       std::string("file_unreadable"));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::move(buffer).str();
}

std::string file_sha256(const std::string& path) {
  auto bytes = read_whole_file(path);
  return bytes ? sha256_hex(*bytes) : std::string();
}

Result<std::vector<Candidate>> load_candidates(const std::string& path) {
  auto text = read_whole_file(path);
  if (!text) return text.error();
  boost::system::error_code ec;
  json::value doc = json::parse(*text, ec);
  if (ec) return data_error(path, "not JSON: " + ec.message());
  std::vector<Candidate> out;
  auto add = [&](std::string name, const json::object& o) {
    out.push_back(Candidate{std::move(name), price_of(o)});
  };
  if (doc.is_object()) {
    for (const auto& [name, value] : doc.as_object()) {
      if (value.is_object()) add(std::string(name), value.as_object());
    }
  } else if (doc.is_array()) {
    // A list of {name|model_name, ...price fields}.
    for (const auto& value : doc.as_array()) {
      if (!value.is_object()) continue;
      const auto& o = value.as_object();
      std::string name = json_string_or(o, "name", json_string_or(o, "model_name", ""));
      if (!name.empty()) add(std::move(name), o);
    }
  }
  if (out.empty()) return data_error(path, "no candidate models found");
  return out;
}

Result<Dataset> load_dataset(const std::string& path) {
  auto text = read_whole_file(path);
  if (!text) return text.error();
  auto data = parse_dataset(*text, path);
  if (data) data->sha256 = sha256_hex(*text);
  return data;
}

Result<Dataset> parse_dataset(std::string_view jsonl, std::string path) {
  std::vector<RowBuilder> rows;
  std::unordered_map<std::string, size_t> long_key_to_row;
  std::vector<std::string> models;
  std::unordered_map<std::string, size_t> model_seen;
  std::map<std::string, Price> prices;
  auto note_model = [&](const std::string& m) {
    if (model_seen.emplace(m, models.size()).second) models.push_back(m);
  };

  JsonlLines lines(jsonl);
  std::string_view line;
  size_t line_no = 0;
  while (lines.next(line, line_no)) {
    const std::string where = path + ":" + std::to_string(line_no);
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) return data_error(where, "not a JSON object");
    const json::object& row = v.as_object();
    auto prompt = prompt_of(row);
    if (!prompt) return data_error(where, "no `query` or `prompt` text");
    auto embedding = embedding_of(row, where);
    if (!embedding) return embedding.error();

    if (const auto* model_name = row.if_contains("model_name")) {
      // Long format: one row per (query, model).
      if (!model_name->is_string()) return data_error(where, "model_name is not a string");
      const std::string model(model_name->as_string());
      std::string key;
      if (const auto* id = row.if_contains("embedding_id"); id && id->is_number()) {
        key = "#" + std::to_string(id->to_number<int64_t>());
      } else {
        key = group_of(row) + '\x1f' + *prompt + '\x1f' + json_string_or(row, "ground_truth", "");
      }
      auto [it, inserted] = long_key_to_row.emplace(key, rows.size());
      if (inserted) {
        rows.push_back(RowBuilder{*prompt, group_of(row), std::move(*embedding), {}, {}, {}, {}});
      }
      RowBuilder& r = rows[it->second];
      note_model(model);
      auto perf = number_of(row.if_contains("performance"));
      if (!perf) perf = number_of(row.if_contains("quality"));
      r.quality[model] = perf ? static_cast<float>(*perf) : kNaN;
      auto cost = number_of(row.if_contains("cost_usd"));
      if (!cost) cost = number_of(row.if_contains("cost"));
      if (cost) r.cost[model] = static_cast<float>(*cost);
      auto in_tokens = number_of(row.if_contains("input_tokens"));
      auto out_tokens = number_of(row.if_contains("output_tokens"));
      if (in_tokens) r.in_tokens[model] = static_cast<float>(*in_tokens);
      if (out_tokens) r.out_tokens[model] = static_cast<float>(*out_tokens);
      if (auto p = price_of(row); p && (row.contains("input_price") || row.contains("in"))) {
        prices[model] = *p;
      }
      continue;
    }

    const json::value* quality = row.if_contains("quality");
    if (quality == nullptr) quality = row.if_contains("scores");
    if (quality == nullptr || !quality->is_object()) {
      return data_error(where,
                        "no `quality` object (compact format) or `model_name` (long format)");
    }
    RowBuilder r{*prompt, group_of(row), std::move(*embedding), {}, {}, {}, {}};
    for (const auto& [name, value] : quality->as_object()) {
      const std::string model(name);
      note_model(model);
      auto q = number_of(&value);
      r.quality[model] = q ? static_cast<float>(*q) : kNaN;
    }
    for (const char* key : {"cost_usd", "cost"}) {
      const json::value* costs = row.if_contains(key);
      if (costs == nullptr || !costs->is_object()) continue;
      for (const auto& [name, value] : costs->as_object()) {
        if (auto c = number_of(&value)) r.cost[std::string(name)] = static_cast<float>(*c);
      }
      break;
    }
    if (const auto* p = row.if_contains("price_per_mtok"); p && p->is_object()) {
      for (const auto& [name, value] : p->as_object()) {
        if (!value.is_object()) continue;
        if (auto price = price_of(value.as_object())) prices[std::string(name)] = *price;
      }
    }
    rows.push_back(std::move(r));
  }
  if (rows.empty()) return data_error(path, "no rows");
  if (models.empty()) return data_error(path, "no models");

  Dataset data;
  data.path = std::move(path);
  data.models = models;
  data.prices = std::move(prices);
  const size_t m = models.size();
  data.quality.assign(rows.size() * m, kNaN);
  data.cost_usd.assign(rows.size() * m, kNaN);
  data.input_tokens.assign(rows.size() * m, kNaN);
  data.output_tokens.assign(rows.size() * m, kNaN);
  for (size_t i = 0; i < rows.size(); ++i) {
    RowBuilder& r = rows[i];
    for (size_t j = 0; j < m; ++j) {
      const std::string& name = models[j];
      if (auto it = r.quality.find(name); it != r.quality.end())
        data.quality[i * m + j] = it->second;
      if (auto it = r.cost.find(name); it != r.cost.end()) data.cost_usd[i * m + j] = it->second;
      if (auto it = r.in_tokens.find(name); it != r.in_tokens.end()) {
        data.input_tokens[i * m + j] = it->second;
      }
      if (auto it = r.out_tokens.find(name); it != r.out_tokens.end()) {
        data.output_tokens[i * m + j] = it->second;
      }
    }
    data.prompts.push_back(std::move(r.prompt));
    data.groups.push_back(std::move(r.group));
    data.embeddings.push_back(std::move(r.embedding));
  }
  return data;
}

void resolve_costs(Dataset& data, const std::vector<Candidate>& candidates) {
  for (const auto& c : candidates) {
    if (c.price && data.prices.count(c.name) == 0) data.prices[c.name] = *c.price;
  }
  const size_t m = data.models.size();
  for (size_t j = 0; j < m; ++j) {
    auto it = data.prices.find(data.models[j]);
    if (it == data.prices.end()) continue;
    const Price& p = it->second;
    for (size_t i = 0; i < data.rows(); ++i) {
      float& cell = data.cost_usd[i * m + j];
      if (!std::isnan(cell)) continue;
      double in_tokens = data.input_tokens[i * m + j];
      double out_tokens = data.output_tokens[i * m + j];
      if (std::isnan(in_tokens))
        in_tokens = static_cast<double>(count_chars(data.prompts[i])) / kCharsPerToken;
      if (std::isnan(out_tokens)) out_tokens = kAssumedOutputTokens;
      cell =
          static_cast<float>((in_tokens * p.input_per_mtok + out_tokens * p.output_per_mtok) / 1e6);
    }
  }
}

Result<Dataset> select_models(const Dataset& data, const std::vector<std::string>& models) {
  std::vector<size_t> columns;
  for (const auto& name : models) {
    const size_t j = data.model_index(name);
    if (j == data.models.size()) {
      return data_error(data.path, "model '" + name + "' has no labels in the data");
    }
    columns.push_back(j);
  }
  Dataset out = data;
  out.models = models;
  const size_t m_old = data.models.size(), m_new = models.size();
  auto pick = [&](const std::vector<float>& src, std::vector<float>& dst) {
    dst.assign(data.rows() * m_new, kNaN);
    for (size_t i = 0; i < data.rows(); ++i) {
      for (size_t k = 0; k < m_new; ++k) dst[i * m_new + k] = src[i * m_old + columns[k]];
    }
  };
  pick(data.quality, out.quality);
  pick(data.cost_usd, out.cost_usd);
  pick(data.input_tokens, out.input_tokens);
  pick(data.output_tokens, out.output_tokens);
  return out;
}

Dataset select_rows(const Dataset& data, const std::vector<size_t>& rows) {
  Dataset out;
  out.path = data.path;
  out.sha256 = data.sha256;
  out.models = data.models;
  out.prices = data.prices;
  const size_t m = data.models.size();
  auto pick = [&](const std::vector<float>& src, std::vector<float>& dst) {
    dst.reserve(rows.size() * m);
    for (size_t r : rows) dst.insert(dst.end(), src.begin() + r * m, src.begin() + (r + 1) * m);
  };
  pick(data.quality, out.quality);
  pick(data.cost_usd, out.cost_usd);
  pick(data.input_tokens, out.input_tokens);
  pick(data.output_tokens, out.output_tokens);
  for (size_t r : rows) {
    out.prompts.push_back(data.prompts[r]);
    out.groups.push_back(data.groups[r]);
    out.embeddings.push_back(data.embeddings[r]);
  }
  return out;
}

Result<std::vector<QueryRow>> parse_queries(std::string_view jsonl) {
  std::vector<QueryRow> out;
  JsonlLines lines(jsonl);
  std::string_view line;
  size_t line_no = 0;
  while (lines.next(line, line_no)) {
    const std::string where = "input line " + std::to_string(line_no);
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) return data_error(where, "not a JSON object");
    auto prompt = prompt_of(v.as_object());
    if (!prompt) return data_error(where, "no `query` or `prompt` text");
    auto embedding = embedding_of(v.as_object(), where);
    if (!embedding) return embedding.error();
    out.push_back(QueryRow{std::move(*prompt), std::move(*embedding)});
  }
  return out;
}

}  // namespace switchyard::learned
