#pragma once
// Process-wide unique numbers for immutable objects (a config's model
// registry, a loaded router), so a cache can key on "this exact object"
// without the ABA risk of keying on an address that a later object reuses.
#include <atomic>
#include <cstdint>

namespace switchyard {

inline uint64_t next_generation() {
  static std::atomic<uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace switchyard
