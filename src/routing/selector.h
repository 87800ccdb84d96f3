#pragma once
// Picks one deployment of a model group per attempt, by the configured
// routing strategy, skipping deployments that cannot serve, are cooling down,
// or are at their rpm/tpm limit for this minute (every strategy: a
// deployment's rpm/tpm is a hard cap, shared across replicas through Redis
// when configured; see server/deployment_limits.h).
#include <vector>

#include "config/config.h"
#include "routing/model_registry.h"

namespace switchyard {

struct SelectionPolicy {
  RoutingStrategy strategy = RoutingStrategy::kSimpleShuffle;
  // latency-based-routing: deployments within (1 + buffer) x the fastest
  // share the traffic (LiteLLM's routing_strategy_args.lowest_latency_buffer).
  double latency_buffer = 0;
};

SelectionPolicy selection_policy(const RouterSettings& settings);

// `tried` holds deployments already attempted for this request; they are
// only chosen again when nothing else is available. nullptr when no
// deployment can take the request now.
const DeploymentRuntime* select_deployment(const ModelGroup& group, const SelectionPolicy& policy,
                                           Clock::time_point now,
                                           const std::vector<const DeploymentRuntime*>& tried);

// Learned routing: `tiers` holds deployments best-scored candidate first.
// The first tier with a usable, untried deployment that is not cooling down
// wins (weighted within the tier); only then are tried ones reused, in the
// same order. nullptr when none can take the request now.
const DeploymentRuntime* select_ranked(
    const std::vector<std::vector<const DeploymentRuntime*>>& tiers, Clock::time_point now,
    const std::vector<const DeploymentRuntime*>& tried);

// Start of the current wall-clock minute in unix seconds: the window of the
// rpm/tpm limits, the same on every replica.
int64_t current_unix_window();

// True when the deployment has used its rpm or tpm for this minute, counting
// the larger of this replica's usage and the shared usage last read.
bool at_usage_limit(const DeploymentRuntime& d, Clock::time_point now, int64_t unix_window);

// Earliest moment one of the group's usable deployments can take a request
// again: the end of its cooldown, or the next minute when it is at its
// rpm/tpm limit (for retry-after when none is available). max() when the
// group has no usable deployment.
Clock::time_point earliest_available(const ModelGroup& group, Clock::time_point now);

}  // namespace switchyard
