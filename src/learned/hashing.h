#pragma once
// The hashes that map n-grams to feature buckets. They are part of the artefact
// format: models trained outside Switchyard (docs/routing.md, "custom") must
// reproduce them bit for bit, so they are deliberately simple (multiplies,
// xor-shifts and the MurmurHash3 64-bit finaliser); the Python reference is
// tests/unit/learned_fixtures/make_custom_router.py.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace switchyard::learned {

uint64_t fmix64(uint64_t k);

// Word n-grams hash each word once and combine the word hashes, so a bigram
// costs two multiplies instead of re-reading both words byte by byte.
// word_hash: 8-byte little-endian chunks (the last one zero-padded).
inline uint64_t word_hash(std::string_view word) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ word.size();
  for (size_t i = 0; i < word.size(); i += 8) {
    uint64_t chunk = 0;
    const size_t n = word.size() - i < 8 ? word.size() - i : 8;
    for (size_t k = 0; k < n; ++k)
      chunk |= uint64_t{static_cast<unsigned char>(word[i + k])} << (8 * k);
    h = (h ^ chunk) * 0xFF51AFD7ED558CCDULL;
    h ^= h >> 32;
  }
  return h;
}
inline uint64_t ngram_seed(unsigned char tag, int n) {
  return fmix64((uint64_t{tag} << 8) | static_cast<uint64_t>(n));
}
inline uint64_t ngram_step(uint64_t g, uint64_t word) {
  g = (g ^ word) * 0xC4CEB9FE1A85EC53ULL;
  return g ^ (g >> 29);
}

inline uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

}  // namespace switchyard::learned
