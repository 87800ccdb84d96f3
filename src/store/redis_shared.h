#pragma once
// Process-wide Redis settings and counters. The connections themselves are
// per worker (Worker::redis, store/redis_client.h); this is what they share:
// where Redis is, the fail-open/closed choice, and the metrics. Created in
// main before the workers, lives as long as GatewayState.
#include <atomic>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/loader.h"
#include "store/redis_client.h"

namespace switchyard::store {

struct RedisShared {
  RedisOptions options;
  bool fail_closed = false;
  RedisStats stats;
  std::atomic<uint64_t> rate_limit_fail_open{0};    // checks answered by local counters
  std::atomic<uint64_t> rate_limit_fail_closed{0};  // requests refused because Redis was down
  std::atomic<uint64_t> usage_sync_failures{0};     // deployment usage not shared

  void render_metrics(std::string& out) const;
};

// Where Redis is, first match wins: router_settings.redis_host/port/password,
// litellm_settings.cache_params (type redis), REDIS_HOST/REDIS_PORT/
// REDIS_PASSWORD. An empty host means no Redis.
RedisOptions redis_options(const Config& config, const EnvLookup& env);

// Fixed one-minute windows in Redis. Each op adds `amount` (INCRBY, then
// EXPIRE so old windows vanish) or, with amount 0, reads (GET); all ops go
// in one pipelined round trip. Returns the totals in op order.
struct CounterOp {
  std::string key;
  int64_t amount = 0;
};
awaitable<Result<std::vector<int64_t>>> redis_window_counters(RedisClient& client,
                                                              std::vector<CounterOp> ops);

// "switchyard:rl:<name>:<window start>"; `name` must not hold secrets (key
// tokens are already SHA-256 hashes).
std::string window_key(std::string_view name, int64_t window_start_s);

}  // namespace switchyard::store
