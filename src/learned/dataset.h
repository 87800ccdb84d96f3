#pragma once
// Routing data: per-query, per-model quality labels and costs, loaded from the
// JSONL formats people already have. Used by the trainer and evaluator only
// (never on the request path).
//
// Accepted row shapes (one JSON object per line):
//   compact  {"query"|"prompt": text, "quality": {model: score|null},
//             "cost_usd": {model: USD} | "price_per_mtok": {model: {"in","out"}},
//             "embedding": [floats]?, "eval_name"|"task_name": group?}
//   long     LLMRouter routing data, one row per query x model:
//            {"query", "model_name", "performance", "input_tokens"?, "output_tokens"?,
//             "cost"|"cost_usd"?, "embedding_id"?, "task_name"?}
// `query`/`prompt` may also be an array of strings or of chat messages.
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace switchyard::learned {

// USD per million tokens.
struct Price {
  double input_per_mtok = 0;
  double output_per_mtok = 0;
};

// The cost estimate the data README prescribes when only prices are known:
// input tokens ~= characters / 4, a fixed 256 output tokens.
inline constexpr double kCharsPerToken = 4.0;
inline constexpr double kAssumedOutputTokens = 256.0;

struct Dataset {
  std::string path;
  std::string sha256;  // of the file bytes
  std::vector<std::string> models;
  std::vector<std::string> prompts;
  std::vector<std::string> groups;             // task name, may be empty
  std::vector<std::vector<float>> embeddings;  // per row, empty when absent
  std::vector<float> quality;                  // rows x models, NaN = missing label
  std::vector<float> cost_usd;                 // rows x models, NaN = unknown
  std::vector<float> input_tokens;             // rows x models, NaN = unknown
  std::vector<float> output_tokens;            // rows x models, NaN = unknown
  std::map<std::string, Price> prices;         // per model, from rows or a candidates file

  size_t rows() const { return prompts.size(); }
  size_t model_index(std::string_view name) const;  // models.size() when absent
  float q(size_t row, size_t model) const { return quality[row * models.size() + model]; }
  float cost(size_t row, size_t model) const { return cost_usd[row * models.size() + model]; }
};

struct Candidate {
  std::string name;
  std::optional<Price> price;
};

// A candidates file: the seed's llm_candidates.json ({name: {cost_per_1k_tokens:
// {input, output}}}), LLMRouter's llm_data ({name: {input_price, output_price}}
// per 1M tokens) or LiteLLM-style {input_cost_per_token, output_cost_per_token}.
Result<std::vector<Candidate>> load_candidates(const std::string& path);

Result<Dataset> load_dataset(const std::string& path);
Result<Dataset> parse_dataset(std::string_view jsonl, std::string path_for_errors);

// Fills every unknown cost cell: tokens x price when tokens are known, else the
// characters/4 + 256-output-token estimate from the model's price. Cells whose
// model has no price stay NaN. `candidates` prices are used for models the data
// itself gives no price for.
void resolve_costs(Dataset& data, const std::vector<Candidate>& candidates);

// Keeps only `models` (in that order), dropping other columns.
Result<Dataset> select_models(const Dataset& data, const std::vector<std::string>& models);

// Keeps rows `rows` (in that order).
Dataset select_rows(const Dataset& data, const std::vector<size_t>& rows);

// Characters as the cost formulas count them: Unicode code points of UTF-8 text.
size_t count_chars(std::string_view text);

// Query inputs for `switchyard route`: the prompt text and optional embedding per line.
struct QueryRow {
  std::string prompt;
  std::vector<float> embedding;
};
Result<std::vector<QueryRow>> parse_queries(std::string_view jsonl);

// SHA-256 of a file, hex. Empty string when unreadable.
std::string file_sha256(const std::string& path);
Result<std::string> read_whole_file(const std::string& path);

}  // namespace switchyard::learned
