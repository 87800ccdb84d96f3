#include "routing/selector.h"

#include <algorithm>
#include <limits>
#include <random>

namespace switchyard {
namespace {

std::minstd_rand& rng() {
  thread_local std::minstd_rand engine{std::random_device{}()};
  return engine;
}

const DeploymentRuntime* uniform(const std::vector<const DeploymentRuntime*>& options) {
  if (options.size() == 1) return options.front();
  std::uniform_int_distribution<size_t> dist(0, options.size() - 1);
  return options[dist(rng())];
}

const DeploymentRuntime* weighted(const std::vector<const DeploymentRuntime*>& options) {
  if (options.size() == 1) return options.front();
  double total = 0;
  for (const auto* d : options) total += std::max(d->weight, 0.0);
  if (total <= 0) return uniform(options);
  std::uniform_real_distribution<double> dist(0, total);
  double r = dist(rng());
  for (const auto* d : options) {
    r -= std::max(d->weight, 0.0);
    if (r < 0) return d;
  }
  return options.back();
}

// Random choice among the options whose key is minimal (within `slack`
// relative tolerance), so equal deployments share load.
template <typename Key>
const DeploymentRuntime* lowest(const std::vector<const DeploymentRuntime*>& options, Key key,
                                double slack = 0) {
  double best = std::numeric_limits<double>::infinity();
  for (const auto* d : options) best = std::min(best, key(d));
  std::vector<const DeploymentRuntime*> near;
  for (const auto* d : options) {
    const double k = key(d);
    if (k == best || (std::isfinite(best) && k <= best * (1 + slack))) near.push_back(d);
  }
  if (near.empty()) return uniform(options);
  return uniform(near);
}

double cost_per_token(const DeploymentRuntime* d) {
  if (!d->input_cost_per_token && !d->output_cost_per_token) {
    return std::numeric_limits<double>::infinity();  // unknown price: last resort
  }
  return d->input_cost_per_token.value_or(0) + d->output_cost_per_token.value_or(0);
}

bool under_limits(const DeploymentRuntime* d, Clock::time_point now) {
  const auto& p = d->config->params;
  if (p.rpm && d->state->requests_this_minute(now) >= *p.rpm) return false;
  if (p.tpm && d->state->tokens_this_minute(now) >= *p.tpm) return false;
  return true;
}

}  // namespace

SelectionPolicy selection_policy(const RouterSettings& settings) {
  SelectionPolicy policy;
  // A learned router ranks where it can (routing/learned_routing.h); every
  // other pick uses its classic fallback strategy.
  policy.strategy = is_learned_strategy(settings.routing_strategy)
                        ? settings.routing_strategy_args.fallback_strategy
                        : settings.routing_strategy;
  const auto& extra = settings.routing_strategy_args.extra;
  if (auto* buffer = extra.if_contains("lowest_latency_buffer"); buffer && buffer->is_number()) {
    policy.latency_buffer = std::max(0.0, buffer->to_number<double>());
  }
  return policy;
}

const DeploymentRuntime* select_deployment(const ModelGroup& group, const SelectionPolicy& policy,
                                           Clock::time_point now,
                                           const std::vector<const DeploymentRuntime*>& tried) {
  std::vector<const DeploymentRuntime*> fresh;
  std::vector<const DeploymentRuntime*> retried;
  for (const auto* d : group.deployments) {
    if (!d->usable() || d->state->cooling_down(now)) continue;
    const bool was_tried = std::find(tried.begin(), tried.end(), d) != tried.end();
    (was_tried ? retried : fresh).push_back(d);
  }
  auto& options = fresh.empty() ? retried : fresh;
  if (options.empty()) return nullptr;

  switch (policy.strategy) {
    case RoutingStrategy::kLeastBusy:
      return lowest(options, [](const DeploymentRuntime* d) {
        return static_cast<double>(d->state->in_flight());
      });
    case RoutingStrategy::kLatencyBased: {
      // Deployments never measured are tried first, so each gets a sample.
      std::vector<const DeploymentRuntime*> unmeasured;
      for (const auto* d : options) {
        if (!d->state->measured()) unmeasured.push_back(d);
      }
      if (!unmeasured.empty()) return uniform(unmeasured);
      return lowest(
          options, [](const DeploymentRuntime* d) { return d->state->latency_ms(); },
          policy.latency_buffer);
    }
    case RoutingStrategy::kCostBased:
      return lowest(options, cost_per_token);
    case RoutingStrategy::kUsageBased:
    case RoutingStrategy::kUsageBasedV2: {
      std::vector<const DeploymentRuntime*> allowed;
      for (const auto* d : options) {
        if (under_limits(d, now)) allowed.push_back(d);
      }
      if (allowed.empty()) return nullptr;
      return lowest(allowed, [now](const DeploymentRuntime* d) {
        return static_cast<double>(d->state->tokens_this_minute(now));
      });
    }
    default:
      return weighted(options);  // simple-shuffle
  }
}

const DeploymentRuntime* select_ranked(
    const std::vector<std::vector<const DeploymentRuntime*>>& tiers, Clock::time_point now,
    const std::vector<const DeploymentRuntime*>& tried) {
  std::vector<const DeploymentRuntime*> options;
  for (const bool allow_tried : {false, true}) {
    for (const auto& tier : tiers) {
      options.clear();
      for (const auto* d : tier) {
        if (!d->usable() || d->state->cooling_down(now)) continue;
        const bool was_tried = std::find(tried.begin(), tried.end(), d) != tried.end();
        if (was_tried == allow_tried) options.push_back(d);
      }
      if (!options.empty()) return weighted(options);
    }
  }
  return nullptr;
}

Clock::time_point earliest_cooldown_end(const ModelGroup& group) {
  auto earliest = Clock::time_point::max();
  for (const auto* d : group.deployments) {
    if (d->usable()) earliest = std::min(earliest, d->state->cooldown_until());
  }
  return earliest;
}

}  // namespace switchyard
