#pragma once
// Picks one deployment of a model group per attempt, by the configured
// routing strategy, skipping deployments that cannot serve, are cooling down,
// or (for usage-based routing) are at their rpm/tpm limit.
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

// Earliest moment one of the group's usable deployments leaves cooldown
// (for retry-after when every deployment is cooling down).
Clock::time_point earliest_cooldown_end(const ModelGroup& group);

}  // namespace switchyard
