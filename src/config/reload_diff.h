#pragma once
// What a config reload changes: which settings take effect live, which need
// a restart (they are read once at startup: listen address, threads, the
// store, connection-pool sizing), which deployments keep their live state,
// and whether the learned router must be rebuilt. Pure: compares two
// validated configs, so the rules are unit-tested (tests/unit/reload_diff_test.cpp).
#include <string>
#include <vector>

#include "config/config.h"

namespace switchyard {

struct ReloadDiff {
  // Key paths whose new value is not applied until the process restarts
  // (ConfigSync compares these with the config the process started with),
  // e.g. "switchyard_settings.port: 4000 -> 4001" (secrets: "changed").
  std::vector<std::string> restart_required;
  // Deployment ids (DeploymentStates keys: latency, cooldowns and usage
  // carry over for every id in both configs).
  std::vector<std::string> deployments_kept;
  std::vector<std::string> deployments_added;
  std::vector<std::string> deployments_removed;
  // Kept ids whose litellm_params or model_info changed (state still carries over).
  std::vector<std::string> deployments_changed;
  // routing_strategy or routing_strategy_args differ: a learned router is
  // rebuilt (and its artefact loaded) before the swap.
  bool router_changed = false;
};

ReloadDiff diff_configs(const Config& before, const Config& after);

// The DeploymentStates key of a deployment: its model_info.id when the
// config sets one; for a generated id ("<model_name>-<index>") the upstream
// model and api_base are added, so inserting an entry above it in the list
// does not hand its latency stats and cooldown to a different deployment.
std::string deployment_state_key(const Deployment& deployment);

bool same_router_settings(const RouterSettings& a, const RouterSettings& b);

}  // namespace switchyard
