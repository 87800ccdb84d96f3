// Featurizer: determinism, the exact hash (pinned against the Python
// reference in learned_fixtures/make_custom_router.py, which people use to
// build artefacts outside Switchyard), normalisation, IDF and embeddings.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <map>

#include "learned/featurizer.h"
#include "learned/hashing.h"
#include "learned/normalise.h"

using namespace switchyard::learned;

namespace {

HashedTfidfSpec small_spec() {
  HashedTfidfSpec spec;
  spec.hash_bits = 12;
  spec.use_idf = false;
  spec.dense_weight = 0.3f;
  spec.blocks = {{BlockKind::kWord, 1, 2, 0, 1.0f},
                 {BlockKind::kChar, 3, 5, 0, 1.0f},
                 {BlockKind::kTailWord, 1, 2, 16, 0.5f}};
  return spec;
}

std::map<uint32_t, float> as_map(const SparseVector& v) {
  std::map<uint32_t, float> out;
  for (size_t i = 0; i < v.size(); ++i) out[v.index[i]] = v.value[i];
  return out;
}

std::map<uint32_t, float> featurize(const Featurizer& f, std::string_view text) {
  FeatureScratch scratch;
  SparseVector v;
  EXPECT_TRUE(f.featurize(RouteInput{text, {}}, scratch, v).ok());
  return as_map(v);
}

}  // namespace

TEST(LearnedHash, MatchesThePythonReference) {
  // Values printed by learned_fixtures/make_custom_router.py.
  EXPECT_EQ(word_hash("a"), 0xed14a55ea39a00efULL);
  EXPECT_EQ(word_hash("abcdefghij"), 0xe18671d185b458c2ULL);  // two 8-byte chunks
  EXPECT_EQ(fmix64(0x7701), 0x9492aac9cc4979ecULL);           // = ngram_seed('w', 1)
  EXPECT_EQ(ngram_seed('w', 1), 0x9492aac9cc4979ecULL);
}

TEST(LearnedFeaturizer, MatchesPythonReferenceExactly) {
  HashedTfidfFeaturizer f(small_spec(), {});
  const auto v = featurize(f, "Hello, World! Write   some CODE\nnow 42 {x}");
  // Figures printed by featurize() in learned_fixtures/make_custom_router.py.
  EXPECT_EQ(v.size(), 134u);
  double sum = 0;
  for (const auto& [i, x] : v) sum += x;
  EXPECT_NEAR(sum, 10.682921189367221, 1e-4);
  ASSERT_TRUE(v.count(2684));  // bigram "write some"
  EXPECT_NEAR(v.at(2684), 0.17030181170105146, 1e-6);
  EXPECT_NEAR(v.at(1486), 0.17030181170105146, 1e-6);  // unigram "hello"
  EXPECT_NEAR(v.at(3672), 0.12464816284674261, 1e-6);  // tail unigram "now"
  EXPECT_NEAR(v.at(65), 0.062120996310520586, 1e-6);   // a character n-gram
  EXPECT_NEAR(v.at(4096), 0.11283600347080687, 1e-6);  // log length
  EXPECT_NEAR(v.at(4097), 0.14285714285714285, 1e-6);  // newlines
  EXPECT_NEAR(v.at(4098), 0.07142857142857142, 1e-6);  // digits
  EXPECT_NEAR(v.at(4099), 0.07142857142857142, 1e-6);  // code punctuation
}

TEST(LearnedFeaturizer, CharacterNgramHashMatchesPythonReference) {
  HashedTfidfSpec spec;
  spec.hash_bits = 12;
  spec.use_idf = false;
  spec.dense_weight = 0;
  spec.blocks = {{BlockKind::kChar, 3, 3, 0, 1.0f}};
  HashedTfidfFeaturizer f(spec, {});
  FeatureScratch scratch;
  std::vector<std::vector<uint32_t>> buckets;
  f.hashed_buckets("abcdef", scratch, buckets);
  EXPECT_EQ(buckets[0], (std::vector<uint32_t>{2069, 3340, 514, 1785}));
  // Only n-grams starting in the last tail_bytes.
  spec.blocks[0].tail_bytes = 4;
  HashedTfidfFeaturizer tail(spec, {});
  tail.hashed_buckets("abcdef", scratch, buckets);
  EXPECT_EQ(buckets[0], (std::vector<uint32_t>{514, 1785}));
}

TEST(LearnedFeaturizer, DeterministicAcrossCallsAndInstances) {
  HashedTfidfFeaturizer a(small_spec(), {});
  HashedTfidfFeaturizer b(small_spec(), {});
  FeatureScratch scratch;
  SparseVector first, second, third;
  const std::string text = "Explain quicksort in Rust, then in C++.";
  ASSERT_TRUE(a.featurize(RouteInput{text, {}}, scratch, first).ok());
  ASSERT_TRUE(a.featurize(RouteInput{"something else entirely", {}}, scratch, second).ok());
  ASSERT_TRUE(a.featurize(RouteInput{text, {}}, scratch, second).ok());
  FeatureScratch fresh;
  ASSERT_TRUE(b.featurize(RouteInput{text, {}}, fresh, third).ok());
  EXPECT_EQ(first.index, second.index);
  EXPECT_EQ(first.value, second.value);
  EXPECT_EQ(first.index, third.index);
  EXPECT_EQ(first.value, third.value);
}

TEST(LearnedFeaturizer, HashedPartIsUnitLengthAndIndicesInRange) {
  HashedTfidfFeaturizer f(small_spec(), {});
  const auto v = featurize(f, "The quick brown fox jumps over the lazy dog. The dog sleeps.");
  double norm2 = 0;
  for (const auto& [i, x] : v) {
    EXPECT_LT(i, f.dimension());
    EXPECT_GT(x, 0.0f);
    if (i < f.hash_dim()) norm2 += static_cast<double>(x) * x;
  }
  EXPECT_NEAR(norm2, 1.0, 1e-5);
}

TEST(LearnedFeaturizer, CaseAndWhitespaceDoNotMatter) {
  HashedTfidfSpec spec = small_spec();
  spec.dense_weight = 0;  // the dense features see raw length
  HashedTfidfFeaturizer f(spec, {});
  EXPECT_EQ(featurize(f, "Hello   WORLD\n\tagain"), featurize(f, "hello world again"));
  EXPECT_NE(featurize(f, "hello world again"), featurize(f, "hello world again!"));
}

TEST(LearnedFeaturizer, TailBlockOnlySeesTheEnd) {
  HashedTfidfSpec spec;
  spec.hash_bits = 12;
  spec.use_idf = false;
  spec.dense_weight = 0;
  spec.blocks = {{BlockKind::kTailWord, 1, 1, 10, 1.0f}};
  HashedTfidfFeaturizer f(spec, {});
  FeatureScratch scratch;
  std::vector<std::vector<uint32_t>> buckets;
  // Normalised: "alpha beta gamma delta" -> last 10 bytes "amma delta": words "amma", "delta".
  f.hashed_buckets("alpha beta gamma delta", scratch, buckets);
  ASSERT_EQ(buckets.size(), 1u);
  ASSERT_EQ(buckets[0].size(), 2u);
  std::vector<std::vector<uint32_t>> expected;
  f.hashed_buckets("amma delta", scratch, expected);
  EXPECT_EQ(buckets[0], expected[0]);
}

TEST(LearnedFeaturizer, EmptyAndHugePromptsAreFine) {
  HashedTfidfFeaturizer f(small_spec(), {});
  EXPECT_TRUE(featurize(f, "").empty());
  std::string huge(200000, 'x');
  huge += " final question here";
  const auto v = featurize(f, huge);
  EXPECT_FALSE(v.empty());
  // Only the last max_bytes are hashed, but the length feature sees the whole prompt.
  EXPECT_NEAR(v.at(f.hash_dim()), std::log1p(static_cast<double>(huge.size())) / 10 * 0.3, 1e-5);
}

TEST(LearnedFeaturizer, IdfDownweightsCommonTerms) {
  HashedTfidfSpec spec;
  spec.hash_bits = 14;
  spec.dense_weight = 0;
  spec.blocks = {{BlockKind::kWord, 1, 1, 0, 1.0f}};
  auto f = HashedTfidfFeaturizer::fit(spec, {"common rare1", "common rare2", "common rare3"});
  FeatureScratch scratch;
  std::vector<std::vector<uint32_t>> b;
  f->hashed_buckets("common rare1", scratch, b);
  const auto v = featurize(*f, "common rare1");
  // idf(common) = ln(4/4) + 1 = 1, idf(rare1) = ln(4/2) + 1.
  const double common = 1.0, rare = std::log(2.0) + 1.0;
  const double norm = std::sqrt(common * common + rare * rare);
  EXPECT_NEAR(v.at(b[0][0]), common / norm, 1e-5);
  EXPECT_NEAR(v.at(b[0][1]), rare / norm, 1e-5);
}

TEST(LearnedFeaturizer, SpecRoundTripsThroughJson) {
  HashedTfidfSpec spec = HashedTfidfSpec::defaults();
  spec.hash_bits = 13;
  auto back = HashedTfidfSpec::from_json(spec.to_json());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(boost::json::serialize(back->to_json()), boost::json::serialize(spec.to_json()));
  auto bad = spec.to_json();
  bad["hash_bits"] = 40;
  EXPECT_FALSE(HashedTfidfSpec::from_json(bad).ok());
  bad = spec.to_json();
  bad["blocks"].as_array()[0].as_object()["kind"] = "sentencepiece";
  auto r = HashedTfidfSpec::from_json(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("sentencepiece"), std::string::npos);
}

TEST(LearnedFeaturizer, EmbeddingFeaturizerNormalisesAndChecksSize) {
  EmbeddingFeaturizer f(3, true);
  FeatureScratch scratch;
  SparseVector v;
  const float e[] = {3, 0, 4};
  ASSERT_TRUE(f.featurize(RouteInput{"", e}, scratch, v).ok());
  ASSERT_EQ(v.size(), 2u);  // zeros are skipped
  EXPECT_NEAR(v.value[0], 0.6, 1e-6);
  EXPECT_NEAR(v.value[1], 0.8, 1e-6);
  const float wrong[] = {1, 2};
  auto r = f.featurize(RouteInput{"", wrong}, scratch, v);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("embedding of 3 values, got 2"), std::string::npos);
}

TEST(LearnedFeaturizer, ArbitraryBytesOfEveryShortLengthAreFine) {
  // Exercises the 8-byte loads near the end of the text and odd UTF-8.
  HashedTfidfSpec spec = HashedTfidfSpec::defaults();
  spec.hash_bits = 10;
  spec.blocks.push_back({BlockKind::kChar, 1, 7, 0, 1.0f});
  HashedTfidfFeaturizer f(spec, {});
  FeatureScratch scratch;
  SparseVector v;
  uint64_t state = 12345;
  for (size_t len = 0; len < 300; ++len) {
    std::string text(len, '\0');
    for (char& c : text) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      c = static_cast<char>(state >> 56);
    }
    ASSERT_TRUE(f.featurize(RouteInput{text, {}}, scratch, v).ok());
    double norm2 = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      ASSERT_LT(v.index[i], f.dimension());
      ASSERT_TRUE(std::isfinite(v.value[i]));
      if (v.index[i] < f.hash_dim()) norm2 += static_cast<double>(v.value[i]) * v.value[i];
    }
    if (norm2 > 0) {
      EXPECT_NEAR(norm2, 1.0, 1e-4) << len;
    }
  }
}

TEST(LearnedFeaturizer, ReusedScratchGivesExactlyTheFreshResult) {
  // featurize() keeps a call-sized hash table and word arrays in the scratch
  // and only grows them: a short prompt after a long one uses a prefix of a
  // larger table, and repeated n-grams (counts > 1) must still collapse into one
  // feature. Every call must equal a call with fresh scratch, bit for bit.
  HashedTfidfSpec spec = small_spec();
  spec.hash_bits = 16;
  spec.blocks = {{BlockKind::kWord, 1, 2, 0, 1.0f},
                 {BlockKind::kChar, 4, 4, 256, 1.0f},
                 {BlockKind::kTailWord, 1, 2, 512, 1.0f}};
  HashedTfidfFeaturizer f(spec, {});
  std::string long_prompt;
  for (int i = 0; i < 400; ++i) long_prompt += "word" + std::to_string(i % 37) + " (x);\n";
  const std::vector<std::string> prompts = {
      "short one", long_prompt, "", "a a a a a a", long_prompt.substr(0, 300), "Z"};
  FeatureScratch reused;
  SparseVector v;
  for (const auto& p : prompts) {
    ASSERT_TRUE(f.featurize(RouteInput{p, {}}, reused, v).ok());
    FeatureScratch fresh;
    SparseVector expected;
    ASSERT_TRUE(f.featurize(RouteInput{p, {}}, fresh, expected).ok());
    ASSERT_EQ(v.index, expected.index) << p.size();
    ASSERT_EQ(v.value, expected.value) << p.size();
    const auto m = as_map(v);
    EXPECT_EQ(m.size(), v.size()) << "a bucket appears twice";
  }
  // "a a a a a a": word "a" and "a a", char 4-grams "a a " and " a a", tail
  // "a" and "a a": six hashed features (the dense ones are not counted).
  ASSERT_TRUE(f.featurize(RouteInput{"a a a a a a", {}}, reused, v).ok());
  size_t hashed = 0;
  for (uint32_t i : v.index) hashed += i < f.hash_dim() ? 1 : 0;
  EXPECT_EQ(hashed, 6u);
}

TEST(LearnedNormalise, SixteenByteStepsEqualTheByteLoop) {
  // normalise_prompt() classifies 16 bytes per step and hands chunks with a
  // whitespace run to the byte loop; every output (text, word boundaries,
  // byte-class counts) must equal normalise_prompt_bytewise(). The alphabet
  // puts every class boundary of the vector compares next to each other:
  // whitespace of each kind, runs of it, A/Z/a/z/0/9/_ and their neighbours,
  // the code punctuation, and bytes >= 0x80.
  static constexpr char kEdges[] =
      " \t\n\v\f\r  \x08\x0e\x1f!\"#'()*+/09:;<=>?@AZ[\\]^_`az{|}~\x7f\x80\xff";
  const std::string alphabet = std::string(kEdges, sizeof(kEdges) - 1) + "Hello World wordy";
  uint64_t state = 99;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  FeatureScratch fast, bytewise;
  size_t runs_of_space = 0;
  for (int round = 0; round < 3000; ++round) {
    const size_t len = next() % 200;
    std::string text(len, ' ');
    // Some rounds mostly letters and single spaces (the 16-byte path), others
    // any byte of the alphabet (the fallback, and chunks that switch).
    const bool prose = round % 2 == 0;
    for (char& ch : text) {
      if (prose) {
        ch = next() % 6 == 0 ? ' ' : static_cast<char>('a' + next() % 26);
      } else {
        ch = alphabet[next() % alphabet.size()];
      }
    }
    normalise_prompt(text, fast);
    normalise_prompt_bytewise(text, bytewise);
    ASSERT_EQ(fast.text_size, bytewise.text_size) << round;
    ASSERT_EQ(fast.text.substr(0, fast.text_size + kTextPadding),
              bytewise.text.substr(0, bytewise.text_size + kTextPadding))
        << round;
    ASSERT_EQ(fast.words, bytewise.words) << round;
    for (uint32_t w = 0; w < bytewise.words; ++w) {
      ASSERT_EQ(fast.word_start[w], bytewise.word_start[w]) << round;
      ASSERT_EQ(fast.word_end[w], bytewise.word_end[w]) << round;
    }
    ASSERT_EQ(fast.byte_classes, bytewise.byte_classes) << round;
    runs_of_space += bytewise.text_size < len ? 1 : 0;
  }
  // Both kinds of chunk were exercised: some texts lost bytes to collapsing.
  EXPECT_GT(runs_of_space, 100u);
}

TEST(LearnedNormalise, KnownExample) {
  FeatureScratch s;
  normalise_prompt("  Hi,\t\tTHERE_x 42\n\n{ok}  ", s);
  EXPECT_EQ(s.text.substr(0, s.text_size), " hi, there_x 42 {ok} ");
  ASSERT_EQ(s.words, 4u);
  EXPECT_EQ(s.word_start[0], 1u);
  EXPECT_EQ(s.word_end[0], 3u);
  EXPECT_EQ(s.word_start[1], 5u);
  EXPECT_EQ(s.word_end[1], 12u);
  const uint64_t mask21 = (uint64_t{1} << 21) - 1;
  EXPECT_EQ(s.byte_classes & mask21, 2u);          // newlines
  EXPECT_EQ((s.byte_classes >> 21) & mask21, 2u);  // digits
  EXPECT_EQ((s.byte_classes >> 42) & mask21, 3u);  // _ { }
}
