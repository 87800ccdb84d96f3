#pragma once
// Process-wide gateway state shared by all worker threads. The config
// snapshot is immutable and swapped atomically (in-flight requests keep the
// one they started with); everything else is atomics or internally locked.
#include <atomic>
#include <memory>
#include <mutex>
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
  // Set when routing_strategy is llmrouter-*. Part of the snapshot so a
  // request keeps the router object it started with across a config reload.
  std::shared_ptr<LearnedRouting> learned_routing;
};

std::shared_ptr<Snapshot> make_snapshot(std::shared_ptr<const Config> config, const EnvLookup& env,
                                        DeploymentStates& states,
                                        std::vector<std::string>& warnings);

class ConfigSync;
class DbModelSync;

class GatewayState {
 public:
  GatewayState(std::shared_ptr<DeploymentStates> states, std::shared_ptr<const Snapshot> snapshot,
               size_t worker_count, bool access_log)
      : states_(std::move(states)),
        snapshot_(std::move(snapshot)),
        metrics_(worker_count),
        access_log_(access_log) {}

  std::shared_ptr<const Snapshot> snapshot() const {
    return snapshot_.load(std::memory_order_acquire);
  }
  void publish(std::shared_ptr<const Snapshot> next) {
    snapshot_.store(std::move(next), std::memory_order_release);
  }
  Metrics& metrics() { return metrics_; }
  // nullptr unless routing_strategy is llmrouter-*. The current snapshot's;
  // code serving a request uses its own Snapshot::learned_routing instead
  // (a config reload may replace this one).
  LearnedRouting* learned_routing() const { return snapshot()->learned_routing.get(); }
  DeploymentStates& deployment_states() { return *states_; }
  // Config reload and object-storage sync (server/config_sync.h); null in
  // tests that build a GatewayState by hand. Set before the workers start.
  ConfigSync* config_sync() const { return config_sync_; }
  void set_config_sync(ConfigSync* sync) { config_sync_ = sync; }
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
  // store_model_in_db (server/db_models.h); null when off. Set before the
  // workers start.
  DbModelSync* db_models() const { return db_models_; }
  void set_db_models(DbModelSync* sync) { db_models_ = sync; }
  // Everything that rebuilds the snapshot from the current one (config
  // reload, the DB model poll) holds this from reading it to publishing, so
  // one cannot undo the other's change.
  std::mutex& rebuild_mutex() { return rebuild_mutex_; }
  // The deployments last read from the database, merged into every rebuilt
  // snapshot; written and read with rebuild_mutex() held.
  std::shared_ptr<const std::vector<Deployment>> db_deployments() const { return db_deployments_; }
  void set_db_deployments(std::shared_ptr<const std::vector<Deployment>> deployments) {
    db_deployments_ = std::move(deployments);
  }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  void start_draining() { draining_.store(true); }

 private:
  std::shared_ptr<DeploymentStates> states_;  // outlives every snapshot that points into it
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  Metrics metrics_;
  AccessLog access_log_;
  std::shared_ptr<store::StoreService> store_;
  std::shared_ptr<store::RedisShared> redis_;
  std::shared_ptr<store::ResponseCache> cache_;
  std::atomic<bool> draining_{false};
  ConfigSync* config_sync_ = nullptr;
  DbModelSync* db_models_ = nullptr;
  std::mutex rebuild_mutex_;
  std::shared_ptr<const std::vector<Deployment>> db_deployments_;
};

}  // namespace switchyard
