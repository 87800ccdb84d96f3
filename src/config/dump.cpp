// Normalised YAML rendering of a Config for `switchyard check-config`.
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

#include "config/loader.h"

namespace switchyard {
namespace {

void emit_json(YAML::Emitter& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::object:
      out << YAML::BeginMap;
      for (const auto& kv : v.get_object()) {
        out << YAML::Key << std::string(kv.key()) << YAML::Value;
        emit_json(out, kv.value());
      }
      out << YAML::EndMap;
      break;
    case boost::json::kind::array:
      out << YAML::BeginSeq;
      for (const auto& item : v.get_array()) emit_json(out, item);
      out << YAML::EndSeq;
      break;
    case boost::json::kind::string: out << std::string(v.get_string()); break;
    case boost::json::kind::bool_: out << v.get_bool(); break;
    case boost::json::kind::int64: out << v.get_int64(); break;
    case boost::json::kind::uint64: out << v.get_uint64(); break;
    case boost::json::kind::double_: out << v.get_double(); break;
    case boost::json::kind::null: out << YAML::Null; break;
  }
}

template <typename T>
void kv(YAML::Emitter& out, const char* key, const T& value) {
  out << YAML::Key << key << YAML::Value << value;
}
template <typename T>
void kv_opt(YAML::Emitter& out, const char* key, const std::optional<T>& value) {
  if (value) kv(out, key, *value);
}
void kv_str(YAML::Emitter& out, const char* key, const std::string& value) {
  if (!value.empty()) kv(out, key, value);
}
void kv_secret(YAML::Emitter& out, const char* key, const Secret& value) {
  if (!value.empty()) kv(out, key, std::string("***"));
}
void kv_list(YAML::Emitter& out, const char* key, const std::vector<std::string>& values) {
  if (values.empty()) return;
  out << YAML::Key << key << YAML::Value << YAML::Flow << values;
}
void kv_fallbacks(YAML::Emitter& out, const char* key,
                  const std::vector<std::pair<std::string, std::vector<std::string>>>& list) {
  if (list.empty()) return;
  out << YAML::Key << key << YAML::Value << YAML::BeginSeq;
  for (const auto& [group, targets] : list) {
    out << YAML::BeginMap << YAML::Key << group << YAML::Value << YAML::Flow << targets
        << YAML::EndMap;
  }
  out << YAML::EndSeq;
}
void kv_map(YAML::Emitter& out, const char* key, const std::map<std::string, std::string>& m) {
  if (m.empty()) return;
  out << YAML::Key << key << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : m) out << YAML::Key << k << YAML::Value << v;
  out << YAML::EndMap;
}

}  // namespace

std::string dump_config(const Config& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;

  out << YAML::Key << "model_list" << YAML::Value << YAML::BeginSeq;
  for (const auto& d : c.model_list) {
    const auto& p = d.params;
    out << YAML::BeginMap;
    kv(out, "model_name", d.model_name);
    out << YAML::Key << "litellm_params" << YAML::Value << YAML::BeginMap;
    kv(out, "model", p.model);
    kv(out, "provider", p.provider.empty() ? std::string("(unknown)") : p.provider);
    kv_secret(out, "api_key", p.api_key);
    kv_str(out, "api_base", p.api_base);
    kv_str(out, "api_version", p.api_version);
    kv_opt(out, "timeout", p.timeout);
    kv_opt(out, "stream_timeout", p.stream_timeout);
    kv_opt(out, "rpm", p.rpm);
    kv_opt(out, "tpm", p.tpm);
    kv_opt(out, "weight", p.weight);
    kv_opt(out, "input_cost_per_token", p.input_cost_per_token);
    kv_opt(out, "output_cost_per_token", p.output_cost_per_token);
    kv_opt(out, "max_tokens", p.max_tokens);
    kv_opt(out, "max_retries", p.max_retries);
    kv_str(out, "organization", p.organization);
    kv_str(out, "aws_region_name", p.aws_region_name);
    kv_secret(out, "aws_access_key_id", p.aws_access_key_id);
    kv_secret(out, "aws_secret_access_key", p.aws_secret_access_key);
    kv_secret(out, "aws_session_token", p.aws_session_token);
    kv_str(out, "aws_profile_name", p.aws_profile_name);
    if (p.mock_response) kv(out, "mock_response", *p.mock_response);
    if (p.mock_latency_ms) kv(out, "mock_latency_ms", p.mock_latency_ms);
    if (p.mock_stream_chunks) kv(out, "mock_stream_chunks", p.mock_stream_chunks);
    if (p.mock_chunk_interval_ms) kv(out, "mock_chunk_interval_ms", p.mock_chunk_interval_ms);
    if (!p.extra_headers.empty()) {
      // Header values often carry credentials: names only.
      out << YAML::Key << "extra_headers" << YAML::Value << YAML::BeginMap;
      for (const auto& [name, value] : p.extra_headers) {
        out << YAML::Key << name << YAML::Value << "***";
      }
      out << YAML::EndMap;
    }
    for (const auto& item : p.extra_body) {
      out << YAML::Key << std::string(item.key()) << YAML::Value;
      emit_json(out, item.value());
    }
    out << YAML::EndMap;
    out << YAML::Key << "model_info" << YAML::Value << YAML::BeginMap;
    kv(out, "id", d.info.id);
    for (const auto& item : d.info.metadata) {
      if (item.key() == "id") continue;
      out << YAML::Key << std::string(item.key()) << YAML::Value;
      emit_json(out, item.value());
    }
    out << YAML::EndMap;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;

  const auto& r = c.router_settings;
  out << YAML::Key << "router_settings" << YAML::Value << YAML::BeginMap;
  kv(out, "routing_strategy", std::string(routing_strategy_name(r.routing_strategy)));
  const auto& a = r.routing_strategy_args;
  if (is_learned_strategy(r.routing_strategy) || !a.model_path.empty()) {
    out << YAML::Key << "routing_strategy_args" << YAML::Value << YAML::BeginMap;
    kv_str(out, "model_path", a.model_path);
    kv_str(out, "llm_data_path", a.llm_data_path);
    kv(out, "hot_reload", a.hot_reload);
    kv(out, "reload_interval", a.reload_interval);
    kv_opt(out, "cost_weight", a.cost_weight);
    kv_str(out, "embedding_model", a.embedding_model);
    kv_str(out, "embedding_device", a.embedding_device);
    kv_str(out, "model_s3_bucket", a.model_s3_bucket);
    kv_str(out, "model_s3_key", a.model_s3_key);
    kv_map(out, "label_mapping", a.label_mapping);
    kv_list(out, "router_aliases", a.router_aliases);
    kv(out, "fallback_strategy", std::string(routing_strategy_name(a.fallback_strategy)));
    for (const auto& item : a.extra) {
      out << YAML::Key << std::string(item.key()) << YAML::Value;
      emit_json(out, item.value());
    }
    out << YAML::EndMap;
  }
  kv_opt(out, "num_retries", r.num_retries);
  kv(out, "retry_after", r.retry_after);
  kv_opt(out, "timeout", r.timeout);
  kv_opt(out, "stream_timeout", r.stream_timeout);
  kv(out, "cache_responses", r.cache_responses);
  kv(out, "allowed_fails", r.allowed_fails);
  kv(out, "cooldown_time", r.cooldown_time);
  kv_fallbacks(out, "fallbacks", r.fallbacks);
  kv_fallbacks(out, "context_window_fallbacks", r.context_window_fallbacks);
  kv_fallbacks(out, "content_policy_fallbacks", r.content_policy_fallbacks);
  kv_map(out, "model_group_alias", r.model_group_alias);
  kv_str(out, "redis_host", r.redis_host);
  kv_opt(out, "redis_port", r.redis_port);
  kv_secret(out, "redis_password", r.redis_password);
  out << YAML::EndMap;

  const auto& g = c.general_settings;
  out << YAML::Key << "general_settings" << YAML::Value << YAML::BeginMap;
  kv(out, "master_key", std::string(g.master_key.empty() ? "(none: open mode)" : "***"));
  kv_secret(out, "database_url", g.database_url);
  kv(out, "store_model_in_db", g.store_model_in_db);
  kv(out, "max_request_size_mb", g.max_request_size_mb);
  kv_list(out, "alerting", g.alerting);
  out << YAML::EndMap;

  const auto& l = c.litellm_settings;
  out << YAML::Key << "litellm_settings" << YAML::Value << YAML::BeginMap;
  kv(out, "cache", l.cache);
  if (l.cache) {
    out << YAML::Key << "cache_params" << YAML::Value << YAML::BeginMap;
    kv(out, "type", l.cache_params.type);
    kv_str(out, "host", l.cache_params.host);
    kv_opt(out, "port", l.cache_params.port);
    kv_secret(out, "password", l.cache_params.password);
    kv_opt(out, "ttl", l.cache_params.ttl);
    kv_str(out, "namespace", l.cache_params.namespace_);
    out << YAML::EndMap;
  }
  kv(out, "set_verbose", l.set_verbose);
  kv(out, "drop_params", l.drop_params);
  kv(out, "json_logs", l.json_logs);
  kv_list(out, "success_callback", l.success_callback);
  kv_list(out, "failure_callback", l.failure_callback);
  kv_list(out, "callbacks", l.callbacks);
  kv_opt(out, "request_timeout", l.request_timeout);
  kv_opt(out, "num_retries", l.num_retries);
  kv_opt(out, "max_budget", l.max_budget);
  kv_str(out, "budget_duration", l.budget_duration);
  out << YAML::EndMap;

  const auto& s = c.server;
  out << YAML::Key << "switchyard_settings" << YAML::Value << YAML::BeginMap;
  kv(out, "host", s.host);
  kv(out, "port", s.port);
  kv(out, "worker_threads", s.worker_threads);
  kv(out, "drain_grace_seconds", s.drain_grace_seconds);
  kv(out, "upstream_connect_timeout", s.upstream_connect_timeout);
  kv(out, "default_timeout", s.default_timeout);
  kv(out, "client_idle_timeout", s.client_idle_timeout);
  kv(out, "max_upstream_idle_per_host", s.max_upstream_idle_per_host);
  kv(out, "access_log", s.access_log);
  kv(out, "data_dir", s.data_dir);
  kv(out, "key_cache_ttl_seconds", s.key_cache_ttl_seconds);
  kv(out, "model_db_poll_seconds", s.model_db_poll_seconds);
  out << YAML::EndMap;

  if (!c.environment_variables.empty()) {
    // Values may be credentials; show which variables the file sets, not what.
    out << YAML::Key << "environment_variables" << YAML::Value << YAML::BeginMap;
    for (const auto& [name, value] : c.environment_variables) {
      out << YAML::Key << name << YAML::Value << "***";
    }
    out << YAML::EndMap;
  }

  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace switchyard
