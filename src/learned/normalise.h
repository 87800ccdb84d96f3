#pragma once
// First stage of the hashed TF-IDF featurizer: one pass over the prompt that
// lower-cases ASCII, collapses every run of whitespace ([ \t\n\r\f\v]+) to one
// space, finds the word boundaries (words are runs of [a-z0-9_] and bytes
// >= 0x80) and counts the byte classes the dense features need. The rules are
// part of the artefact format (docs/routing.md, "Featurizer").
#include <cstddef>
#include <string_view>

#include "learned/featurizer.h"

namespace switchyard::learned {

// Zero bytes after the normalised text, so 8-byte loads near its end stay in bounds.
inline constexpr size_t kTextPadding = 8;

// Fills s.text (normalised, plus kTextPadding zero bytes), s.words,
// s.word_start/word_end (offsets into s.text) and s.byte_classes (newlines in
// bits 0-20, digits in 21-41, code punctuation {}[]();=<>_# in 42-62, counted on
// the raw bytes). `text` must be at most 2^20 bytes so the counters cannot
// overflow. On x86-64 it classifies 16 bytes per step and falls back to the
// byte loop only for the 16-byte chunks that hold a run of whitespace.
void normalise_prompt(std::string_view text, FeatureScratch& s);

// The same, one byte at a time: the definition the fast path is tested against.
void normalise_prompt_bytewise(std::string_view text, FeatureScratch& s);

}  // namespace switchyard::learned
