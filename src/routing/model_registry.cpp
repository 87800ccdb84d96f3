#include "routing/model_registry.h"

#include <algorithm>
#include <random>

namespace switchyard {
namespace {
std::chrono::milliseconds seconds_to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}
}  // namespace

std::shared_ptr<const ModelRegistry> ModelRegistry::build(const std::shared_ptr<const Config>& config,
                                                          const EnvLookup& env,
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
    const ProviderInfo info = provider_info(d.params.provider);
    rt->kind = info.kind;
    rt->timeout = seconds_to_ms(d.params.timeout.value_or(default_timeout));
    rt->stream_timeout = seconds_to_ms(
        d.params.stream_timeout.value_or(router.stream_timeout.value_or(rt->timeout.count() /
                                                                        1000.0)));
    if (d.params.weight) {
      rt->weight = *d.params.weight;
    } else if (d.params.rpm) {
      rt->weight = static_cast<double>(*d.params.rpm);
    } else if (d.params.tpm) {
      rt->weight = static_cast<double>(*d.params.tpm);
    }

    switch (info.kind) {
      case ProviderKind::kMock: break;
      case ProviderKind::kOpenAICompatible: {
        std::string base = d.params.api_base.empty() ? info.default_api_base : d.params.api_base;
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
        if (info.append_v1 && (rt->endpoint.base_path.size() < 3 ||
                               rt->endpoint.base_path.substr(rt->endpoint.base_path.size() - 3) !=
                                   "/v1")) {
          rt->endpoint.base_path += "/v1";
        }
        std::string key = d.params.api_key.reveal();
        if (key.empty() && !info.api_key_env.empty()) key = env(info.api_key_env).value_or("");
        if (!key.empty()) rt->authorization = "Bearer " + key;
        break;
      }
      case ProviderKind::kNotYetSupported:
        rt->unavailable_reason =
            "provider '" + d.params.provider + "' is recognised but not supported in this build";
        break;
      case ProviderKind::kUnknown:
        rt->unavailable_reason =
            d.params.provider.empty()
                ? "model '" + d.params.model + "' has no provider prefix (e.g. openai/" +
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

  for (auto& [name, group] : registry->groups_) {
    double total = 0;
    for (const auto* dep : group.deployments) {
      total += dep->usable() ? std::max(dep->weight, 0.0) : 0.0;
      group.cumulative_weights.push_back(total);
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
  auto it = groups_.find(std::string(name));
  if (it != groups_.end()) return &it->second;
  auto alias = aliases_.find(std::string(name));
  if (alias != aliases_.end()) return &groups_.at(alias->second);
  return nullptr;
}

const DeploymentRuntime* ModelRegistry::pick(const ModelGroup& group) const {
  if (group.deployments.size() == 1) return group.deployments.front();
  const double total = group.cumulative_weights.empty() ? 0 : group.cumulative_weights.back();
  if (total <= 0) return group.deployments.front();  // none usable: report the first's reason
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::uniform_real_distribution<double> dist(0, total);
  const double r = dist(rng);
  auto it = std::upper_bound(group.cumulative_weights.begin(), group.cumulative_weights.end(), r);
  size_t index = static_cast<size_t>(it - group.cumulative_weights.begin());
  return group.deployments[std::min(index, group.deployments.size() - 1)];
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
