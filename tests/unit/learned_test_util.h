#pragma once
// Shared fixtures for the learned-routing unit tests: a synthetic routing data
// set whose right answers are known by construction.
//
//   models: "cheap" ($0.001/query), "coder" ($0.01), "big" ($0.05)
//   code questions:  coder and big answer, cheap does not
//   chat questions:  cheap and big answer, coder does not
//   math questions:  only big answers
// So at a small cost weight the right picks are code->coder, chat->cheap,
// math->big; at cost weight 0 with ties broken by cost the same; at a huge cost
// weight everything goes to cheap.
#include <cmath>
#include <string>
#include <vector>

#include "learned/dataset.h"
#include "learned/train_common.h"

namespace switchyard::learned::testing {

enum class Topic { kCode, kChat, kMath };

inline const std::vector<std::string>& synthetic_models() {
  static const std::vector<std::string> models = {"cheap", "coder", "big"};
  return models;
}

inline std::string synthetic_prompt(Topic topic, Rng& rng) {
  static const char* nouns[] = {"list",   "tree",  "graph",  "string", "table", "queue",
                                "matrix", "array", "record", "stack",  "map",   "heap"};
  static const char* names[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"};
  static const char* things[] = {"weekend", "garden", "movie", "holiday", "dinner", "concert"};
  const char* noun = nouns[rng.below(12)];
  switch (topic) {
    case Topic::kCode:
      return std::string("write a python function that sorts the ") + noun +
             " and returns code with a unit test for the " + nouns[rng.below(12)];
    case Topic::kChat:
      return std::string("hi ") + names[rng.below(8)] + ", how was your " + things[rng.below(6)] +
             "? tell me about the " + things[rng.below(6)] + " please";
    case Topic::kMath:
      return "compute the integral of " + std::to_string(2 + rng.below(9)) + " x squared plus " +
             std::to_string(1 + rng.below(20)) + " dx and simplify the sum";
  }
  return {};
}

inline std::vector<float> synthetic_quality(Topic topic) {
  switch (topic) {
    case Topic::kCode:
      return {0, 1, 1};
    case Topic::kChat:
      return {1, 0, 1};
    case Topic::kMath:
      return {0, 0, 1};
  }
  return {};
}

inline const std::vector<float>& synthetic_costs() {
  static const std::vector<float> costs = {0.001f, 0.01f, 0.05f};
  return costs;
}

// `per_topic` rows of each topic, interleaved.
inline Dataset synthetic_dataset(size_t per_topic, uint64_t seed) {
  Rng rng(seed);
  Dataset d;
  d.path = "synthetic";
  d.sha256 = "synthetic";
  d.models = synthetic_models();
  for (size_t i = 0; i < per_topic; ++i) {
    for (Topic t : {Topic::kCode, Topic::kChat, Topic::kMath}) {
      d.prompts.push_back(synthetic_prompt(t, rng));
      d.groups.push_back(t == Topic::kCode ? "code" : t == Topic::kChat ? "chat" : "math");
      d.embeddings.emplace_back();
      for (float q : synthetic_quality(t)) d.quality.push_back(q);
      for (float c : synthetic_costs()) d.cost_usd.push_back(c);
      for (int k = 0; k < 3; ++k) {
        d.input_tokens.push_back(std::nanf(""));
        d.output_tokens.push_back(std::nanf(""));
      }
    }
  }
  return d;
}

// JSONL of the same data in the compact format, for CLI tests.
inline std::string synthetic_jsonl(size_t per_topic, uint64_t seed) {
  Dataset d = synthetic_dataset(per_topic, seed);
  std::string out;
  for (size_t i = 0; i < d.rows(); ++i) {
    out += "{\"query\": \"" + d.prompts[i] + "\", \"quality\": {";
    for (size_t m = 0; m < 3; ++m) {
      out += (m ? ", \"" : "\"") + d.models[m] + "\": " + std::to_string(d.q(i, m));
    }
    out += "}, \"cost_usd\": {";
    for (size_t m = 0; m < 3; ++m) {
      out += (m ? ", \"" : "\"") + d.models[m] + "\": " + std::to_string(d.cost(i, m));
    }
    out += "}}\n";
  }
  return out;
}

}  // namespace switchyard::learned::testing

#include "learned/trainer.h"

namespace switchyard::learned::testing {

// Small, fast training options for unit tests.
inline TrainOptions fast_options(const std::string& strategy) {
  TrainOptions o;
  o.strategy = strategy;
  o.seed = 7;
  o.validation_fraction = 0.25;
  o.created_at = "2025-01-01T00:00:00Z";
  o.tfidf.hash_bits = 10;
  o.tfidf.blocks = {{BlockKind::kWord, 1, 2, 0, 1.0f}};
  o.knn.k = 5;
  o.mlp.hidden = {16};
  o.mlp.max_epochs = 40;
  o.mlp.patience = 8;
  o.mlp.learning_rate = 1e-2;
  o.mlp.dropout = 0.0;
  o.mlp.init_scale = 0.3;
  o.mf.factors = 8;
  o.mf.max_epochs = 40;
  o.mf.patience = 8;
  o.mf.learning_rate = 1e-2;
  o.mf.init_scale = 0.3;
  o.hybrid_large_share = 0.67;
  return o;
}

}  // namespace switchyard::learned::testing
