#pragma once
// Word-at-a-time scan for JSON string escaping, shared by the access log
// (telemetry/log.cpp) and the upstream body writer (api/json_write.cpp).
#include <cstdint>

namespace switchyard {

// True when one of the 8 bytes in `w` needs escaping in a JSON string: below
// 0x20, '"' or '\\'. Word-at-a-time tests from the classic bit tricks: a
// byte below n (n <= 128) and a zero byte after xor with the character. They
// answer "any such byte" exactly (which byte can be off, so the caller then
// looks at those 8 bytes one by one).
inline bool word_needs_json_escape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  const uint64_t q = w ^ (kOnes * '"');
  const uint64_t quote = (q - kOnes) & ~q & kHigh;
  const uint64_t b = w ^ (kOnes * '\\');
  const uint64_t backslash = (b - kOnes) & ~b & kHigh;
  return (below_space | quote | backslash) != 0;
}

}  // namespace switchyard
