// The "custom" strategy: artefacts produced outside Switchyard. The fixture
// learned_fixtures/custom_router.syr was written by the standard-library-only
// Python script next to it (the recipe in docs/routing.md); this test checks its
// decisions, and builds another one byte by byte without ArtefactWriter.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstring>

#include "learned/artefact.h"
#include "learned/hashing.h"
#include "learned/router.h"

using namespace switchyard::learned;
namespace json = boost::json;

namespace {

const std::string kFixture =
    std::string(SWITCHYARD_SOURCE_DIR) + "/tests/unit/learned_fixtures/custom_router.syr";

uint32_t word_bucket(std::string_view word, int bits) {
  const uint64_t g = ngram_step(ngram_seed('w', 1), word_hash(word));
  return static_cast<uint32_t>(fmix64(g) & ((1u << bits) - 1));
}

// Assembles the file image by hand, the way a tool in another language would.
std::string hand_made_artefact(const std::string& header_json, const std::string& data) {
  std::string header = header_json;
  while (header.size() % 8) header.push_back(' ');
  std::string out = "SYROUTER";
  auto put = [&](uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  put(1, 4);
  put(0, 4);
  put(header.size(), 8);
  put(data.size(), 8);
  const std::string hex = sha256_hex(header + data);
  for (size_t i = 0; i < 32; ++i)
    out.push_back(static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16)));
  return out + header + data;
}

std::string floats(const std::vector<float>& v) {
  std::string out(v.size() * 4, '\0');
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

}  // namespace

TEST(LearnedCustom, LoadsTheArtefactMadeByThePythonRecipe) {
  auto router = RouterModel::load_file(kFixture);
  ASSERT_TRUE(router.ok()) << router.error().message;
  const auto& r = **router;
  EXPECT_EQ(r.strategy(), "custom");
  EXPECT_EQ(r.version(), "handmade-1");
  EXPECT_EQ(r.candidates(), (std::vector<std::string>{"cheap", "coder", "big"}));
  // The checksum the script printed when it wrote the file.
  EXPECT_EQ(r.checksum(), "8dcf45f5a563a8a9ee58519a83f8d4ee583737d9980787809ca203a44dfab213");
  auto pick = [&](const char* prompt) { return r.candidates()[r.choose(prompt, 0)]; };
  EXPECT_EQ(pick("Please write Python code to parse a CSV file"), "coder");
  EXPECT_EQ(pick("what is the integral of x squared?"), "big");
  EXPECT_EQ(pick("Tell me a joke about penguins"), "cheap");
  // Cost-aware like every strategy: a large cost weight prefers the cheap model.
  EXPECT_EQ(r.candidates()[r.choose("what is the integral of x squared?", 1000)], "cheap");
  RouterModel::Decision d;
  ASSERT_TRUE(r.explain(RouteInput{"write python code", {}}, 0, d).ok());
  // Hand-computed: words write/python/code at 1/sqrt(3) each, unit0 = 3 * 2/sqrt(3).
  const double unit0 = 6.0 / std::sqrt(3.0);
  EXPECT_NEAR(d.quality[1], 1.0 / (1.0 + std::exp(-(-1.0 + 4.0 * unit0))), 1e-5);
  EXPECT_NEAR(d.cost_usd[2], 0.01, 1e-12);
}

TEST(LearnedCustom, ByteByByteArtefactWithoutTheWriter) {
  // One linear sigmoid layer over hashed words (2^8 buckets, no IDF):
  // "urgent" sends requests to "fast", everything else to "careful".
  const int bits = 8;
  const uint32_t dim = (1u << bits);
  std::vector<float> w(dim * 2, 0.0f);
  w[word_bucket("urgent", bits) * 2 + 0] = 10.0f;
  w[word_bucket("urgent", bits) * 2 + 1] = -10.0f;
  const std::vector<float> b = {-1.0f, 1.0f};
  std::string data = floats(w);
  const size_t bias_offset = data.size();
  data += floats(b);
  const std::string header =
      R"({"format":"switchyard-router","format_version":1,"strategy":"custom",)"
      R"("candidates":[{"name":"fast"},{"name":"careful","cost":{"fixed_usd":0.002}}],)"
      R"("featurizer":{"type":"hashed_tfidf","hash_bits":8,"use_idf":false,)"
      R"("blocks":[{"kind":"word","min_n":1,"max_n":1}]},)"
      R"("model":{"type":"feedforward","layers":[{"weight":"w","bias":"b","activation":"sigmoid"}]},)"
      R"("tensors":{"w":{"dtype":"f32","shape":[256,2],"offset":0,"bytes":2048},)"
      R"("b":{"dtype":"f32","shape":[2],"offset":)" +
      std::to_string(bias_offset) + R"(,"bytes":8}}})";
  auto router = RouterModel::load_bytes(hand_made_artefact(header, data));
  ASSERT_TRUE(router.ok()) << router.error().message;
  const auto& r = **router;
  EXPECT_EQ(r.candidates()[r.choose("URGENT: the build is broken", 0)], "fast");
  EXPECT_EQ(r.candidates()[r.choose("please review this design", 0)], "careful");
  // Defaults for optional fields.
  EXPECT_EQ(r.cost_rates()[0].fixed_usd, 0.0);
  EXPECT_EQ(r.recommended_cost_weight(), 0.0);
}

TEST(LearnedCustom, RejectsNetworksThatDoNotFit) {
  auto good = Artefact::read_file(kFixture);
  ASSERT_TRUE(good.ok());
  // Output width 3 but only 2 candidates.
  json::object h = good->header();
  h["candidates"].as_array().pop_back();
  ArtefactWriter w;
  w.header() = h;
  w.header().erase("tensors");
  for (const char* name : {"l0.w", "l0.b", "l1.w", "l1.b"}) {
    std::vector<uint64_t> shape;
    auto t = good->f32(name, {0, 0}, &shape);
    if (!t.ok()) t = good->f32(name, {0}, &shape);
    ASSERT_TRUE(t.ok()) << name;
    w.add_f32(name, shape, *t);
  }
  auto r = RouterModel::load_bytes(w.serialize());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("model output width 3 does not match the 2 candidates"),
            std::string::npos)
      << r.error().message;

  // Unknown activation.
  w.header() = good->header();
  w.header().erase("tensors");
  w.header()["model"].as_object()["layers"].as_array()[0].as_object()["activation"] = "gelu";
  r = RouterModel::load_bytes(w.serialize());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("'gelu' unknown"), std::string::npos);

  // First layer sized for another featurizer.
  w.header() = good->header();
  w.header().erase("tensors");
  w.header()["featurizer"].as_object()["hash_bits"] = 11;
  r = RouterModel::load_bytes(w.serialize());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("expected [2048,*]"), std::string::npos) << r.error().message;
}
