// The request-path fast paths (knn's blocked low-rank pass, interleaved
// postings and threshold-filtered top-k; the network's first layer) must give
// bit-identical predictions to the plain reference loops they replace, with the
// AVX2 loops (where the CPU has AVX2) and with the baseline 4-wide loops.
#include <gtest/gtest.h>

#include <cstring>

#include "learned/quality_model.h"
#include "learned/router.h"
#include "learned/simd.h"
#include "learned_test_util.h"

using namespace switchyard::learned;
using namespace switchyard::learned::testing;

namespace {

// Wordy prompts with shared templates (so some features are frequent enough
// for the low-rank block) and a varying question.
std::string mixed_prompt(Rng& rng) {
  static const char* preamble = "you are a helpful assistant. answer the question below. ";
  std::string out = rng.below(2) == 0 ? preamble : "";
  const int parts = 1 + static_cast<int>(rng.below(4));
  for (int i = 0; i < parts; ++i) {
    out += synthetic_prompt(static_cast<Topic>(rng.below(3)), rng);
    out += rng.below(3) == 0 ? "\n" : " ";
  }
  return out;
}

Dataset mixed_dataset(size_t rows, uint64_t seed) {
  Dataset d = synthetic_dataset(rows / 3, seed);
  Rng rng(seed + 1);
  for (auto& p : d.prompts) p.insert(0, mixed_prompt(rng));
  return d;
}

struct Loaded {
  std::unique_ptr<Featurizer> featurizer;
  std::unique_ptr<QualityModel> model;
};

Loaded train_model(const TrainOptions& o, const Dataset& data) {
  auto outcome = train_router(data, o);
  EXPECT_TRUE(outcome.ok()) << (outcome.ok() ? "" : outcome.error().message);
  if (!outcome.ok()) return {};
  auto artefact = Artefact::parse(outcome->artefact);
  EXPECT_TRUE(artefact.ok());
  if (!artefact.ok()) return {};
  Loaded out;
  auto featurizer = load_featurizer(*artefact);
  EXPECT_TRUE(featurizer.ok());
  if (!featurizer.ok()) return {};
  out.featurizer = std::move(*featurizer);
  const std::vector<double> prior(data.models.size(), 0.5);
  auto model = load_quality_model(*artefact, o.strategy, out.featurizer->dimension(), prior);
  EXPECT_TRUE(model.ok()) << (model.ok() ? "" : model.error().message);
  if (!model.ok()) return {};
  out.model = std::move(*model);
  return out;
}

bool same_bits(double a, double b) {
  uint64_t ua = 0, ub = 0;
  std::memcpy(&ua, &a, sizeof a);
  std::memcpy(&ub, &b, sizeof b);
  return ua == ub;
}

void expect_knn_paths_agree(const TrainOptions& o, size_t rows) {
  const Dataset data = mixed_dataset(rows, 11);
  Loaded loaded = train_model(o, data);
  ASSERT_TRUE(loaded.model);
  const auto* knn = dynamic_cast<const KnnModel*>(loaded.model.get());
  ASSERT_NE(knn, nullptr);
  ScoringScratch scratch;
  const size_t m = data.models.size();
  std::vector<double> fast(m), reference(m);
  for (const bool baseline : {false, true}) {
    SCOPED_TRACE(baseline ? "baseline loops" : "AVX2 loops where available");
    force_baseline_simd(baseline);
    Rng rng(5);
    size_t differing_rows = 0;
    for (int i = 0; i < 200; ++i) {
      const std::string prompt = i == 0 ? std::string() : mixed_prompt(rng);
      ASSERT_TRUE(
          loaded.featurizer->featurize(RouteInput{prompt, {}}, scratch.features, scratch.x));
      knn->predict(scratch.x, scratch, fast);
      const std::vector<uint64_t> fast_neighbours = scratch.neighbours;
      knn->predict_reference(scratch.x, scratch, reference);
      // Same neighbours (as a set: the heap's order may differ) and same bits.
      std::vector<uint64_t> a = fast_neighbours, b = scratch.neighbours;
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      EXPECT_EQ(a, b) << "prompt " << i;
      for (size_t c = 0; c < m; ++c) {
        EXPECT_TRUE(same_bits(fast[c], reference[c]))
            << "prompt " << i << " candidate " << c << ": " << fast[c] << " vs " << reference[c];
      }
      differing_rows += fast != std::vector<double>(m, fast[0]);
    }
    // The check is only worth something if predictions vary between prompts.
    EXPECT_GT(differing_rows, 20u);
  }
  force_baseline_simd(false);
}

}  // namespace

TEST(LearnedFastPath, KnnLowRankAndPostingsMatchTheReference) {
  TrainOptions o = fast_options("knn");
  o.tfidf.hash_bits = 12;
  o.knn.k = 7;
  o.knn.max_df = 0.05;
  o.knn.common_rank = 16;
  expect_knn_paths_agree(o, 301);  // 300 rows: not a multiple of the row block
}

TEST(LearnedFastPath, KnnWithMoreNeighboursThanRowsMatchesTheReference) {
  TrainOptions o = fast_options("knn");
  o.knn.k = 500;
  o.knn.common_rank = 5;
  expect_knn_paths_agree(o, 90);
}

TEST(LearnedFastPath, KnnSparsePathAndPruningMatchTheReference) {
  TrainOptions o = fast_options("knn");
  o.knn.k = 10;
  o.knn.common_rank = 0;
  o.knn.max_df = 0.2;
  o.knn.query_terms = 12;
  o.knn.max_postings = 6;
  expect_knn_paths_agree(o, 150);
}

TEST(LearnedFastPath, CountCharsMatchesTheBytewiseCount) {
  Rng rng(3);
  for (size_t length : {0, 1, 7, 8, 9, 15, 16, 100, 2039, 2040, 2048, 2055, 5000}) {
    for (int trial = 0; trial < 4; ++trial) {
      std::string text(length, '\0');
      for (char& c : text) {
        // Mostly ASCII with UTF-8 lead and continuation bytes mixed in.
        const uint64_t r = rng.below(10);
        c = static_cast<char>(r < 6   ? 32 + rng.below(95)
                              : r < 8 ? 0x80 + rng.below(64)
                                      : 0xC0 + rng.below(64));
      }
      if (trial == 3) text.assign(length, static_cast<char>(0x80));  // all continuation
      size_t expected = 0;
      for (unsigned char c : text) expected += (c & 0xC0) != 0x80;
      EXPECT_EQ(count_chars(text), expected) << "length " << length << " trial " << trial;
    }
  }
}

namespace {

void expect_network_paths_agree(const char* strategy, uint32_t candidates_wanted) {
  TrainOptions o = fast_options(strategy);
  o.tfidf.hash_bits = 12;
  Dataset data = mixed_dataset(150, 21);
  // Widen the candidate list (copies of the three models with shifted labels)
  // so the first layer's width is not a multiple of the padding.
  const size_t base = data.models.size();
  while (data.models.size() < candidates_wanted)
    data.models.push_back("m" + std::to_string(data.models.size()));
  const size_t m = data.models.size();
  std::vector<float> quality, cost, in_tokens, out_tokens;
  for (size_t r = 0; r < data.prompts.size(); ++r) {
    for (size_t c = 0; c < m; ++c) {
      const size_t src = r * base + c % base;
      quality.push_back(c < base ? data.quality[src] : 1.0f - data.quality[src]);
      cost.push_back(data.cost_usd[src] * static_cast<float>(1 + c));
      in_tokens.push_back(std::nanf(""));
      out_tokens.push_back(std::nanf(""));
    }
  }
  data.quality = quality;
  data.cost_usd = cost;
  data.input_tokens = in_tokens;
  data.output_tokens = out_tokens;
  Loaded loaded = train_model(o, data);
  ASSERT_TRUE(loaded.model);
  const auto* network = dynamic_cast<const NetworkModel*>(loaded.model.get());
  ASSERT_NE(network, nullptr);
  ScoringScratch scratch;
  std::vector<double> fast(m), reference(m);
  for (const bool baseline : {false, true}) {
    force_baseline_simd(baseline);
    Rng rng(8);
    for (int i = 0; i < 100; ++i) {
      const std::string prompt = mixed_prompt(rng);
      ASSERT_TRUE(
          loaded.featurizer->featurize(RouteInput{prompt, {}}, scratch.features, scratch.x));
      network->net().forward(scratch.x, scratch.net, fast);
      network->net().forward_reference(scratch.x, scratch.net, reference);
      for (size_t c = 0; c < m; ++c) {
        EXPECT_TRUE(same_bits(fast[c], reference[c]))
            << strategy << (baseline ? " baseline" : " avx2") << " prompt " << i << " candidate "
            << c << ": " << fast[c] << " vs " << reference[c];
      }
    }
  }
  force_baseline_simd(false);
}

}  // namespace

TEST(LearnedFastPath, SvmPaddedFirstLayerMatchesTheReference) {
  expect_network_paths_agree("svm", 11);  // padded to 16
  expect_network_paths_agree("svm", 5);   // padded to 8
}

TEST(LearnedFastPath, MlpAndMfPaddedFirstLayerMatchTheReference) {
  expect_network_paths_agree("mlp", 3);  // 16 hidden units (fast_options)
  expect_network_paths_agree("mf", 3);   // 8 factors
}

TEST(LearnedFastPath, DefaultMlpWidthMatchesTheReference) {
  // The default 32 hidden units: the 32-wide first layer (4 AVX2 registers).
  TrainOptions o = fast_options("mlp");
  o.mlp.hidden = {32};
  o.tfidf.hash_bits = 12;
  const Dataset data = mixed_dataset(150, 23);
  Loaded loaded = train_model(o, data);
  ASSERT_TRUE(loaded.model);
  const auto* network = dynamic_cast<const NetworkModel*>(loaded.model.get());
  ASSERT_NE(network, nullptr);
  ASSERT_EQ(network->net().layers().front().out, 32u);
  ScoringScratch scratch;
  const size_t m = data.models.size();
  std::vector<double> avx(m), baseline(m), reference(m);
  Rng rng(9);
  for (int i = 0; i < 50; ++i) {
    const std::string prompt = mixed_prompt(rng);
    ASSERT_TRUE(loaded.featurizer->featurize(RouteInput{prompt, {}}, scratch.features, scratch.x));
    network->net().forward(scratch.x, scratch.net, avx);
    force_baseline_simd(true);
    network->net().forward(scratch.x, scratch.net, baseline);
    force_baseline_simd(false);
    network->net().forward_reference(scratch.x, scratch.net, reference);
    for (size_t c = 0; c < m; ++c) {
      EXPECT_TRUE(same_bits(avx[c], reference[c])) << "prompt " << i << " candidate " << c;
      EXPECT_TRUE(same_bits(baseline[c], reference[c])) << "prompt " << i << " candidate " << c;
    }
  }
}

TEST(LearnedFastPath, WideCustomLayerUsesTheGenericPaddedLoop) {
  // 40 outputs: padded to 48, the loop without a compile-time width.
  std::vector<DenseLayer> layers(1);
  layers[0].in = 50;
  layers[0].out = 40;
  layers[0].activation = Activation::kSigmoid;
  Rng rng(4);
  for (size_t k = 0; k < size_t{50} * 40; ++k)
    layers[0].weight.push_back(static_cast<float>(rng.normal()));
  for (size_t k = 0; k < 40; ++k) layers[0].bias.push_back(static_cast<float>(rng.normal()));
  const FeedForwardNet net(layers);
  SparseVector x;
  for (uint32_t i = 0; i < 50; i += 3) x.push(i, static_cast<float>(rng.normal()));
  x.push(77, 1.0f);  // out of range: ignored by both paths
  NetScratch scratch;
  std::vector<double> fast(40), reference(40);
  net.forward(x, scratch, fast);
  net.forward_reference(x, scratch, reference);
  for (size_t c = 0; c < 40; ++c) EXPECT_TRUE(same_bits(fast[c], reference[c])) << c;
}

TEST(LearnedFastPath, KnnPostingCapKeepsTheHeaviestPostings) {
  // --max-postings N keeps each feature's N heaviest postings; the default (0)
  // keeps every posting.
  const Dataset data = mixed_dataset(300, 31);
  EXPECT_EQ(TrainOptions().knn.max_postings, 0u);
  for (const uint32_t cap : {16u, 0u}) {
    TrainOptions o = fast_options("knn");
    o.tfidf.hash_bits = 12;
    o.knn.max_df = 0.2;  // lists of up to 20 % of the rows, so the cap has work to do
    o.knn.max_postings = cap;
    auto outcome = train_router(data, o);
    ASSERT_TRUE(outcome.ok());
    auto artefact = Artefact::parse(outcome->artefact);
    ASSERT_TRUE(artefact.ok());
    auto start = artefact->u64("model.postings_start", {0});
    ASSERT_TRUE(start.ok());
    uint64_t longest = 0;
    for (size_t i = 1; i < start->size(); ++i)
      longest = std::max(longest, (*start)[i] - (*start)[i - 1]);
    if (cap == 0)
      EXPECT_GT(longest, 16u);
    else
      EXPECT_EQ(longest, 16u);
    EXPECT_EQ(json_number_or(*json_object_at(artefact->header(), "model", "header").value(),
                             "max_postings", -1),
              cap);
  }
}
