#include "learned/featurizer.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstring>

#include "learned/hashing.h"
#include "learned/normalise.h"

namespace switchyard::learned {

namespace json = boost::json;

namespace {

// 1 + ln(count), tabulated for the counts that occur in practice.
float sublinear_tf(float count) {
  static const auto table = [] {
    std::array<float, 64> t{};
    for (size_t i = 1; i < t.size(); ++i) t[i] = 1.0f + std::log(static_cast<float>(i));
    return t;
  }();
  const auto c = static_cast<size_t>(count);
  return c < table.size() ? table[c] : 1.0f + std::log(count);
}

const char* kind_name(BlockKind kind) {
  switch (kind) {
    case BlockKind::kWord:
      return "word";
    case BlockKind::kChar:
      return "char";
    case BlockKind::kTailWord:
      return "tail_word";
  }
  return "?";
}

unsigned char kind_tag(BlockKind kind) {
  switch (kind) {
    case BlockKind::kWord:
      return 'w';
    case BlockKind::kChar:
      return 'c';
    case BlockKind::kTailWord:
      return 't';
  }
  return '?';
}

}  // namespace

HashedTfidfSpec HashedTfidfSpec::defaults() {
  HashedTfidfSpec spec;
  spec.blocks = {
      {BlockKind::kWord, 1, 2, 0, 1.0f},
      {BlockKind::kChar, 4, 4, 256, 1.0f},
      {BlockKind::kTailWord, 1, 2, 512, 1.0f},
  };
  return spec;
}

json::object HashedTfidfSpec::to_json() const {
  json::array blocks_json;
  for (const auto& b : blocks) {
    json::object o{
        {"kind", kind_name(b.kind)}, {"min_n", b.min_n}, {"max_n", b.max_n}, {"weight", b.weight}};
    if (b.kind == BlockKind::kTailWord || b.tail_bytes > 0) o["tail_bytes"] = b.tail_bytes;
    blocks_json.push_back(std::move(o));
  }
  return json::object{{"type", "hashed_tfidf"},           {"hash_bits", hash_bits},
                      {"blocks", std::move(blocks_json)}, {"use_idf", use_idf},
                      {"dense_weight", dense_weight},     {"max_bytes", max_bytes}};
}

Result<HashedTfidfSpec> HashedTfidfSpec::from_json(const json::object& spec) {
  HashedTfidfSpec out;
  auto bits = json_int_at(spec, "hash_bits", "featurizer");
  if (!bits) return bits.error();
  if (*bits < 4 || *bits > 24) {
    return artefact_error(kErrArtefactMismatch, "featurizer.hash_bits must be 4..24");
  }
  out.hash_bits = static_cast<int>(*bits);
  const json::value* blocks = spec.if_contains("blocks");
  if (blocks == nullptr || !blocks->is_array() || blocks->as_array().empty()) {
    return artefact_error(kErrArtefactMismatch, "featurizer.blocks missing or empty");
  }
  for (const auto& v : blocks->as_array()) {
    if (!v.is_object())
      return artefact_error(kErrArtefactMismatch, "featurizer.blocks[] not object");
    const auto& o = v.as_object();
    FeatureBlock b;
    auto kind = json_string_at(o, "kind", "featurizer.blocks[]");
    if (!kind) return kind.error();
    if (*kind == "word")
      b.kind = BlockKind::kWord;
    else if (*kind == "char")
      b.kind = BlockKind::kChar;
    else if (*kind == "tail_word")
      b.kind = BlockKind::kTailWord;
    else
      return artefact_error(kErrArtefactMismatch, "featurizer block kind '" + *kind + "' unknown");
    auto min_n = json_int_at(o, "min_n", "featurizer.blocks[]");
    auto max_n = json_int_at(o, "max_n", "featurizer.blocks[]");
    if (!min_n) return min_n.error();
    if (!max_n) return max_n.error();
    if (*min_n < 1 || *max_n < *min_n || *max_n > 7) {
      return artefact_error(kErrArtefactMismatch,
                            "featurizer block needs 1 <= min_n <= max_n <= 7");
    }
    b.min_n = static_cast<int>(*min_n);
    b.max_n = static_cast<int>(*max_n);
    b.weight = static_cast<float>(json_number_or(o, "weight", 1.0));
    if (!(b.weight > 0) || !std::isfinite(b.weight)) {
      return artefact_error(kErrArtefactMismatch, "featurizer block weight must be > 0");
    }
    if (b.kind == BlockKind::kTailWord) {
      auto tail = json_int_at(o, "tail_bytes", "featurizer.blocks[]");
      if (!tail) return tail.error();
      if (*tail < 1) return artefact_error(kErrArtefactMismatch, "tail_bytes must be >= 1");
      b.tail_bytes = static_cast<uint32_t>(*tail);
    } else if (b.kind == BlockKind::kChar) {
      const double tail = json_number_or(o, "tail_bytes", 0);
      if (!(tail >= 0 && tail <= (1u << 30))) {
        return artefact_error(kErrArtefactMismatch, "tail_bytes out of range");
      }
      b.tail_bytes = static_cast<uint32_t>(tail);
    }
    out.blocks.push_back(b);
  }
  const json::value* use_idf = spec.if_contains("use_idf");
  out.use_idf = use_idf != nullptr && use_idf->is_bool() ? use_idf->as_bool() : false;
  out.dense_weight = static_cast<float>(json_number_or(spec, "dense_weight", 0.0));
  if (!(out.dense_weight >= 0) || !std::isfinite(out.dense_weight)) {
    return artefact_error(kErrArtefactMismatch, "featurizer.dense_weight must be >= 0");
  }
  const double max_bytes = json_number_or(spec, "max_bytes", 32768);
  if (!(max_bytes >= 16 && max_bytes <= (1u << 20))) {
    return artefact_error(kErrArtefactMismatch, "featurizer.max_bytes out of range");
  }
  out.max_bytes = static_cast<uint32_t>(max_bytes);
  return out;
}

HashedTfidfFeaturizer::HashedTfidfFeaturizer(HashedTfidfSpec spec, std::vector<float> idf)
    : spec_(std::move(spec)), idf_(std::move(idf)) {}

namespace {

// Odd 64-bit constant (2^64 / golden ratio) of the character n-gram hash.
constexpr uint64_t kCharHashMultiplier = 0x9E3779B97F4A7C15ULL;

}  // namespace

void HashedTfidfFeaturizer::normalise_text(std::string_view text, FeatureScratch& s) const {
  // max_bytes <= 2^20 (checked when the spec is read) keeps the packed
  // byte-class counters from overflowing.
  if (text.size() > spec_.max_bytes) text = text.substr(text.size() - spec_.max_bytes);
  normalise_prompt(text, s);
  // Each word hashed once, 8 bytes at a time (same as word_hash(); the zero
  // padding after the text makes the unaligned loads safe).
  if (s.word_hash.size() < s.words) s.word_hash.resize(s.words);
  const char* t = s.text.data();
  for (size_t i = 0; i < s.words; ++i) {
    const uint32_t a = s.word_start[i], len = s.word_end[i] - a;
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ len;
    for (uint32_t off = 0; off < len; off += 8) {
      uint64_t chunk;
      std::memcpy(&chunk, t + a + off, 8);
      const uint32_t rem = len - off;
      if (rem < 8) chunk &= (uint64_t{1} << (8 * rem)) - 1;
      h = (h ^ chunk) * 0xFF51AFD7ED558CCDULL;
      h ^= h >> 32;
    }
    s.word_hash[i] = h;
  }
}

template <typename Emit>
void HashedTfidfFeaturizer::for_each_bucket(const FeatureBlock& block, const FeatureScratch& s,
                                            Emit&& emit) const {
  const std::string_view text(s.text.data(), s.text_size + kTextPadding);
  const size_t n = s.text_size;
  if (block.kind == BlockKind::kChar) {
    // Multiply-shift hash of the n-gram bytes packed little-endian with n in
    // the top byte: a few instructions per n-gram, which matters because a
    // 2 KB prompt has thousands of them.
    const int shift = 64 - spec_.hash_bits;
    const size_t first = (block.tail_bytes > 0 && n > block.tail_bytes) ? n - block.tail_bytes : 0;
    const char* p = text.data();
    const size_t full = n >= static_cast<size_t>(block.max_n) ? n - block.max_n + 1 : 0;
    uint64_t mask[8], tag[8];
    for (int len = block.min_n; len <= block.max_n; ++len) {
      mask[len] = (uint64_t{1} << (8 * len)) - 1;
      tag[len] = uint64_t(len) << 56;
    }
    size_t i = first;
    for (; i < full; ++i) {  // every length fits
      uint64_t word;
      std::memcpy(&word, p + i, 8);  // safe: text carries 8 bytes of padding
      for (int len = block.min_n; len <= block.max_n; ++len) {
        emit(static_cast<uint32_t>((((word & mask[len]) | tag[len]) * kCharHashMultiplier) >>
                                   shift));
      }
    }
    for (; i < n; ++i) {  // the last few positions
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      for (int len = block.min_n; len <= block.max_n && i + len <= n; ++len) {
        emit(static_cast<uint32_t>((((word & mask[len]) | tag[len]) * kCharHashMultiplier) >>
                                   shift));
      }
    }
    return;
  }
  const uint64_t mask = hash_dim() - 1;
  const unsigned char tag = kind_tag(block.kind);
  const size_t words = s.words;
  size_t first = 0;
  uint32_t tail_start = 0;
  if (block.kind == BlockKind::kTailWord && n > block.tail_bytes) {
    tail_start = static_cast<uint32_t>(n - block.tail_bytes);
    while (first < words && s.word_end[first] <= tail_start) ++first;
  }
  uint64_t seeds[8];
  for (int len = block.min_n; len <= block.max_n; ++len) seeds[len] = ngram_seed(tag, len);
  // A tail cut through a word hashes the part inside the tail.
  const bool cut = first < words && s.word_start[first] < tail_start;
  const uint64_t first_hash =
      cut ? word_hash(std::string_view(text).substr(tail_start, s.word_end[first] - tail_start))
          : 0;
  if (block.min_n == 1 && block.max_n == 2) {
    // The default uni+bigrams, unrolled (same hashes, same order as below): the
    // generic loops' variable trip counts cost more than the hashing here.
    const uint64_t* h = s.word_hash.data();
    for (size_t i = first; i < words; ++i) {
      const uint64_t wi = (i == first && cut) ? first_hash : h[i];
      emit(static_cast<uint32_t>(fmix64(ngram_step(seeds[1], wi)) & mask));
      if (i + 1 < words) {
        emit(static_cast<uint32_t>(fmix64(ngram_step(ngram_step(seeds[2], wi), h[i + 1])) & mask));
      }
    }
    return;
  }
  for (size_t i = first; i < words; ++i) {
    for (int len = block.min_n; len <= block.max_n && i + len <= words; ++len) {
      uint64_t g = seeds[len];
      for (int k = 0; k < len; ++k) {
        const size_t w = i + k;
        g = ngram_step(g, (w == first && cut) ? first_hash : s.word_hash[w]);
      }
      emit(static_cast<uint32_t>(fmix64(g) & mask));
    }
  }
}

void HashedTfidfFeaturizer::hashed_buckets(std::string_view text, FeatureScratch& scratch,
                                           std::vector<std::vector<uint32_t>>& per_block) const {
  normalise_text(text, scratch);
  per_block.assign(spec_.blocks.size(), {});
  for (size_t b = 0; b < spec_.blocks.size(); ++b) {
    for_each_bucket(spec_.blocks[b], scratch,
                    [&](uint32_t bucket) { per_block[b].push_back(bucket); });
  }
}

namespace {

// Sum of squares in double with four independent accumulators: one serial
// chain of double adds over ~1,000 values was ~10 % of a 2 KB featurization.
// The order differs from a plain loop only in the last bits of the double sum,
// which the float result it feeds does not see (bit-identical on both shared
// data sets' prompts).
double sum_of_squares(const float* v, size_t n) {
  double acc[4] = {0, 0, 0, 0};
  size_t k = 0;
  for (; k + 4 <= n; k += 4) {
    for (size_t j = 0; j < 4; ++j) acc[j] += static_cast<double>(v[k + j]) * v[k + j];
  }
  for (; k < n; ++k) acc[0] += static_cast<double>(v[k]) * v[k];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

}  // namespace

size_t HashedTfidfFeaturizer::max_ngrams(const FeatureScratch& s) const {
  const size_t n = s.text_size;
  const size_t words = s.words;
  size_t total = 0;
  for (const FeatureBlock& block : spec_.blocks) {
    const size_t lengths = static_cast<size_t>(block.max_n) - static_cast<size_t>(block.min_n) + 1;
    if (block.kind == BlockKind::kChar) {
      const size_t positions =
          (block.tail_bytes > 0 && n > block.tail_bytes) ? block.tail_bytes : n;
      total += positions * lengths;
    } else {
      total += words * lengths;
    }
  }
  return total;
}

Result<bool> HashedTfidfFeaturizer::featurize(const RouteInput& input, FeatureScratch& s,
                                              SparseVector& out) const {
  out.clear();
  const uint32_t dim = hash_dim();
  normalise_text(input.prompt, s);

  // Use a table of >= 1.5x the n-grams (load <= 2/3 even if all are
  // distinct). The allocation only grows, so steady state does not allocate;
  // a short prompt after a long one uses a prefix of it (all of it is free).
  const size_t items = max_ngrams(s);
  size_t capacity = 1024;
  while (capacity < items + items / 2) capacity *= 2;
  if (s.table.size() < capacity) s.table.assign(capacity, 0);
  if (s.bucket.size() < items) {
    s.bucket.resize(items);
    s.slot.resize(items);
    s.count.resize(items);
    s.total.resize(items);
    s.block_entries.resize(items);
    s.items.resize(items);
    s.block_value.resize(items);
  }
  uint32_t* const table = s.table.data();
  const auto slot_mask = static_cast<uint32_t>(capacity - 1);
  int log2_capacity = 0;
  while ((size_t{1} << log2_capacity) < capacity) ++log2_capacity;
  const int slot_shift = 32 - log2_capacity;
  uint32_t* const bucket_of = s.bucket.data();
  uint32_t* const slot_of = s.slot.data();
  uint32_t* const count = s.count.data();
  float* const total = s.total.data();
  uint32_t* const block_entries = s.block_entries.data();
  float* const block_value = s.block_value.data();
  uint32_t entries = 0;

  // Counts and totals are zero for every entry this call can create, so the
  // insertion loop below needs no "is it new?" branch. They are zero because
  // resize() zero-fills new slots and every call resets the slots it used
  // (counts after each block, totals when they are written out), which saves
  // clearing ~2 x 8 KB per 2 KB prompt.
  uint32_t* const block_items = s.items.data();

  for (const FeatureBlock& block : spec_.blocks) {
    // Two phases. Hashing first, into an array: no data-dependent branch, so
    // the multiply chains of consecutive n-grams overlap. Then counting, with
    // selects instead of branches: whether an n-gram is new is a coin flip the
    // branch predictor cannot learn, and each miss used to cost the whole hash
    // chain behind it (measured: 2x slower featurization).
    uint32_t n_items = 0;
    for_each_bucket(block, s, [&](uint32_t bucket) { block_items[n_items++] = bucket; });
    uint32_t block_size = 0;
    for (uint32_t k = 0; k < n_items; ++k) {
      const uint32_t bucket = block_items[k];
      // Buckets are hash outputs already; the multiply spreads the char-gram
      // buckets (top bits of a product) over the low slot bits too.
      uint32_t i = (bucket * 0x9E3779B1u) >> slot_shift;
      uint32_t cell = table[i];
      while (cell != 0 && bucket_of[cell - 1] != bucket) {
        i = (i + 1) & slot_mask;
        cell = table[i];
      }
      const bool fresh = cell == 0;
      const uint32_t e = fresh ? entries : cell - 1;
      table[i] = e + 1;
      bucket_of[e] = bucket;
      slot_of[e] = i;
      entries += fresh ? 1u : 0u;
      const uint32_t c = count[e];
      count[e] = c + 1;
      block_entries[block_size] = e;
      block_size += c == 0 ? 1u : 0u;
    }
    // Counts saturate at 2^16 - 1 (the artefact format's historical counter width).
    for (uint32_t k = 0; k < block_size; ++k) {
      const uint32_t e = block_entries[k];
      float v = sublinear_tf(static_cast<float>(std::min<uint32_t>(count[e], UINT16_MAX)));
      if (!idf_.empty()) v *= idf_[bucket_of[e]];
      block_value[k] = v;
      count[e] = 0;
    }
    const double norm2 = sum_of_squares(block_value, block_size);
    const float scale = norm2 > 0 ? static_cast<float>(block.weight / std::sqrt(norm2)) : 0.0f;
    for (uint32_t k = 0; k < block_size; ++k) total[block_entries[k]] += block_value[k] * scale;
  }
  const double norm2 = sum_of_squares(total, entries);
  const float inv = norm2 > 0 ? static_cast<float>(1.0 / std::sqrt(norm2)) : 0.0f;
  out.index.resize(entries);
  out.value.resize(entries);
  for (uint32_t e = 0; e < entries; ++e) {
    out.index[e] = bucket_of[e];
    out.value[e] = total[e] * inv;
    total[e] = 0.0f;
    table[slot_of[e]] = 0;
  }

  if (spec_.dense_weight > 0) {
    std::string_view raw = input.prompt;
    const double full_bytes = static_cast<double>(raw.size());
    if (raw.size() > spec_.max_bytes) raw = raw.substr(raw.size() - spec_.max_bytes);
    const uint64_t mask21 = (uint64_t{1} << 21) - 1;
    const uint64_t newlines = s.byte_classes & mask21;
    const uint64_t digits = (s.byte_classes >> 21) & mask21;
    const uint64_t code = (s.byte_classes >> 42) & mask21;
    const double n = std::max<double>(1.0, static_cast<double>(raw.size()));
    const double dense[kDenseFeatures] = {
        std::log1p(full_bytes) / 10.0,
        std::min(1.0, 20.0 * static_cast<double>(newlines) / n),
        std::min(1.0, 5.0 * static_cast<double>(digits) / n),
        std::min(1.0, 5.0 * static_cast<double>(code) / n),
    };
    for (uint32_t j = 0; j < kDenseFeatures; ++j) {
      if (dense[j] != 0.0) out.push(dim + j, static_cast<float>(dense[j] * spec_.dense_weight));
    }
  }
  return true;
}

std::unique_ptr<HashedTfidfFeaturizer> HashedTfidfFeaturizer::fit(
    HashedTfidfSpec spec, const std::vector<std::string>& texts) {
  std::vector<float> idf;
  if (spec.use_idf) {
    HashedTfidfSpec counting = spec;
    counting.use_idf = false;
    counting.dense_weight = 0;
    HashedTfidfFeaturizer plain(counting, {});
    FeatureScratch scratch;
    SparseVector v;
    std::vector<uint32_t> df(plain.hash_dim(), 0);
    for (const auto& text : texts) {
      (void)plain.featurize(RouteInput{text, {}}, scratch, v);
      for (uint32_t b : v.index) ++df[b];
    }
    idf.resize(df.size());
    const double n = static_cast<double>(texts.size());
    for (size_t b = 0; b < df.size(); ++b) {
      idf[b] = static_cast<float>(std::log((1.0 + n) / (1.0 + df[b])) + 1.0);
    }
  }
  return std::make_unique<HashedTfidfFeaturizer>(std::move(spec), std::move(idf));
}

void HashedTfidfFeaturizer::save(json::object& spec, ArtefactWriter& writer) const {
  spec = spec_.to_json();
  if (!idf_.empty()) {
    spec["idf"] = "featurizer.idf";
    writer.add_f32("featurizer.idf", {idf_.size()}, idf_);
  }
}

Result<bool> EmbeddingFeaturizer::featurize(const RouteInput& input, FeatureScratch&,
                                            SparseVector& out) const {
  out.clear();
  if (input.embedding.size() != dim_) {
    return Error::make(ErrorKind::kInvalidRequest,
                       "router expects an embedding of " + std::to_string(dim_) + " values, got " +
                           std::to_string(input.embedding.size()),
                       std::string("embedding_dimension"));
  }
  double norm2 = 0;
  for (float v : input.embedding) norm2 += static_cast<double>(v) * v;
  const float scale = (normalise_ && norm2 > 0) ? static_cast<float>(1.0 / std::sqrt(norm2)) : 1.0f;
  out.index.reserve(dim_);
  out.value.reserve(dim_);
  for (uint32_t i = 0; i < dim_; ++i) {
    if (input.embedding[i] != 0.0f) out.push(i, input.embedding[i] * scale);
  }
  return true;
}

void EmbeddingFeaturizer::save(json::object& spec, ArtefactWriter&) const {
  spec = json::object{{"type", "embedding"}, {"dim", dim_}, {"normalise", normalise_}};
}

Result<std::unique_ptr<Featurizer>> load_featurizer(const Artefact& artefact) {
  auto spec = json_object_at(artefact.header(), "featurizer", "header");
  if (!spec) return spec.error();
  auto type = json_string_at(**spec, "type", "featurizer");
  if (!type) return type.error();
  if (*type == "embedding") {
    auto dim = json_int_at(**spec, "dim", "featurizer");
    if (!dim) return dim.error();
    if (*dim < 1 || *dim > (1 << 20)) {
      return artefact_error(kErrArtefactMismatch, "featurizer.dim out of range");
    }
    const json::value* normalise = (*spec)->if_contains("normalise");
    return std::unique_ptr<Featurizer>(std::make_unique<EmbeddingFeaturizer>(
        static_cast<uint32_t>(*dim),
        normalise == nullptr || !normalise->is_bool() || normalise->as_bool()));
  }
  if (*type != "hashed_tfidf") {
    return artefact_error(kErrArtefactMismatch, "featurizer type '" + *type + "' unknown");
  }
  auto parsed = HashedTfidfSpec::from_json(**spec);
  if (!parsed) return parsed.error();
  std::vector<float> idf;
  if (parsed->use_idf) {
    auto tensor = artefact.f32("featurizer.idf", {uint64_t{1} << parsed->hash_bits});
    if (!tensor) return tensor.error();
    idf = std::move(*tensor);
    for (float v : idf) {
      if (!(v > 0) || !std::isfinite(v)) {
        return artefact_error(kErrArtefactMismatch, "featurizer.idf holds a non-positive value");
      }
    }
  }
  return std::unique_ptr<Featurizer>(
      std::make_unique<HashedTfidfFeaturizer>(std::move(*parsed), std::move(idf)));
}

}  // namespace switchyard::learned
