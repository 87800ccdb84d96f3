#include "server/gateway_state.h"

namespace switchyard {

std::shared_ptr<const Snapshot> make_snapshot(std::shared_ptr<const Config> config,
                                              const EnvLookup& env,
                                              std::vector<std::string>& warnings) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->registry = ModelRegistry::build(config, env, warnings);
  if (!config->general_settings.master_key.empty()) {
    snapshot->master_key = digest_key(config->general_settings.master_key.reveal());
  }
  snapshot->max_body_bytes =
      static_cast<size_t>(config->general_settings.max_request_size_mb * 1024.0 * 1024.0);
  snapshot->config = std::move(config);
  return snapshot;
}

}  // namespace switchyard
