#include "store/counters.h"

namespace switchyard::store {

int64_t LocalWindowCounters::add(std::string_view key, int64_t window_start_s, int64_t amount) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = slots_.try_emplace(std::string(key));
  Slot& slot = it->second;
  if (slot.window != window_start_s) {
    slot.window = window_start_s;
    slot.count = 0;
  }
  slot.count += amount;
  return slot.count;
}

int64_t LocalWindowCounters::get(std::string_view key, int64_t window_start_s) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(std::string(key));
  if (it == slots_.end() || it->second.window != window_start_s) return 0;
  return it->second.count;
}

}  // namespace switchyard::store
