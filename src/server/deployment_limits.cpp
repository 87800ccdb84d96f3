#include "server/deployment_limits.h"

#include <string>
#include <vector>

#include "routing/selector.h"
#include "server/worker.h"
#include "store/redis_shared.h"

namespace switchyard {
namespace {

std::string deployment_counter(const char* kind, const DeploymentRuntime& deployment,
                               int64_t window) {
  std::string name = "dep:";
  name += kind;
  name += ':';
  name += deployment.id();
  return store::window_key(name, window);
}

// One request counted (rpm) and the token total read (tpm), in that order.
std::vector<store::CounterOp> admission_ops(const DeploymentRuntime& deployment, int64_t window) {
  const auto& params = deployment.config->params;
  std::vector<store::CounterOp> ops;
  if (params.rpm) ops.push_back({deployment_counter("rpm", deployment, window), 1});
  if (params.tpm) ops.push_back({deployment_counter("tpm", deployment, window), 0});
  return ops;
}

awaitable<void> add_tokens(store::RedisClient& client, store::RedisShared& shared,
                           std::vector<store::CounterOp> ops) {
  auto totals = co_await store::redis_window_counters(client, std::move(ops));
  if (!totals) shared.usage_sync_failures.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

bool needs_shared_admission(const Worker& worker, const DeploymentRuntime& deployment) {
  const auto& params = deployment.config->params;
  return worker.redis != nullptr && (params.rpm || params.tpm);
}

awaitable<bool> admit_shared(Worker& worker, const DeploymentRuntime& deployment) {
  const int64_t window = current_unix_window();
  const auto& params = deployment.config->params;
  auto totals =
      co_await store::redis_window_counters(*worker.redis, admission_ops(deployment, window));
  if (!totals) {
    worker.state.redis()->usage_sync_failures.fetch_add(1, std::memory_order_relaxed);
    co_return true;  // fail open: the local count already let it through
  }
  size_t at = 0;
  const int64_t requests = params.rpm && at < totals->size() ? (*totals)[at++] : 0;
  const int64_t tokens = params.tpm && at < totals->size() ? (*totals)[at++] : 0;
  deployment.state->note_shared_usage(window, requests, tokens);
  // `requests` includes this one: over the limit means someone else (on any
  // replica) took the last slot first.
  if (params.rpm && requests > *params.rpm) co_return false;
  co_return !(params.tpm && tokens >= *params.tpm);
}

void add_shared_tokens(Worker& worker, const DeploymentRuntime& deployment, int64_t tokens) {
  if (worker.redis == nullptr || !deployment.config->params.tpm || tokens <= 0) return;
  std::vector<store::CounterOp> ops{
      {deployment_counter("tpm", deployment, current_unix_window()), tokens}};
  asio::co_spawn(worker.io, add_tokens(*worker.redis, *worker.state.redis(), std::move(ops)),
                 asio::detached);
}

}  // namespace switchyard
