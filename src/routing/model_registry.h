#pragma once
// The deployments of one config snapshot, grouped by model_name, with
// everything the request path needs precomputed (parsed endpoint, auth
// header, timeouts). Immutable after build(); shared by all workers.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "config/loader.h"
#include "providers/provider.h"
#include "upstream/http_client.h"

namespace switchyard {

struct DeploymentRuntime {
  const Deployment* config = nullptr;
  ProviderKind kind = ProviderKind::kUnknown;
  std::string unavailable_reason;  // why requests to it fail (unsupported provider, bad base)
  UpstreamEndpoint endpoint;
  std::string authorization;  // "Bearer <key>", or empty
  std::chrono::milliseconds timeout{600000};
  std::chrono::milliseconds stream_timeout{600000};
  double weight = 1;

  const std::string& id() const { return config->info.id; }
  bool usable() const { return unavailable_reason.empty(); }
};

struct ModelGroup {
  std::string name;
  std::vector<const DeploymentRuntime*> deployments;
  std::vector<double> cumulative_weights;  // for weighted simple-shuffle
};

class ModelRegistry {
 public:
  // `warnings` receives one line per deployment that cannot serve requests.
  static std::shared_ptr<const ModelRegistry> build(const std::shared_ptr<const Config>& config,
                                                    const EnvLookup& env,
                                                    std::vector<std::string>& warnings);

  const Config& config() const { return *config_; }
  const ModelGroup* find(std::string_view name) const;
  // simple-shuffle: random pick weighted by `weight`, else rpm, else tpm.
  const DeploymentRuntime* pick(const ModelGroup& group) const;
  const std::vector<std::string>& group_names() const { return group_names_; }
  std::string available_names() const;  // "a, b, c" for error messages
  size_t usable_deployments() const;

 private:
  std::shared_ptr<const Config> config_;
  std::vector<std::unique_ptr<DeploymentRuntime>> deployments_;
  std::unordered_map<std::string, ModelGroup> groups_;
  std::unordered_map<std::string, std::string> aliases_;
  std::vector<std::string> group_names_;  // in config order
};

}  // namespace switchyard
