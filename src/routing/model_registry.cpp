#include "routing/model_registry.h"

#include <algorithm>

#include "config/reload_diff.h"
#include "routing/price_table.h"

namespace switchyard {
namespace {
// Azure's current GA data-plane version; deployments may pin their own.
constexpr const char* kDefaultAzureApiVersion = "2024-10-21";

std::chrono::milliseconds seconds_to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}
}  // namespace

std::shared_ptr<const ModelRegistry> ModelRegistry::build(
    const std::shared_ptr<const Config>& config, const EnvLookup& env, DeploymentStates& states,
    std::vector<std::string>& warnings) {
  auto registry = std::shared_ptr<ModelRegistry>(new ModelRegistry());
  registry->config_ = config;
  const auto& router = config->router_settings;
  const double default_timeout = router.timeout.value_or(
      config->litellm_settings.request_timeout.value_or(config->server.default_timeout));

  for (size_t i = 0; i < config->model_list.size(); ++i) {
    const Deployment& d = config->model_list[i];
    const std::string where = "model_list[" + std::to_string(i) + "] (" + d.model_name + ")";
    auto rt = std::make_unique<DeploymentRuntime>();
    rt->config = &d;
    // Keyed so a reload hands live state only to the same deployment.
    rt->state = &states.get(deployment_state_key(d));
    rt->input_cost_per_token =
        d.params.input_cost_per_token ? d.params.input_cost_per_token : d.info.input_cost_per_token;
    rt->output_cost_per_token = d.params.output_cost_per_token ? d.params.output_cost_per_token
                                                               : d.info.output_cost_per_token;
    if (!rt->input_cost_per_token && !rt->output_cost_per_token) {
      if (auto price = builtin_price(d.params.model_id)) {
        rt->input_cost_per_token = price->input_per_token;
        rt->output_cost_per_token = price->output_per_token;
      }
    }
    const ProviderInfo info = provider_info(d.params.provider);
    rt->kind = info.kind;
    rt->timeout = seconds_to_ms(d.params.timeout.value_or(default_timeout));
    rt->stream_timeout = seconds_to_ms(d.params.stream_timeout.value_or(
        router.stream_timeout.value_or(rt->timeout.count() / 1000.0)));
    if (d.params.weight) {
      rt->weight = *d.params.weight;
    } else if (d.params.rpm) {
      rt->weight = static_cast<double>(*d.params.rpm);
    } else if (d.params.tpm) {
      rt->weight = static_cast<double>(*d.params.tpm);
    }

    switch (info.kind) {
      case ProviderKind::kMock:
        break;
      case ProviderKind::kOpenAICompatible:
      case ProviderKind::kAzure:
      case ProviderKind::kAnthropic: {
        std::string base = d.params.api_base;
        if (base.empty() && !info.api_base_env.empty()) base = env(info.api_base_env).value_or("");
        if (base.empty()) base = info.default_api_base;
        if (base.empty()) {
          rt->unavailable_reason = "provider '" + d.params.provider + "' needs api_base";
          break;
        }
        auto endpoint = parse_endpoint(base);
        if (!endpoint) {
          rt->unavailable_reason = endpoint.error().message;
          break;
        }
        rt->endpoint = std::move(*endpoint);
        if (info.append_v1 &&
            (rt->endpoint.base_path.size() < 3 ||
             rt->endpoint.base_path.substr(rt->endpoint.base_path.size() - 3) != "/v1")) {
          rt->endpoint.base_path += "/v1";
        }
        std::string key = d.params.api_key.reveal();
        if (key.empty() && !info.api_key_env.empty()) key = env(info.api_key_env).value_or("");
        rt->path_prefix = rt->endpoint.base_path;
        if (info.kind == ProviderKind::kAnthropic) {
          // LiteLLM accepts the host, ".../v1" or the full ".../v1/messages".
          const std::string& path = rt->path_prefix;
          if (path.ends_with("/v1/messages")) {
          } else if (path.ends_with("/v1")) {
            rt->path_prefix += "/messages";
          } else {
            rt->path_prefix += "/v1/messages";
          }
          rt->auth_header_name = "x-api-key";
          rt->auth_header_value = key;
        } else if (info.kind == ProviderKind::kAzure) {
          // https://{resource}.openai.azure.com/openai/deployments/{id}/chat/completions?api-version=
          std::string version = d.params.api_version;
          if (version.empty())
            version = env(info.api_version_env).value_or(kDefaultAzureApiVersion);
          rt->path_prefix += "/openai/deployments/" + d.params.model_id;
          rt->query = "?api-version=" + version;
          if (!key.empty()) {
            rt->auth_header_name = "api-key";
            rt->auth_header_value = key;
          }
        } else if (!key.empty()) {
          rt->auth_header_name = "authorization";
          rt->auth_header_value = "Bearer " + key;
        }
        break;
      }
      case ProviderKind::kBedrock: {
        const auto& p = d.params;
        rt->aws_region = p.aws_region_name;
        if (rt->aws_region.empty()) rt->aws_region = env("AWS_REGION").value_or("");
        if (rt->aws_region.empty()) rt->aws_region = env("AWS_DEFAULT_REGION").value_or("");
        if (rt->aws_region.empty()) {
          rt->unavailable_reason = "bedrock needs aws_region_name (or AWS_REGION)";
          break;
        }
        AwsCredentials configured;
        configured.access_key_id = p.aws_access_key_id.reveal();
        configured.secret_access_key = p.aws_secret_access_key.reveal();
        configured.session_token = p.aws_session_token.reveal();
        std::string credentials_error;
        rt->aws_credentials =
            resolve_aws_credentials(configured, p.aws_profile_name, env, credentials_error);
        if (!rt->aws_credentials) {
          rt->unavailable_reason = "bedrock: " + credentials_error;
          break;
        }
        std::string base = p.api_base;
        if (base.empty()) base = env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME").value_or("");
        if (base.empty()) base = "https://bedrock-runtime." + rt->aws_region + ".amazonaws.com";
        auto endpoint = parse_endpoint(base);
        if (!endpoint) {
          rt->unavailable_reason = endpoint.error().message;
          break;
        }
        rt->endpoint = std::move(*endpoint);
        rt->path_prefix = rt->endpoint.base_path;
        break;
      }
      case ProviderKind::kNotYetSupported:
        rt->unavailable_reason =
            "provider '" + d.params.provider + "' is recognised but not supported in this build";
        break;
      case ProviderKind::kUnknown:
        rt->unavailable_reason = d.params.provider.empty()
                                     ? "model '" + d.params.model +
                                           "' has no provider prefix (e.g. openai/" +
                                           d.params.model + ") and no api_base"
                                     : "unknown provider '" + d.params.provider + "'";
        break;
    }
    if (!rt->usable()) warnings.push_back(where + ": " + rt->unavailable_reason);

    auto [it, inserted] = registry->groups_.try_emplace(d.model_name);
    if (inserted) {
      it->second.name = d.model_name;
      registry->group_names_.push_back(d.model_name);
    }
    it->second.deployments.push_back(rt.get());
    registry->deployments_.push_back(std::move(rt));
  }

  // Learned routers name their candidates by deployment id, upstream model id
  // or "provider/model" as well as by group.
  for (const auto& dep : registry->deployments_) {
    std::vector<std::string_view> keys;
    for (const std::string* key :
         {&dep->config->info.id, &dep->config->params.model_id, &dep->config->params.model}) {
      if (key->empty() || std::find(keys.begin(), keys.end(), *key) != keys.end()) continue;
      keys.push_back(*key);
      registry->deployment_names_[*key].push_back(dep.get());
    }
  }
  for (const auto& [alias, target] : router.model_group_alias) {
    if (registry->groups_.count(target)) {
      registry->aliases_[alias] = target;
    } else {
      warnings.push_back("router_settings.model_group_alias." + alias + ": target '" + target +
                         "' is not a model_name in model_list");
    }
  }
  return registry;
}

const ModelGroup* ModelRegistry::find(std::string_view name) const {
  auto it = groups_.find(name);
  if (it != groups_.end()) return &it->second;
  auto alias = aliases_.find(name);
  if (alias != aliases_.end()) return &groups_.at(alias->second);
  return nullptr;
}

const std::vector<const DeploymentRuntime*>* ModelRegistry::find_deployments(
    std::string_view name) const {
  auto it = deployment_names_.find(name);
  return it == deployment_names_.end() ? nullptr : &it->second;
}

std::string ModelRegistry::available_names() const {
  std::string out;
  for (const auto& name : group_names_) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

size_t ModelRegistry::usable_deployments() const {
  return static_cast<size_t>(std::count_if(deployments_.begin(), deployments_.end(),
                                           [](const auto& d) { return d->usable(); }));
}

}  // namespace switchyard
