#include "learned/normalise.h"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace switchyard::learned {

namespace {

// Byte classes of the byte-at-a-time loop.
enum : uint8_t { kSpace = 1, kWord = 2, kDigit = 4, kCode = 8, kNewline = 16 };

// Bit offsets of the three counters packed into FeatureScratch::byte_classes.
constexpr int kDigitShift = 21;
constexpr int kCodeShift = 42;

struct ByteTables {
  uint8_t cls[256];
  char lower[256];
  uint64_t counts[256];  // added up per raw byte: the packed counters
  ByteTables() {
    for (int c = 0; c < 256; ++c) {
      uint8_t k = 0;
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') k |= kSpace;
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c >= 0x80) {
        k |= kWord;
      }
      if (c >= '0' && c <= '9') k |= kDigit;
      for (char p : std::string_view("{}[]();=<>_#"))
        k |= (c == static_cast<unsigned char>(p)) ? kCode : 0;
      if (c == '\n') k |= kNewline;
      cls[c] = k;
      lower[c] = static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c);
      counts[c] = ((k & kNewline) ? 1ULL : 0ULL) | ((k & kDigit) ? 1ULL << kDigitShift : 0ULL) |
                  ((k & kCode) ? 1ULL << kCodeShift : 0ULL);
    }
  }
};
const ByteTables kBytes;

// Where the pass is: output cursor, boundaries found so far, and whether the
// previous input byte was whitespace / the previous output byte a word byte.
struct Cursor {
  char* begin;
  char* out;
  uint32_t* starts;
  uint32_t* ends;
  uint32_t n_starts = 0;
  uint32_t n_ends = 0;
  bool in_space = false;
  bool in_word = false;
  uint64_t classes = 0;

  uint32_t offset() const { return static_cast<uint32_t>(out - begin); }

  void step(unsigned char c) {
    classes += kBytes.counts[c];
    const uint8_t k = kBytes.cls[c];
    if (k & kSpace) {
      if (in_word) ends[n_ends++] = offset();
      in_word = false;
      if (!in_space) *out++ = ' ';
      in_space = true;
      return;
    }
    in_space = false;
    const bool word = (k & kWord) != 0;
    if (word != in_word) {
      if (word)
        starts[n_starts++] = offset();
      else
        ends[n_ends++] = offset();
      in_word = word;
    }
    *out++ = kBytes.lower[c];
  }
};

Cursor start_pass(std::string_view text, FeatureScratch& s) {
  // Grown only: resize() would zero-fill every byte on every call.
  if (s.text.size() < text.size() + kTextPadding) s.text.resize(text.size() + kTextPadding);
  // At most one word per two bytes, plus one; the vectors only grow.
  const size_t max_words = text.size() / 2 + 2;
  if (s.word_start.size() < max_words) {
    s.word_start.resize(max_words);
    s.word_end.resize(max_words);
  }
  return Cursor{s.text.data(), s.text.data(), s.word_start.data(), s.word_end.data()};
}

void finish_pass(Cursor& c, FeatureScratch& s) {
  if (c.in_word) c.ends[c.n_ends++] = c.offset();
  s.words = c.n_starts;
  const uint32_t n = c.offset();
  std::memset(c.out, 0, kTextPadding);
  s.text_size = n;
  s.byte_classes = c.classes;
}

#if defined(__SSE2__)
// Bytes b with lo <= b < lo + len (unsigned), as a 0x00 / 0xFF mask: shifting
// the range to start at -128 turns the unsigned test into one signed compare.
__m128i bytes_in_range(__m128i v, int lo, int len) {
  const __m128i shifted = _mm_add_epi8(v, _mm_set1_epi8(static_cast<char>((128 - lo) & 0xff)));
  return _mm_cmplt_epi8(shifted, _mm_set1_epi8(static_cast<char>((len - 128) & 0xff)));
}

__m128i bytes_equal(__m128i v, char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); }

// Sum of the 16 unsigned bytes.
uint64_t byte_sum(__m128i v) {
  const __m128i halves = _mm_sad_epu8(v, _mm_setzero_si128());
  return static_cast<uint64_t>(_mm_cvtsi128_si32(halves)) +
         static_cast<uint64_t>(_mm_extract_epi16(halves, 4));
}

uint32_t mask_of(__m128i m) { return static_cast<uint32_t>(_mm_movemask_epi8(m)); }

// Records the bit positions of `bits` (a 16-bit mask) at base + position.
uint32_t append_positions(uint32_t bits, uint32_t base, uint32_t* out, uint32_t n) {
  while (bits != 0) {
    out[n++] = base + static_cast<uint32_t>(std::countr_zero(bits));
    bits &= bits - 1;
  }
  return n;
}
#endif

}  // namespace

void normalise_prompt_bytewise(std::string_view text, FeatureScratch& s) {
  Cursor c = start_pass(text, s);
  for (unsigned char b : text) c.step(b);
  finish_pass(c, s);
}

void normalise_prompt(std::string_view text, FeatureScratch& s) {
  Cursor c = start_pass(text, s);
  size_t i = 0;
#if defined(__SSE2__)
  // 16 bytes at a time. A chunk without two whitespace bytes in a row (counting
  // the byte before it) maps byte for byte onto the output: whitespace becomes
  // ' ', A-Z becomes a-z, and word boundaries are the 0->1 and 1->0 edges of
  // the word mask. Chunks with a whitespace run (collapsed, so the output is
  // shorter) go through the byte loop. The output never outruns the input, so
  // the 16-byte store stays inside the text.size() bytes of s.text.
  // Per-byte counters of the 16-byte path, added to c.classes before they can
  // wrap (255 chunks).
  __m128i newlines = _mm_setzero_si128(), digits = newlines, code_bytes = newlines;
  uint32_t pending_chunks = 0;
  auto flush_counts = [&] {
    c.classes +=
        byte_sum(newlines) | byte_sum(digits) << kDigitShift | byte_sum(code_bytes) << kCodeShift;
    newlines = digits = code_bytes = _mm_setzero_si128();
    pending_chunks = 0;
  };
  for (; i + 16 <= text.size(); i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
    const __m128i space = _mm_or_si128(bytes_equal(v, ' '), bytes_in_range(v, '\t', 5));
    const uint32_t space_bits = mask_of(space);
    const uint32_t space_before = (space_bits << 1) | (c.in_space ? 1u : 0u);
    if ((space_bits & space_before) != 0) {
      for (size_t k = i; k < i + 16; ++k) c.step(static_cast<unsigned char>(text[k]));
      continue;
    }
    const __m128i upper = bytes_in_range(v, 'A', 26);
    const __m128i word = _mm_or_si128(
        _mm_or_si128(_mm_or_si128(upper, bytes_in_range(v, 'a', 26)), bytes_in_range(v, '0', 10)),
        _mm_or_si128(bytes_equal(v, '_'), _mm_cmplt_epi8(v, _mm_setzero_si128())));
    const __m128i code = _mm_or_si128(
        _mm_or_si128(_mm_or_si128(bytes_in_range(v, '(', 2), bytes_in_range(v, ';', 4)),
                     _mm_or_si128(bytes_equal(v, '['), bytes_equal(v, ']'))),
        _mm_or_si128(_mm_or_si128(bytes_equal(v, '{'), bytes_equal(v, '}')),
                     _mm_or_si128(bytes_equal(v, '_'), bytes_equal(v, '#'))));
    // A match is 0xFF = -1 per byte, so subtracting counts it.
    newlines = _mm_sub_epi8(newlines, bytes_equal(v, '\n'));
    digits = _mm_sub_epi8(digits, bytes_in_range(v, '0', 10));
    code_bytes = _mm_sub_epi8(code_bytes, code);
    if (++pending_chunks == 255) flush_counts();
    const __m128i lowered = _mm_add_epi8(v, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
    const __m128i out =
        _mm_or_si128(_mm_and_si128(space, _mm_set1_epi8(' ')), _mm_andnot_si128(space, lowered));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(c.out), out);
    const uint32_t word_bits = mask_of(word);
    const uint32_t word_before = ((word_bits << 1) | (c.in_word ? 1u : 0u)) & 0xffffu;
    const uint32_t base = c.offset();
    c.n_starts = append_positions(word_bits & ~word_before, base, c.starts, c.n_starts);
    c.n_ends = append_positions(~word_bits & word_before, base, c.ends, c.n_ends);
    c.out += 16;
    c.in_space = (space_bits >> 15) != 0;
    c.in_word = (word_bits >> 15) != 0;
  }
  flush_counts();
#endif
  for (; i < text.size(); ++i) c.step(static_cast<unsigned char>(text[i]));
  finish_pass(c, s);
}

}  // namespace switchyard::learned
