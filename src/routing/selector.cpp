#include "routing/selector.h"

#include <algorithm>
#include <chrono>
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

}  // namespace

int64_t current_unix_window() {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  return seconds - seconds % 60;
}

bool at_usage_limit(const DeploymentRuntime& d, Clock::time_point now, int64_t unix_window) {
  const auto& p = d.config->params;
  if (!p.rpm && !p.tpm) return false;
  const DeploymentState& state = *d.state;
  if (p.rpm &&
      std::max(state.requests_this_minute(now), state.shared_requests(unix_window)) >= *p.rpm) {
    return true;
  }
  return p.tpm &&
         std::max(state.tokens_this_minute(now), state.shared_tokens(unix_window)) >= *p.tpm;
}

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
  const int64_t window = current_unix_window();
  for (const auto* d : group.deployments) {
    if (!d->usable() || d->state->cooling_down(now) || at_usage_limit(*d, now, window)) continue;
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
    case RoutingStrategy::kUsageBasedV2:
      return lowest(options, [now, window](const DeploymentRuntime* d) {
        return static_cast<double>(
            std::max(d->state->tokens_this_minute(now), d->state->shared_tokens(window)));
      });
    default:
      return weighted(options);  // simple-shuffle
  }
}

const DeploymentRuntime* select_ranked(
    const std::vector<std::vector<const DeploymentRuntime*>>& tiers, Clock::time_point now,
    const std::vector<const DeploymentRuntime*>& tried) {
  std::vector<const DeploymentRuntime*> options;
  const int64_t window = current_unix_window();
  for (const bool allow_tried : {false, true}) {
    for (const auto& tier : tiers) {
      options.clear();
      for (const auto* d : tier) {
        if (!d->usable() || d->state->cooling_down(now) || at_usage_limit(*d, now, window)) {
          continue;
        }
        const bool was_tried = std::find(tried.begin(), tried.end(), d) != tried.end();
        if (was_tried == allow_tried) options.push_back(d);
      }
      if (!options.empty()) return weighted(options);
    }
  }
  return nullptr;
}

Clock::time_point earliest_available(const ModelGroup& group, Clock::time_point now) {
  const int64_t window = current_unix_window();
  const auto seconds_now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const auto next_window = now + std::chrono::seconds(window + 60 - seconds_now);
  auto earliest = Clock::time_point::max();
  for (const auto* d : group.deployments) {
    if (!d->usable()) continue;
    auto free_at = std::max(now, d->state->cooldown_until());
    if (at_usage_limit(*d, now, window)) free_at = std::max(free_at, next_window);
    earliest = std::min(earliest, free_at);
  }
  return earliest;
}

}  // namespace switchyard
