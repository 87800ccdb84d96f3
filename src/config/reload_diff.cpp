#include "config/reload_diff.h"

#include <map>
#include <sstream>

namespace switchyard {
namespace {

std::string show(const std::string& v) { return "'" + v + "'"; }
std::string show(int64_t v) { return std::to_string(v); }
std::string show(bool v) { return v ? "true" : "false"; }
std::string show(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}
std::string show(const std::optional<int64_t>& v) { return v ? show(*v) : "unset"; }

template <typename T>
void restart_if_changed(ReloadDiff& diff, const char* key, const T& before, const T& after) {
  if (before == after) return;
  diff.restart_required.push_back(std::string(key) + ": " + show(before) + " -> " + show(after));
}

void restart_if_secret_changed(ReloadDiff& diff, const char* key, const Secret& before,
                               const Secret& after) {
  if (before == after) return;
  diff.restart_required.push_back(std::string(key) + ": changed");
}

}  // namespace

std::string deployment_state_key(const Deployment& d) {
  if (!d.info.id_generated) return d.info.id;
  return d.info.id + "|" + d.params.model + "|" + d.params.api_base;
}

bool same_router_settings(const RouterSettings& a, const RouterSettings& b) {
  return a.routing_strategy == b.routing_strategy &&
         a.routing_strategy_args == b.routing_strategy_args;
}

ReloadDiff diff_configs(const Config& before, const Config& after) {
  ReloadDiff diff;
  // Read once by main/run_server: the listeners, the workers and their
  // upstream connection pools, the access log writer, the drain timer.
  const ServerSettings& s0 = before.server;
  const ServerSettings& s1 = after.server;
  restart_if_changed(diff, "switchyard_settings.host", s0.host, s1.host);
  restart_if_changed(diff, "switchyard_settings.port", s0.port, s1.port);
  restart_if_changed(diff, "switchyard_settings.worker_threads", s0.worker_threads,
                     s1.worker_threads);
  restart_if_changed(diff, "switchyard_settings.drain_grace_seconds", s0.drain_grace_seconds,
                     s1.drain_grace_seconds);
  restart_if_changed(diff, "switchyard_settings.upstream_connect_timeout",
                     s0.upstream_connect_timeout, s1.upstream_connect_timeout);
  restart_if_changed(diff, "switchyard_settings.client_idle_timeout", s0.client_idle_timeout,
                     s1.client_idle_timeout);
  restart_if_changed(diff, "switchyard_settings.max_upstream_idle_per_host",
                     s0.max_upstream_idle_per_host, s1.max_upstream_idle_per_host);
  restart_if_changed(diff, "switchyard_settings.access_log", s0.access_log, s1.access_log);
  // The store (keys, spend) and the cache connections are opened at startup.
  restart_if_changed(diff, "switchyard_settings.data_dir", s0.data_dir, s1.data_dir);
  restart_if_changed(diff, "switchyard_settings.key_cache_ttl_seconds", s0.key_cache_ttl_seconds,
                     s1.key_cache_ttl_seconds);
  // The model-table poll is started (or not) at startup.
  restart_if_changed(diff, "general_settings.store_model_in_db",
                     before.general_settings.store_model_in_db,
                     after.general_settings.store_model_in_db);
  restart_if_changed(diff, "switchyard_settings.model_db_poll_seconds", s0.model_db_poll_seconds,
                     s1.model_db_poll_seconds);
  restart_if_secret_changed(diff, "general_settings.database_url",
                            before.general_settings.database_url,
                            after.general_settings.database_url);
  // The store exists only when a master key or database was set at startup.
  const bool had_store =
      !before.general_settings.master_key.empty() || !before.general_settings.database_url.empty();
  const bool wants_store =
      !after.general_settings.master_key.empty() || !after.general_settings.database_url.empty();
  if (had_store != wants_store) {
    diff.restart_required.push_back(
        std::string("general_settings.master_key: the key/spend store is ") +
        (wants_store ? "started" : "stopped") + " only at startup");
  }
  restart_if_changed(diff, "router_settings.redis_host", before.router_settings.redis_host,
                     after.router_settings.redis_host);
  restart_if_changed(diff, "router_settings.redis_port", before.router_settings.redis_port,
                     after.router_settings.redis_port);
  restart_if_secret_changed(diff, "router_settings.redis_password",
                            before.router_settings.redis_password,
                            after.router_settings.redis_password);
  const CacheParams& c0 = before.litellm_settings.cache_params;
  const CacheParams& c1 = after.litellm_settings.cache_params;
  restart_if_changed(diff, "litellm_settings.cache", before.litellm_settings.cache,
                     after.litellm_settings.cache);
  restart_if_changed(diff, "litellm_settings.cache_params.type", c0.type, c1.type);
  restart_if_changed(diff, "litellm_settings.cache_params.host", c0.host, c1.host);
  restart_if_changed(diff, "litellm_settings.cache_params.port", c0.port, c1.port);
  restart_if_secret_changed(diff, "litellm_settings.cache_params.password", c0.password,
                            c1.password);

  std::map<std::string, const Deployment*> old_by_key;
  for (const auto& d : before.model_list) old_by_key[deployment_state_key(d)] = &d;
  for (const auto& d : after.model_list) {
    const std::string key = deployment_state_key(d);
    auto it = old_by_key.find(key);
    if (it == old_by_key.end()) {
      diff.deployments_added.push_back(d.info.id);
      continue;
    }
    diff.deployments_kept.push_back(d.info.id);
    if (!(d == *it->second)) diff.deployments_changed.push_back(d.info.id);
    old_by_key.erase(it);
  }
  for (const auto& [key, d] : old_by_key) diff.deployments_removed.push_back(d->info.id);

  diff.router_changed = !same_router_settings(before.router_settings, after.router_settings);
  return diff;
}

}  // namespace switchyard
