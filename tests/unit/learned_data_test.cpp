// Routing-data loading: both JSONL shapes, candidate files, cost resolution and
// the cost-rate fit.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "learned/cost_model.h"
#include "learned/dataset.h"

using namespace switchyard::learned;

TEST(LearnedData, CompactRowsWithNullsCostsAndPromptLists) {
  auto d = parse_dataset(
      R"({"prompt": ["part one", "part two"], "eval_name": "arc", "quality": {"a": 1, "b": null}, "cost_usd": {"a": 0.5, "b": 0.25}}
{"query": "second", "quality": {"b": 0.5, "a": true}})",
      "mem");
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->rows(), 2u);
  EXPECT_EQ(d->models, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d->prompts[0], "part one\n\npart two");
  EXPECT_EQ(d->groups[0], "arc");
  EXPECT_EQ(d->q(0, 0), 1.0f);
  EXPECT_TRUE(std::isnan(d->q(0, 1)));
  EXPECT_EQ(d->q(1, 0), 1.0f);
  EXPECT_EQ(d->q(1, 1), 0.5f);
  EXPECT_EQ(d->cost(0, 1), 0.25f);
  EXPECT_TRUE(std::isnan(d->cost(1, 0)));
}

TEST(LearnedData, PricePerMtokUsesCharsOverFourAnd256OutputTokens) {
  auto d = parse_dataset(
      R"({"query": "12345678", "quality": {"m": 1}, "price_per_mtok": {"m": {"in": 2.0, "out": 4.0}}})",
      "mem");
  ASSERT_TRUE(d.ok());
  resolve_costs(*d, {});
  EXPECT_NEAR(d->cost(0, 0), (8.0 / 4 * 2.0 + 256 * 4.0) / 1e6, 1e-10);
  std::vector<std::string> warnings;
  auto rates = fit_cost_rates(*d, warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_NEAR(rates[0].predict(8), (8.0 / 4 * 2.0 + 256 * 4.0) / 1e6, 1e-10);
  // Characters are code points, not bytes.
  EXPECT_EQ(count_chars("h\xC3\xA9llo"), 5u);
}

TEST(LearnedData, LongFormatGroupsRowsPerQuery) {
  auto d = parse_dataset(
      R"({"query": "q1", "task_name": "t", "model_name": "x", "performance": 1, "input_tokens": 10, "output_tokens": 5}
{"query": "q1", "task_name": "t", "model_name": "y", "performance": 0}
{"query": "q2", "task_name": "t", "model_name": "y", "performance": 0.5, "cost": 0.125}
{"query": "q1", "task_name": "t2", "model_name": "x", "performance": 0})",
      "mem");
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->rows(), 3u);  // q1/t, q2/t, q1/t2
  EXPECT_EQ(d->models, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(d->q(0, 0), 1.0f);
  EXPECT_EQ(d->q(0, 1), 0.0f);
  EXPECT_TRUE(std::isnan(d->q(1, 0)));
  EXPECT_EQ(d->q(1, 1), 0.5f);
  EXPECT_EQ(d->cost(1, 1), 0.125f);
  resolve_costs(*d, {Candidate{"x", Price{1.0, 2.0}}});
  EXPECT_NEAR(d->cost(0, 0), (10 * 1.0 + 5 * 2.0) / 1e6, 1e-12);  // tokens x price
  EXPECT_TRUE(std::isnan(d->cost(0, 1)));                         // no price for y
}

TEST(LearnedData, BadLinesNameTheirLine) {
  auto d = parse_dataset("{\"query\": \"a\", \"quality\": {\"m\": 1}}\n[1,2]\n", "f.jsonl");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("f.jsonl:2"), std::string::npos);
  d = parse_dataset("{\"query\": \"a\"}\n", "f.jsonl");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("no `quality` object"), std::string::npos);
  EXPECT_FALSE(parse_dataset("", "f.jsonl").ok());
  EXPECT_FALSE(load_dataset("/nonexistent/file.jsonl").ok());
}

TEST(LearnedData, CandidateFilesInAllThreeSchemas) {
  const auto path =
      (std::filesystem::temp_directory_path() / "switchyard_candidates.json").string();
  std::ofstream(path) << R"({
    "seed": {"provider": "bedrock", "cost_per_1k_tokens": {"input": 0.003, "output": 0.015}},
    "llmrouter": {"input_price": 0.2, "output_price": 0.6, "model": "x/y"},
    "litellm": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
    "free": {"description": "no price"}})";
  auto c = load_candidates(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->size(), 4u);
  EXPECT_EQ((*c)[0].name, "seed");
  EXPECT_NEAR((*c)[0].price->input_per_mtok, 3.0, 1e-9);
  EXPECT_NEAR((*c)[0].price->output_per_mtok, 15.0, 1e-9);
  EXPECT_NEAR((*c)[1].price->output_per_mtok, 0.6, 1e-9);
  EXPECT_NEAR((*c)[2].price->input_per_mtok, 1.0, 1e-9);
  EXPECT_FALSE((*c)[3].price.has_value());
}

TEST(LearnedData, CostRatesAreFittedFromObservedCosts) {
  Dataset d;
  d.models = {"m", "flat", "none"};
  for (int i = 1; i <= 20; ++i) {
    d.prompts.push_back(std::string(static_cast<size_t>(i * 10), 'x'));
    d.quality.insert(d.quality.end(), {1, 1, 1});
    d.cost_usd.insert(d.cost_usd.end(),
                      {static_cast<float>(0.001 + 2e-5 * i * 10), 0.003f, std::nanf("")});
  }
  std::vector<std::string> warnings;
  auto rates = fit_cost_rates(d, warnings);
  EXPECT_NEAR(rates[0].fixed_usd, 0.001, 1e-7);
  EXPECT_NEAR(rates[0].per_char_usd, 2e-5, 1e-9);
  EXPECT_NEAR(rates[1].fixed_usd, 0.003, 1e-7);
  EXPECT_NEAR(rates[1].per_char_usd, 0.0, 1e-12);
  EXPECT_EQ(rates[2].source, "none");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("'none'"), std::string::npos);
}

TEST(LearnedData, QueriesForRoute) {
  auto q = parse_queries("{\"query\": \"a\"}\n\n{\"prompt\": \"b\", \"embedding\": [1, 2.5]}\n");
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 2u);
  EXPECT_EQ((*q)[1].prompt, "b");
  EXPECT_EQ((*q)[1].embedding, (std::vector<float>{1.0f, 2.5f}));
  EXPECT_FALSE(parse_queries("{\"embedding\": [1]}\n").ok());
}
