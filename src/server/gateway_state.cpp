#include "server/gateway_state.h"

namespace switchyard {

std::shared_ptr<Snapshot> make_snapshot(std::shared_ptr<const Config> config, const EnvLookup& env,
                                        DeploymentStates& states,
                                        std::vector<std::string>& warnings) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->registry = ModelRegistry::build(config, env, states, warnings);
  snapshot->selection = selection_policy(config->router_settings);
  snapshot->num_retries = config->router_settings.num_retries.value_or(
      config->litellm_settings.num_retries.value_or(0));
  if (!config->general_settings.master_key.empty()) {
    snapshot->master_key = digest_key(config->general_settings.master_key.reveal());
  }
  snapshot->max_body_bytes =
      static_cast<size_t>(config->general_settings.max_request_size_mb * 1024.0 * 1024.0);
  snapshot->config = std::move(config);
  return snapshot;
}

}  // namespace switchyard
