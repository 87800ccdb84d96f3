#pragma once
// Featurizers turn a prompt (or a precomputed embedding) into the sparse vector
// every router model consumes. The spec and fitted state (IDF) live inside the
// artefact, so a router always featurizes exactly as it was trained.
//
// Built in:
//   hashed_tfidf  word n-grams, character n-grams and "tail" words (the words of
//                 the last N bytes, where chat prompts put the actual question),
//                 hashed into 2^bits buckets, sublinear TF x IDF, each block
//                 L2-normalised and weighted, the whole L2-normalised, plus a few
//                 cheap dense features (length, digits, code punctuation).
//   embedding     a dense vector computed elsewhere (an embedding deployment, or
//                 an `embedding` array per training row), L2-normalised.
//
// Featurizers are immutable after construction; featurize() is const and
// thread-safe, with all per-call memory in a caller-owned FeatureScratch.
#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "learned/artefact.h"
#include "learned/sparse.h"

namespace switchyard::learned {

// What a routing decision is made from. `embedding` is only read by the
// embedding featurizer; the text featurizers only read `prompt`.
struct RouteInput {
  std::string_view prompt;
  std::span<const float> embedding;
};

// Per-thread working memory, grown on first use and reused afterwards so
// steady-state featurization allocates nothing.
//
// Distinct buckets are counted in a small open-addressing table sized to the
// call (a power of two >= 1.5x its n-grams) rather than in hash-space-sized
// arrays, so the counting loop can run without data-dependent branches (see
// featurize()). The table is kept all-empty, and `count` and `total` all-zero,
// between calls (only the used slots are reset).
struct FeatureScratch {
  // The normalised prompt is text[0, text_size), followed by 8 zero bytes of
  // padding; the buffer only grows.
  std::string text;
  uint32_t text_size = 0;
  uint32_t words = 0;                // words in `text`; the vectors below may be longer
  std::vector<uint32_t> word_start;  // word boundaries in `text`
  std::vector<uint32_t> word_end;
  std::vector<uint64_t> word_hash;  // word_hash() of each word
  std::vector<uint32_t> items;      // the current block's buckets, with repeats
  std::vector<uint32_t> table;      // entry + 1 per slot, or 0 when free
  // Per distinct bucket of the call, in first-seen order:
  std::vector<uint32_t> bucket;
  std::vector<uint32_t> slot;           // its position in `table`
  std::vector<uint32_t> count;          // n-gram count in the current block
  std::vector<float> total;             // weight accumulated over blocks
  std::vector<uint32_t> block_entries;  // entries seen in the current block
  std::vector<float> block_value;       // their tf x idf in this block
  uint64_t byte_classes = 0;            // packed newline/digit/code counts of the raw text
};

class Featurizer {
 public:
  virtual ~Featurizer() = default;
  virtual std::string type() const = 0;
  // Number of feature indices models see; every index is < dimension().
  virtual uint32_t dimension() const = 0;
  virtual bool needs_embedding() const { return false; }
  // Fills `out` (cleared first). Returns an error only for unusable input
  // (an embedding of the wrong size); text never fails.
  virtual Result<bool> featurize(const RouteInput& input, FeatureScratch& scratch,
                                 SparseVector& out) const = 0;
  // Spec and fitted state, written into the artefact header under "featurizer"
  // and as tensors named "featurizer.*".
  virtual void save(boost::json::object& spec, ArtefactWriter& writer) const = 0;
};

// ---- hashed TF-IDF -------------------------------------------------------

enum class BlockKind { kWord, kChar, kTailWord };

struct FeatureBlock {
  BlockKind kind = BlockKind::kWord;
  int min_n = 1;
  int max_n = 1;
  // kTailWord: words of the last tail_bytes of the normalised text.
  // kChar: n-grams starting in the last tail_bytes (0 = the whole text); n <= 7.
  uint32_t tail_bytes = 0;
  float weight = 1.0f;
};

struct HashedTfidfSpec {
  int hash_bits = 14;
  std::vector<FeatureBlock> blocks;
  bool use_idf = true;
  float dense_weight = 0.3f;   // weight of the kDenseFeatures hand-made features
  uint32_t max_bytes = 32768;  // longer prompts keep their last max_bytes bytes

  // Word uni+bigrams, char 4-grams of the last 256 bytes, words of the last 512
  // bytes, 2^14 buckets (chosen for latency at equal accuracy: docs/routing.md).
  static HashedTfidfSpec defaults();
  boost::json::object to_json() const;
  static Result<HashedTfidfSpec> from_json(const boost::json::object& spec);
};

inline constexpr uint32_t kDenseFeatures = 4;

class HashedTfidfFeaturizer final : public Featurizer {
 public:
  // Without fitted IDF every bucket weighs 1 (spec.use_idf must then be false).
  HashedTfidfFeaturizer(HashedTfidfSpec spec, std::vector<float> idf);

  // Fits IDF on `texts` (document frequency per bucket, smoothed).
  static std::unique_ptr<HashedTfidfFeaturizer> fit(HashedTfidfSpec spec,
                                                    const std::vector<std::string>& texts);

  std::string type() const override { return "hashed_tfidf"; }
  // The dense features take indices hash_dim() .. hash_dim() + 3, and only exist
  // when dense_weight > 0 (so externally built models can ignore them).
  uint32_t dimension() const override {
    return hash_dim() + (spec_.dense_weight > 0 ? kDenseFeatures : 0);
  }
  Result<bool> featurize(const RouteInput& input, FeatureScratch& scratch,
                         SparseVector& out) const override;
  void save(boost::json::object& spec, ArtefactWriter& writer) const override;

  uint32_t hash_dim() const { return 1u << spec_.hash_bits; }
  const HashedTfidfSpec& spec() const { return spec_; }

  // Bucket ids of every hashed n-gram of `text`, block by block, with repeats.
  // Exposed for tests and for people reproducing the hash outside Switchyard.
  void hashed_buckets(std::string_view text, FeatureScratch& scratch,
                      std::vector<std::vector<uint32_t>>& per_block) const;

 private:
  // Calls emit(bucket) for every n-gram of `block` in the normalised text.
  template <typename Emit>
  void for_each_bucket(const FeatureBlock& block, const FeatureScratch& scratch, Emit&& emit) const;
  void normalise_text(std::string_view text, FeatureScratch& scratch) const;
  // Upper bound on the n-grams for_each_bucket() emits over all blocks.
  size_t max_ngrams(const FeatureScratch& scratch) const;

  HashedTfidfSpec spec_;
  std::vector<float> idf_;  // hash_dim() entries, or empty when !use_idf
};

// ---- precomputed embeddings ----------------------------------------------

class EmbeddingFeaturizer final : public Featurizer {
 public:
  EmbeddingFeaturizer(uint32_t dim, bool normalise) : dim_(dim), normalise_(normalise) {}
  std::string type() const override { return "embedding"; }
  uint32_t dimension() const override { return dim_; }
  bool needs_embedding() const override { return true; }
  Result<bool> featurize(const RouteInput& input, FeatureScratch& scratch,
                         SparseVector& out) const override;
  void save(boost::json::object& spec, ArtefactWriter& writer) const override;

 private:
  uint32_t dim_;
  bool normalise_;
};

// Rebuilds the featurizer recorded in an artefact header ("featurizer" object).
Result<std::unique_ptr<Featurizer>> load_featurizer(const Artefact& artefact);

}  // namespace switchyard::learned
