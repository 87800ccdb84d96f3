// The artefact container and router loading: round trips, and every kind of
// damaged or mismatched file is refused with a clear error instead of a crash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "learned/artefact.h"
#include "learned/router.h"
#include "learned_test_util.h"

using namespace switchyard::learned;
using namespace switchyard::learned::testing;
namespace json = boost::json;

namespace {

std::string trained_knn_bytes() {
  static const std::string bytes = [] {
    auto outcome = train_router(synthetic_dataset(10, 1), fast_options("knn"));
    EXPECT_TRUE(outcome.ok());
    return outcome.ok() ? outcome->artefact : std::string();
  }();
  return bytes;
}

// Rebuilds a file image around a header text and data blob with a correct
// checksum, to get damaged content past the integrity check.
std::string forge(std::string header_text, const std::string& data, uint32_t version = 1) {
  while (header_text.size() % 8) header_text.push_back(' ');
  const std::string payload = header_text + data;
  const std::string hex = sha256_hex(payload);
  std::string out = "SYROUTER";
  auto put = [&](uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  put(version, 4);
  put(0, 4);
  put(header_text.size(), 8);
  put(data.size(), 8);
  for (size_t i = 0; i < 32; ++i) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16)));
  }
  return out + payload;
}

// Splits a valid image into (header object, data blob).
std::pair<json::object, std::string> split(const std::string& image) {
  uint64_t h = 0, d = 0;
  std::memcpy(&h, image.data() + 16, 8);
  std::memcpy(&d, image.data() + 24, 8);
  auto header = json::parse(image.substr(64, h)).as_object();
  return {header, image.substr(64 + h, d)};
}

std::string code_of(const switchyard::Error& e) { return e.code.value_or(""); }

// Re-serialises an ArtefactWriter-built artefact after `edit` changed its header.
template <typename Edit>
switchyard::Error load_error_after(Edit edit) {
  auto [header, data] = split(trained_knn_bytes());
  edit(header);
  auto loaded = RouterModel::load_bytes(forge(json::serialize(header), data));
  EXPECT_FALSE(loaded.ok());
  return loaded.ok() ? switchyard::Error{} : loaded.error();
}

}  // namespace

TEST(LearnedArtefact, WriterRoundTripsTensorsAndHeader) {
  ArtefactWriter w;
  w.header()["format_version"] = 1;
  w.header()["hello"] = "world";
  const std::vector<float> f = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  const std::vector<uint32_t> u = {1, 2, 3};
  const std::vector<uint64_t> l = {1ull << 40};
  w.add_f32("a.f", {2, 3}, f);
  w.add_u32("b.u", {3}, u);
  w.add_u64("c.l", {1}, l);
  std::string checksum;
  auto image = w.serialize(&checksum);
  auto a = Artefact::parse(image);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->checksum(), checksum);
  EXPECT_EQ(json_string_or(a->header(), "hello", ""), "world");
  std::vector<uint64_t> shape;
  auto back = a->f32("a.f", {0, 3}, &shape);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, f);
  EXPECT_EQ(shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(*a->u32("b.u", {3}), u);
  EXPECT_EQ(*a->u64("c.l", {1}), l);
  auto wrong_shape = a->f32("a.f", {3, 2});
  ASSERT_FALSE(wrong_shape.ok());
  EXPECT_EQ(code_of(wrong_shape.error()), kErrArtefactMismatch);
  EXPECT_NE(wrong_shape.error().message.find("has shape [2,3], expected [3,2]"), std::string::npos);
  EXPECT_FALSE(a->u32("a.f", {2, 3}).ok());  // wrong dtype
  EXPECT_FALSE(a->f32("missing", {1}).ok());
  // Same content, same bytes.
  EXPECT_EQ(w.serialize(), image);
}

TEST(LearnedArtefact, TruncatedAtEveryLengthIsRefusedCleanly) {
  const std::string image = trained_knn_bytes();
  ASSERT_GT(image.size(), 1000u);
  for (size_t n = 0; n < image.size(); n += (n < 128 ? 1 : 37)) {
    auto r = Artefact::parse(image.substr(0, n));
    ASSERT_FALSE(r.ok()) << n;
    const std::string code = code_of(r.error());
    EXPECT_TRUE(code == kErrArtefactTruncated || code == kErrArtefactCorrupt) << n << " " << code;
  }
  auto r = Artefact::parse(image.substr(0, image.size() - 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.error()), kErrArtefactTruncated);
  EXPECT_NE(r.error().message.find("truncated router artefact"), std::string::npos);
}

TEST(LearnedArtefact, AnyFlippedByteIsDetected) {
  const std::string image = trained_knn_bytes();
  for (size_t pos = 0; pos < image.size(); pos += 53) {
    std::string damaged = image;
    damaged[pos] = static_cast<char>(damaged[pos] ^ 0x20);
    auto r = RouterModel::load_bytes(damaged);
    EXPECT_FALSE(r.ok()) << "flip at " << pos;
  }
  std::string damaged = image;
  damaged[image.size() - 3] ^= 1;
  auto r = Artefact::parse(damaged);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.error()), kErrArtefactCorrupt);
  EXPECT_NE(r.error().message.find("checksum mismatch"), std::string::npos);
}

TEST(LearnedArtefact, BadMagicWrongVersionAndTrailingBytes) {
  const std::string image = trained_knn_bytes();
  std::string not_ours = image;
  not_ours.replace(0, 8, "GGUF\0\0\0\0", 8);
  auto r = Artefact::parse(not_ours);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bad magic"), std::string::npos);

  auto [header, data] = split(image);
  r = Artefact::parse(forge(json::serialize(header), data, 2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.error()), kErrArtefactVersion);
  EXPECT_NE(r.error().message.find("format version 2"), std::string::npos);

  header["format_version"] = 7;
  r = Artefact::parse(forge(json::serialize(header), data));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.error()), kErrArtefactVersion);

  r = Artefact::parse(image + "junk");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("trailing bytes"), std::string::npos);
}

TEST(LearnedArtefact, BrokenHeaderJsonAndTensorDirectory) {
  auto [header, data] = split(trained_knn_bytes());
  auto r = Artefact::parse(forge("{\"format_version\": 1, ", data));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(code_of(r.error()), kErrArtefactCorrupt);
  EXPECT_NE(r.error().message.find("not a JSON object"), std::string::npos);

  json::object h = header;
  h["tensors"].as_object()["model.labels"].as_object()["offset"] = data.size() + 64;
  r = Artefact::parse(forge(json::serialize(h), data));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("outside the data section"), std::string::npos);

  h = header;
  h["tensors"].as_object()["model.labels"].as_object()["shape"] = json::array{1000000, 1000000};
  r = Artefact::parse(forge(json::serialize(h), data));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("do not hold shape"), std::string::npos);

  h = header;
  h["tensors"].as_object()["model.labels"].as_object()["dtype"] = "f16";
  r = Artefact::parse(forge(json::serialize(h), data));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("'f16' unknown"), std::string::npos);
}

TEST(LearnedArtefact, MismatchedContentIsRefusedByTheRouterLoader) {
  auto e = load_error_after([](json::object& h) { h["strategy"] = "svm"; });
  EXPECT_EQ(code_of(e), kErrArtefactMismatch);
  EXPECT_NE(e.message.find("strategy 'svm' needs model.type 'linear_svm'"), std::string::npos);

  e = load_error_after([](json::object& h) { h["strategy"] = "quantum"; });
  EXPECT_NE(e.message.find("unknown strategy 'quantum'"), std::string::npos);

  // One candidate fewer than the label matrix has columns.
  e = load_error_after([](json::object& h) { h["candidates"].as_array().pop_back(); });
  EXPECT_EQ(code_of(e), kErrArtefactMismatch);
  EXPECT_NE(e.message.find("model.labels"), std::string::npos);

  e = load_error_after([](json::object& h) { h["featurizer"].as_object()["hash_bits"] = 11; });
  EXPECT_NE(e.message.find("featurizer.idf"), std::string::npos);

  e = load_error_after([](json::object& h) { h["tensors"].as_object().erase("model.labels"); });
  EXPECT_NE(e.message.find("lacks tensor 'model.labels'"), std::string::npos);

  e = load_error_after([](json::object& h) { h.erase("featurizer"); });
  EXPECT_NE(e.message.find("featurizer missing"), std::string::npos);

  e = load_error_after(
      [](json::object& h) { h["candidates"].as_array()[1].as_object()["name"] = "cheap"; });
  EXPECT_NE(e.message.find("repeated"), std::string::npos);

  e = load_error_after([](json::object& h) {
    h["candidates"].as_array()[0].as_object()["cost"].as_object()["fixed_usd"] = -1;
  });
  EXPECT_NE(e.message.find("invalid cost"), std::string::npos);

  e = load_error_after([](json::object& h) { h["format"] = "pickle"; });
  EXPECT_NE(e.message.find("switchyard-router"), std::string::npos);
}

TEST(LearnedArtefact, FilesAreWrittenAtomicallyAndMissingFilesReported) {
  const auto dir = std::filesystem::temp_directory_path() / "switchyard_learned_artefact_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "router.syr").string();
  ASSERT_TRUE(write_file_atomically(path, trained_knn_bytes()).ok());
  auto loaded = RouterModel::load_file(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ((*loaded)->strategy(), "knn");
  EXPECT_EQ((*loaded)->checksum(), sha256_hex(std::string_view(trained_knn_bytes()).substr(64)));
  EXPECT_EQ((*loaded)->version(), (*loaded)->checksum().substr(0, 12));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));

  auto missing = RouterModel::load_file((dir / "nope.syr").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(code_of(missing.error()), kErrArtefactIo);
  EXPECT_NE(missing.error().message.find("nope.syr"), std::string::npos);
  std::filesystem::remove_all(dir);
}
