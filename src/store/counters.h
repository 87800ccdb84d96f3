#pragma once
// Fixed-window counters for per-key RPM/TPM limits. The interface is what a
// Redis-backed implementation (INCRBY + EXPIRE on "<key>:<window>") slots
// into later, so limits can be shared across replicas; today's
// implementation is in process.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace switchyard::store {

class WindowCounters {
 public:
  virtual ~WindowCounters() = default;
  // Adds `amount` to the counter for `key` in the window starting at
  // `window_start_s`; returns the new total.
  virtual int64_t add(std::string_view key, int64_t window_start_s, int64_t amount) = 0;
  virtual int64_t get(std::string_view key, int64_t window_start_s) = 0;
};

// Thread-safe, in memory; forgets windows older than the previous one.
class LocalWindowCounters final : public WindowCounters {
 public:
  int64_t add(std::string_view key, int64_t window_start_s, int64_t amount) override;
  int64_t get(std::string_view key, int64_t window_start_s) override;

 private:
  struct Slot {
    int64_t window = 0;
    int64_t count = 0;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Slot> slots_;
};

}  // namespace switchyard::store
