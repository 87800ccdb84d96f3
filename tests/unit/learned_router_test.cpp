// Every strategy on synthetic data whose right answers are known, the cost
// weight's effect, artefact round trips and determinism, thread safety.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <thread>

#include "learned/evaluator.h"
#include "learned/router.h"
#include "learned_test_util.h"

using namespace switchyard::learned;
using namespace switchyard::learned::testing;

namespace {

std::shared_ptr<const RouterModel> train_and_load(const TrainOptions& options,
                                                  const Dataset& data) {
  auto outcome = train_router(data, options);
  EXPECT_TRUE(outcome.ok()) << (outcome.ok() ? "" : outcome.error().message);
  if (!outcome.ok()) return nullptr;
  auto router = RouterModel::load_bytes(outcome->artefact);
  EXPECT_TRUE(router.ok()) << (router.ok() ? "" : router.error().message);
  return router.ok() ? *router : nullptr;
}

// Share of test prompts routed to the expected candidate.
double share_correct(const RouterModel& router, double cost_weight,
                     const std::map<Topic, std::string>& expected) {
  Rng rng(999);
  size_t right = 0, total = 0;
  for (int i = 0; i < 15; ++i) {
    for (const auto& [topic, name] : expected) {
      const size_t pick = router.choose(synthetic_prompt(topic, rng), cost_weight);
      right += router.candidates()[pick] == name;
      ++total;
    }
  }
  return static_cast<double>(right) / total;
}

class EveryTrainedStrategy : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST_P(EveryTrainedStrategy, LearnsWhoAnswersWhat) {
  auto router = train_and_load(fast_options(GetParam()), synthetic_dataset(20, 1));
  ASSERT_TRUE(router);
  EXPECT_EQ(router->strategy(), GetParam());
  EXPECT_EQ(router->candidates(), synthetic_models());
  // A small cost weight breaks the quality ties toward the cheaper capable model.
  EXPECT_GE(
      share_correct(*router, 1.0,
                    {{Topic::kCode, "coder"}, {Topic::kChat, "cheap"}, {Topic::kMath, "big"}}),
      0.9);
  // A huge cost weight sends everything to the cheapest model.
  EXPECT_EQ(
      share_correct(*router, 1e6,
                    {{Topic::kCode, "cheap"}, {Topic::kChat, "cheap"}, {Topic::kMath, "cheap"}}),
      1.0);
  // Quality predictions: big is good at everything, cheap at chat only.
  RouterModel::Decision d;
  ASSERT_TRUE(
      router->explain(RouteInput{"compute the integral of 7 x squared plus 3 dx", {}}, 0, d).ok());
  EXPECT_GT(d.quality[2], 0.7);
  EXPECT_LT(d.quality[0], 0.3);
  EXPECT_EQ(router->candidates()[d.choice], "big");
}

TEST_P(EveryTrainedStrategy, CostWeightTradesQualityForCostMonotonically) {
  auto router = train_and_load(fast_options(GetParam()), synthetic_dataset(20, 1));
  ASSERT_TRUE(router);
  Rng rng(5);
  for (Topic t : {Topic::kCode, Topic::kChat, Topic::kMath}) {
    const std::string prompt = synthetic_prompt(t, rng);
    double previous_cost = 1e9;
    for (double lambda : default_cost_weights()) {
      RouterModel::Decision d;
      ASSERT_TRUE(router->explain(RouteInput{prompt, {}}, lambda, d).ok());
      EXPECT_LE(d.cost_usd[d.choice], previous_cost + 1e-15) << prompt << " at " << lambda;
      previous_cost = d.cost_usd[d.choice];
      for (size_t i = 0; i < d.score.size(); ++i) {
        EXPECT_DOUBLE_EQ(d.score[i], d.quality[i] - lambda * d.cost_usd[i]);
      }
      std::vector<double> scores;
      router->score(prompt, lambda, scores);
      EXPECT_EQ(scores, d.score);
      EXPECT_EQ(router->choose(prompt, lambda), d.choice);
    }
  }
}

TEST_P(EveryTrainedStrategy, TrainingIsDeterministicAndRoundTrips) {
  const Dataset data = synthetic_dataset(12, 3);
  auto a = train_router(data, fast_options(GetParam()));
  auto b = train_router(data, fast_options(GetParam()));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->checksum, b->checksum);
  EXPECT_EQ(a->artefact, b->artefact);
  auto router = RouterModel::load_bytes(a->artefact);
  ASSERT_TRUE(router.ok());
  EXPECT_EQ((*router)->checksum(), a->checksum);
  const auto& meta = (*router)->metadata();
  EXPECT_EQ(json_string_or(meta, "created_at", ""), "2025-01-01T00:00:00Z");
  EXPECT_EQ(meta.at("seed").to_number<int64_t>(), 7);
  EXPECT_EQ(json_string_or(meta.at("training").as_object(), "data_sha256", ""), "synthetic");
  EXPECT_TRUE(meta.at("validation").as_object().contains("curve"));
  EXPECT_FALSE(meta.contains("tensors"));
  // Costs were fitted from the data.
  EXPECT_NEAR((*router)->cost_rates()[0].fixed_usd, 0.001, 1e-9);
  EXPECT_NEAR((*router)->cost_rates()[2].fixed_usd, 0.05, 1e-9);
  // A different seed gives a different model (except knn, which has no randomness).
  TrainOptions other = fast_options(GetParam());
  other.seed = 8;
  auto c = train_router(data, other);
  ASSERT_TRUE(c.ok());
  if (std::string(GetParam()) != "knn") {
    EXPECT_NE(c->checksum, a->checksum);
  }
}

INSTANTIATE_TEST_SUITE_P(Learned, EveryTrainedStrategy,
                         ::testing::Values("knn", "svm", "mlp", "mf"));

TEST(LearnedHybrid, RoutesToLargeOnlyWhenSmallIsNotGoodEnough) {
  auto router = train_and_load(fast_options("hybrid"), synthetic_dataset(20, 1));
  ASSERT_TRUE(router);
  // Default pair: large = best mean quality (big); small = best among models at
  // most a quarter of its cost (cheap and coder tie; the first wins).
  EXPECT_EQ(router->candidates(), (std::vector<std::string>{"cheap", "big"}));
  EXPECT_GE(share_correct(*router, 0,
                          {{Topic::kCode, "big"}, {Topic::kChat, "cheap"}, {Topic::kMath, "big"}}),
            0.9);
  // The calibrated threshold is the large model's "quality".
  const auto& model = router->metadata().at("model").as_object();
  RouterModel::Decision d;
  ASSERT_TRUE(router->explain(RouteInput{"hi bob, how was your movie?", {}}, 0, d).ok());
  EXPECT_DOUBLE_EQ(d.quality[1], model.at("threshold").to_number<double>());
  EXPECT_GT(d.quality[0], d.quality[1]);
  EXPECT_EQ(
      share_correct(*router, 1e6,
                    {{Topic::kCode, "cheap"}, {Topic::kChat, "cheap"}, {Topic::kMath, "cheap"}}),
      1.0);
}

TEST(LearnedHybrid, ExplicitPairAndLargeShare) {
  TrainOptions o = fast_options("hybrid");
  o.hybrid_small = "coder";
  o.hybrid_large = "big";
  o.hybrid_large_share = 0.0;
  auto router = train_and_load(o, synthetic_dataset(20, 1));
  ASSERT_TRUE(router);
  EXPECT_EQ(router->candidates(), (std::vector<std::string>{"coder", "big"}));
  // Share 0: nothing goes to the large model at cost weight 0.
  EXPECT_EQ(
      share_correct(*router, 0,
                    {{Topic::kCode, "coder"}, {Topic::kChat, "coder"}, {Topic::kMath, "coder"}}),
      1.0);
}

TEST(LearnedTrainer, RejectsWhatItCannotTrain) {
  auto r = train_router(synthetic_dataset(5, 1), fast_options("custom"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("trained outside Switchyard"), std::string::npos);
  r = train_router(synthetic_dataset(5, 1), fast_options("forest"));
  ASSERT_FALSE(r.ok());
  TrainOptions o = fast_options("mlp");
  o.validation_fraction = 0;
  r = train_router(synthetic_dataset(5, 1), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("validation slice"), std::string::npos);
  o = fast_options("hybrid");
  o.hybrid_small = o.hybrid_large = "big";
  EXPECT_FALSE(train_router(synthetic_dataset(5, 1), o).ok());
}

TEST(LearnedRouter, ScoringIsThreadSafe) {
  auto router = train_and_load(fast_options("mlp"), synthetic_dataset(15, 2));
  ASSERT_TRUE(router);
  std::vector<std::string> prompts;
  Rng rng(3);
  for (int i = 0; i < 60; ++i) prompts.push_back(synthetic_prompt(static_cast<Topic>(i % 3), rng));
  std::vector<std::vector<double>> expected(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) router->score(prompts[i], 2.0, expected[i]);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<double> scores;
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < prompts.size(); ++i) {
          const size_t k = (i + t * 7) % prompts.size();
          router->score(prompts[k], 2.0, scores);
          if (scores != expected[k]) ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(LearnedRouter, EmbeddingFeaturizerUsesRowEmbeddings) {
  Dataset data = synthetic_dataset(15, 4);
  // A 3-d "embedding" that encodes the topic, with a little noise.
  Rng rng(4);
  for (size_t i = 0; i < data.rows(); ++i) {
    std::vector<float> e(3, 0.05f * static_cast<float>(rng.uniform()));
    e[i % 3] += 1.0f;
    data.embeddings[i] = e;
  }
  TrainOptions o = fast_options("knn");
  o.featurizer = "embedding";
  auto router = train_and_load(o, data);
  ASSERT_TRUE(router);
  EXPECT_TRUE(router->needs_embedding());
  const float code[] = {0.9f, 0.1f, 0.0f};
  const float math[] = {0.0f, 0.1f, 1.0f};
  RouterModel::Decision d;
  ASSERT_TRUE(router->explain(RouteInput{"", code}, 1.0, d).ok());
  EXPECT_EQ(router->candidates()[d.choice], "coder");
  ASSERT_TRUE(router->explain(RouteInput{"", math}, 1.0, d).ok());
  EXPECT_EQ(router->candidates()[d.choice], "big");
  const float wrong[] = {1.0f};
  EXPECT_FALSE(router->explain(RouteInput{"", wrong}, 1.0, d).ok());
  // Without an embedding the training prior decides (big answers everything).
  EXPECT_EQ(router->candidates()[router->choose("anything", 0)], "big");
  EXPECT_NEAR(router->prior_quality()[2], 1.0, 1e-9);
}

TEST(LearnedRouter, ReportsCandidatesMissingFromTheConfig) {
  auto router = train_and_load(fast_options("knn"), synthetic_dataset(5, 1));
  ASSERT_TRUE(router);
  EXPECT_EQ(router->missing_from({"cheap", "big", "other"}), std::vector<std::string>{"coder"});
  EXPECT_TRUE(router->missing_from({"cheap", "coder", "big"}).empty());
}

TEST(LearnedEvaluator, SweepReferencesAndBudgets) {
  auto router = train_and_load(fast_options("svm"), synthetic_dataset(20, 1));
  ASSERT_TRUE(router);
  const Dataset test = synthetic_dataset(10, 77);
  auto r = evaluate(*router, test, default_cost_weights());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rows, 30u);
  // big answers everything at $0.05 per query; the oracle pays the cheapest capable model.
  EXPECT_EQ(r->best_single.name, "big");
  EXPECT_DOUBLE_EQ(r->best_single.accuracy, 1.0);
  EXPECT_NEAR(r->best_single.cost_usd, 1.5, 1e-6);
  EXPECT_DOUBLE_EQ(r->oracle.accuracy, 1.0);
  EXPECT_NEAR(r->oracle.cost_usd, 10 * (0.01 + 0.001 + 0.05), 1e-6);
  EXPECT_EQ(r->cheapest_single.name, "cheap");
  // Somewhere on the curve the router matches the oracle.
  const CurvePoint* p = best_within_budget(*r, 0.62);
  ASSERT_NE(p, nullptr);
  EXPECT_GE(p->accuracy, 0.95);
  EXPECT_EQ(best_within_budget(*r, 0.001), nullptr);
  // The knee: full accuracy at the oracle's cost beats mixing cheap and big.
  EXPECT_GT(r->recommended_cost_weight, 0);
  EXPECT_GT(r->area, 0.6);
}
