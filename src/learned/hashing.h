#pragma once
// The hash used to map n-grams to feature buckets. It is part of the artefact
// format: models trained outside Switchyard (docs/routing.md, "custom") must
// reproduce it bit for bit, so it is deliberately simple: 64-bit FNV-1a over the
// bytes, then the MurmurHash3 64-bit finaliser to spread FNV's weak low bits.
#include <cstdint>
#include <string_view>

namespace switchyard::learned {

inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
inline constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

inline uint64_t fnv1a_byte(uint64_t h, unsigned char byte) { return (h ^ byte) * kFnvPrime; }

inline uint64_t fnv1a(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) h = fnv1a_byte(h, c);
  return h;
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
