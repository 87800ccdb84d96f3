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
#include "core/generation.h"
#include "providers/provider.h"
#include "routing/deployment_state.h"
#include "upstream/aws_credentials.h"
#include "upstream/http_client.h"

namespace switchyard {

struct DeploymentRuntime {
  const Deployment* config = nullptr;
  ProviderKind kind = ProviderKind::kUnknown;
  std::string unavailable_reason;  // why requests to it fail (unsupported provider, bad base)
  UpstreamEndpoint endpoint;
  // Credential header sent upstream ("authorization: Bearer …" or Azure's
  // "api-key: …"); empty name = none.
  std::string auth_header_name;
  std::string auth_header_value;
  // Request target = path_prefix + route suffix ("/chat/completions") + query.
  std::string path_prefix;
  std::string query;
  std::chrono::milliseconds timeout{600000};
  std::chrono::milliseconds stream_timeout{600000};
  double weight = 1;
  // Price per token from config, else the built-in table; nullopt = unknown.
  std::optional<double> input_cost_per_token;
  std::optional<double> output_cost_per_token;
  DeploymentState* state = nullptr;  // owned by GatewayState's DeploymentStates
  // Bedrock: region and where the SigV4 credentials come from (shared,
  // thread-safe; see upstream/aws_credentials.h).
  std::string aws_region;
  std::shared_ptr<AwsCredentialsProvider> aws_credentials;

  const std::string& id() const { return config->info.id; }
  bool usable() const { return unavailable_reason.empty(); }
};

struct ModelGroup {
  std::string name;
  std::vector<const DeploymentRuntime*> deployments;
};

// Lets the maps below be searched with a string_view (no allocation per request).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

class ModelRegistry {
 public:
  // `warnings` receives one line per deployment that cannot serve requests.
  static std::shared_ptr<const ModelRegistry> build(const std::shared_ptr<const Config>& config,
                                                    const EnvLookup& env, DeploymentStates& states,
                                                    std::vector<std::string>& warnings);

  const Config& config() const { return *config_; }
  const ModelGroup* find(std::string_view name) const;
  // Deployments named `name` by model_info.id, litellm_params model id, or
  // "provider/model" (several deployments may call the same upstream model).
  const std::vector<const DeploymentRuntime*>* find_deployments(std::string_view name) const;
  const std::vector<std::string>& group_names() const { return group_names_; }
  std::string available_names() const;  // "a, b, c" for error messages
  size_t usable_deployments() const;
  // Unique per registry built (see core/generation.h).
  uint64_t generation() const { return generation_; }

 private:
  uint64_t generation_ = next_generation();
  std::shared_ptr<const Config> config_;
  std::vector<std::unique_ptr<DeploymentRuntime>> deployments_;
  StringMap<ModelGroup> groups_;
  StringMap<std::string> aliases_;
  StringMap<std::vector<const DeploymentRuntime*>> deployment_names_;
  std::vector<std::string> group_names_;  // in config order
};

}  // namespace switchyard
