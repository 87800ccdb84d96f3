// Per-candidate logistic regression (svm strategy, --svm-loss logistic) on
// synthetic data whose right answers are known: the fitted probabilities, the
// cross-validated choice of C, and end-to-end routing through the artefact.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>

#include "learned/router.h"
#include "learned/trainers.h"
#include "learned_test_util.h"

using namespace switchyard::learned;
using namespace switchyard::learned::testing;

namespace {

double predict(const LinearSvm& m, uint32_t output, const SparseVector& v) {
  double z = m.bias[output];
  for (size_t k = 0; k < v.size(); ++k) {
    z += static_cast<double>(m.weight[static_cast<size_t>(v.index[k]) * m.outputs + output]) *
         v.value[k];
  }
  return 1.0 / (1.0 + std::exp(-(m.platt_a[output] * z + m.platt_b[output])));
}

}  // namespace

// Two groups of rows told apart by one feature; soft labels 0.9 and 0.2. With
// almost no regularisation the maximum-likelihood answer is exactly those rates
// (the model can express them: sigmoid(b) = 0.2, sigmoid(w + b) = 0.9).
TEST(LearnedLogistic, RecoversKnownProbabilitiesFromSoftLabels) {
  SparseMatrix x;
  x.columns = 4;
  std::vector<std::vector<float>> targets(2);
  for (int i = 0; i < 200; ++i) {
    SparseVector v;
    const bool group_a = i % 2 == 0;
    v.push(group_a ? 0 : 1, 1.0f);
    x.append(v);
    targets[0].push_back(group_a ? 0.9f : 0.2f);
    // Output 1: missing labels (NaN) are skipped, not counted as 0.
    targets[1].push_back(i % 4 == 1 ? std::nanf("") : (group_a ? 0.25f : 0.75f));
  }
  LogisticParams params;
  params.c_grid = {1e5};
  auto model = train_logistic(x, 4, targets, params, 1, nullptr);
  ASSERT_EQ(model.outputs, 2u);
  SparseVector a, b;
  a.push(0, 1.0f);
  b.push(1, 1.0f);
  EXPECT_NEAR(predict(model, 0, a), 0.9, 0.01);
  EXPECT_NEAR(predict(model, 0, b), 0.2, 0.01);
  EXPECT_NEAR(predict(model, 1, a), 0.25, 0.01);
  EXPECT_NEAR(predict(model, 1, b), 0.75, 0.01);
  // Identity calibration: the artefact's Platt map must not change the output.
  EXPECT_EQ(model.platt_a[0], 1.0f);
  EXPECT_EQ(model.platt_b[0], 0.0f);
}

// Cross-validation picks strong regularisation when the labels are noise that
// only memorising row-specific features could fit, and weak regularisation when
// a shared feature determines the label.
TEST(LearnedLogistic, CrossValidationChoosesTheRegularisation) {
  Rng rng(3);
  SparseMatrix x;
  x.columns = 1024;
  std::vector<std::vector<float>> targets(2);
  for (uint32_t i = 0; i < 300; ++i) {
    SparseVector v;
    const bool positive = rng.uniform() < 0.5;
    v.push(positive ? 0 : 1, 1.0f);  // the signal feature
    v.push(2 + i, 1.0f);             // a feature only this row has
    x.append(v);
    targets[0].push_back(rng.uniform() < 0.5 ? 1.0f : 0.0f);  // noise
    targets[1].push_back(positive ? 1.0f : 0.0f);             // determined by feature 0/1
  }
  LogisticParams params;
  params.c_grid = {0.01, 1, 100};
  std::vector<double> chosen;
  auto model = train_logistic(x, 1024, targets, params, 1, nullptr, &chosen);
  ASSERT_EQ(chosen.size(), 2u);
  EXPECT_EQ(chosen[0], 0.01);
  EXPECT_EQ(chosen[1], 100);
  SparseVector pos, neg;
  pos.push(0, 1.0f);
  neg.push(1, 1.0f);
  EXPECT_GT(predict(model, 1, pos), 0.9);
  EXPECT_LT(predict(model, 1, neg), 0.1);
  // Noise output: close to the base rate whatever the row.
  EXPECT_NEAR(predict(model, 0, pos), 0.5, 0.1);
}

TEST(LearnedLogistic, RoutesTheSyntheticTopicsAndRecordsTheChosenC) {
  TrainOptions o = fast_options("svm");
  o.svm_loss = "logistic";
  auto outcome = train_router(synthetic_dataset(20, 1), o);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  auto router = RouterModel::load_bytes(outcome->artefact);
  ASSERT_TRUE(router.ok()) << router.error().message;
  const auto& model = (*router)->metadata().at("model").as_object();
  EXPECT_EQ(model.at("loss").as_string(), "logistic");
  const auto& hyper =
      (*router)->metadata().at("training").as_object().at("hyper_parameters").as_object();
  EXPECT_EQ(hyper.at("c_per_candidate").as_array().size(), 3u);
  Rng rng(11);
  size_t right = 0, total = 0;
  for (int i = 0; i < 15; ++i) {
    for (auto [topic, name] : {std::pair{Topic::kCode, "coder"}, std::pair{Topic::kChat, "cheap"},
                               std::pair{Topic::kMath, "big"}}) {
      right +=
          (*router)->candidates()[(*router)->choose(synthetic_prompt(topic, rng), 1.0)] == name;
      ++total;
    }
  }
  EXPECT_GE(static_cast<double>(right) / total, 0.9);
  // Deterministic given the seed.
  auto again = train_router(synthetic_dataset(20, 1), o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->checksum, outcome->checksum);
}
