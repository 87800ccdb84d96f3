#pragma once
// Process-wide gateway state shared by all worker threads. The config
// snapshot is immutable and swapped atomically (in-flight requests keep the
// one they started with); everything else is atomics or internally locked.
#include <atomic>
#include <memory>
#include <optional>

#include "routing/learned_routing.h"
#include "routing/model_registry.h"
#include "routing/selector.h"
#include "server/auth.h"
#include "store/redis_shared.h"
#include "store/response_cache.h"
#include "store/store_service.h"
#include "telemetry/log.h"
#include "telemetry/metrics.h"

namespace switchyard {

struct Snapshot {
  std::shared_ptr<const Config> config;
  std::shared_ptr<const ModelRegistry> registry;
  std::optional<KeyDigest> master_key;  // nullopt: open mode
  size_t max_body_bytes = size_t{10} * 1024 * 1024;
  SelectionPolicy selection;
  int64_t num_retries = 0;
};

std::shared_ptr<const Snapshot> make_snapshot(std::shared_ptr<const Config> config,
                                              const EnvLookup& env, DeploymentStates& states,
                                              std::vector<std::string>& warnings);

class GatewayState {
 public:
  GatewayState(std::shared_ptr<DeploymentStates> states, std::shared_ptr<const Snapshot> snapshot,
               size_t worker_count, bool access_log,
               std::shared_ptr<LearnedRouting> learned_routing = nullptr)
      : states_(std::move(states)),
        snapshot_(std::move(snapshot)),
        learned_routing_(std::move(learned_routing)),
        metrics_(worker_count),
        access_log_(access_log) {}

  std::shared_ptr<const Snapshot> snapshot() const {
    return snapshot_.load(std::memory_order_acquire);
  }
  void publish(std::shared_ptr<const Snapshot> next) {
    snapshot_.store(std::move(next), std::memory_order_release);
  }
  Metrics& metrics() { return metrics_; }
  // nullptr unless routing_strategy is llmrouter-*.
  LearnedRouting* learned_routing() const { return learned_routing_.get(); }
  AccessLog& access_log() { return access_log_; }
  // Keys, spend and budgets; null when the gateway runs without a store
  // (open mode without a database). Set before the workers start.
  store::StoreService* store() const { return store_.get(); }
  void set_store(std::shared_ptr<store::StoreService> store) { store_ = std::move(store); }
  // Redis settings and metrics when Redis is configured (null otherwise);
  // each worker holds its own connection. Set before the workers start.
  store::RedisShared* redis() const { return redis_.get(); }
  void set_redis(std::shared_ptr<store::RedisShared> redis) { redis_ = std::move(redis); }
  // Response cache when litellm_settings.cache is on; null otherwise.
  store::ResponseCache* cache() const { return cache_.get(); }
  void set_cache(std::shared_ptr<store::ResponseCache> cache) { cache_ = std::move(cache); }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  void start_draining() { draining_.store(true); }

 private:
  std::shared_ptr<DeploymentStates> states_;  // outlives every snapshot that points into it
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  std::shared_ptr<LearnedRouting> learned_routing_;
  Metrics metrics_;
  AccessLog access_log_;
  std::shared_ptr<store::StoreService> store_;
  std::shared_ptr<store::RedisShared> redis_;
  std::shared_ptr<store::ResponseCache> cache_;
  std::atomic<bool> draining_{false};
};

}  // namespace switchyard
