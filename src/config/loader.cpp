#include "config/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/strategy.h"

namespace switchyard {
namespace {

constexpr std::string_view kEnvPrefix = "os.environ/";

// Walks the YAML tree, resolving os.environ/VAR references and recording
// problems against the key path being read.
class Reader {
 public:
  Reader(const EnvLookup& env, ConfigDiagnostics& diag) : env_(env), diag_(diag) {}

  void error(const std::string& path, const std::string& what) {
    diag_.errors.push_back(path + ": " + what);
  }
  void warn(const std::string& message) { diag_.warnings.push_back(message); }

  // Warns about each key of `node` not in `known`.
  void check_keys(const YAML::Node& node, const std::string& path,
                  std::initializer_list<std::string_view> known) {
    if (!node.IsMap()) return;
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>("");
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        warn("unknown key " + join(path, key) + " (ignored)");
      }
    }
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  // Scalar text with os.environ/VAR resolved; nullopt (and an error) when the
  // variable is missing or the node is not a scalar.
  std::optional<std::string> scalar(const YAML::Node& node, const std::string& path) {
    if (!node.IsScalar()) {
      error(path, "expected a scalar value");
      return std::nullopt;
    }
    std::string text = node.Scalar();
    if (text.rfind(kEnvPrefix, 0) == 0) {
      const std::string var = text.substr(kEnvPrefix.size());
      auto value = env_(var);
      if (!value) {
        error(path,
              "environment variable " + var + " is not set (referenced as os.environ/" + var + ")");
        return std::nullopt;
      }
      return value;
    }
    return text;
  }

  std::optional<std::string> string_at(const YAML::Node& map, const std::string& path,
                                       const char* key) {
    YAML::Node node = map[key];
    if (!node.IsDefined() || node.IsNull()) return std::nullopt;
    return scalar(node, join(path, key));
  }

  void read_string(const YAML::Node& map, const std::string& path, const char* key,
                   std::string& out) {
    if (auto v = string_at(map, path, key)) out = *v;
  }
  void read_secret(const YAML::Node& map, const std::string& path, const char* key, Secret& out) {
    if (auto v = string_at(map, path, key)) out = Secret(*v);
  }

  std::optional<double> number_at(const YAML::Node& map, const std::string& path, const char* key) {
    auto text = string_at(map, path, key);
    if (!text) return std::nullopt;
    try {
      size_t used = 0;
      double value = std::stod(*text, &used);
      if (used != text->size()) throw std::invalid_argument("trailing");
      return value;
    } catch (const std::exception&) {
      error(join(path, key), "expected a number, got '" + *text + "'");
      return std::nullopt;
    }
  }
  void read_number(const YAML::Node& map, const std::string& path, const char* key,
                   std::optional<double>& out, double min = 0) {
    if (auto v = number_at(map, path, key)) {
      if (*v < min) {
        error(join(path, key), "expected a number >= " + format_number(min));
      } else {
        out = v;
      }
    }
  }
  void read_number(const YAML::Node& map, const std::string& path, const char* key, double& out,
                   double min = 0) {
    std::optional<double> v;
    read_number(map, path, key, v, min);
    if (v) out = *v;
  }

  std::optional<int64_t> integer_at(const YAML::Node& map, const std::string& path,
                                    const char* key) {
    auto text = string_at(map, path, key);
    if (!text) return std::nullopt;
    try {
      size_t used = 0;
      long long value = std::stoll(*text, &used);
      if (used != text->size()) throw std::invalid_argument("trailing");
      return value;
    } catch (const std::exception&) {
      error(join(path, key), "expected an integer, got '" + *text + "'");
      return std::nullopt;
    }
  }
  void read_integer(const YAML::Node& map, const std::string& path, const char* key,
                    std::optional<int64_t>& out, int64_t min = 0) {
    if (auto v = integer_at(map, path, key)) {
      if (*v < min) {
        error(join(path, key), "expected an integer >= " + std::to_string(min));
      } else {
        out = v;
      }
    }
  }
  void read_integer(const YAML::Node& map, const std::string& path, const char* key, int64_t& out,
                    int64_t min = 0) {
    std::optional<int64_t> v;
    read_integer(map, path, key, v, min);
    if (v) out = *v;
  }

  void read_bool(const YAML::Node& map, const std::string& path, const char* key, bool& out) {
    auto text = string_at(map, path, key);
    if (!text) return;
    std::string lower = *text;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") {
      out = true;
    } else if (lower == "false" || lower == "no" || lower == "off" || lower == "0") {
      out = false;
    } else {
      error(join(path, key), "expected true or false, got '" + *text + "'");
    }
  }

  void read_string_list(const YAML::Node& map, const std::string& path, const char* key,
                        std::vector<std::string>& out) {
    YAML::Node node = map[key];
    if (!node.IsDefined() || node.IsNull()) return;
    const std::string here = join(path, key);
    if (node.IsScalar()) {  // LiteLLM accepts a single string too
      if (auto v = scalar(node, here)) out.push_back(*v);
      return;
    }
    if (!node.IsSequence()) {
      error(here, "expected a list of strings");
      return;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      if (auto v = scalar(node[i], here + "[" + std::to_string(i) + "]")) out.push_back(*v);
    }
  }

  void read_string_map(const YAML::Node& map, const std::string& path, const char* key,
                       std::map<std::string, std::string>& out) {
    YAML::Node node = map[key];
    if (!node.IsDefined() || node.IsNull()) return;
    const std::string here = join(path, key);
    if (!node.IsMap()) {
      error(here, "expected a mapping of strings");
      return;
    }
    for (const auto& kv : node) {
      const std::string k = kv.first.as<std::string>("");
      if (auto v = scalar(kv.second, join(here, k))) out[k] = *v;
    }
  }

  // Fallback lists come as [{group: [a, b]}, ...] in LiteLLM.
  void read_fallbacks(const YAML::Node& map, const std::string& path, const char* key,
                      std::vector<std::pair<std::string, std::vector<std::string>>>& out) {
    YAML::Node node = map[key];
    if (!node.IsDefined() || node.IsNull()) return;
    const std::string here = join(path, key);
    if (!node.IsSequence()) {
      error(here, "expected a list like [{model-group: [fallback-group, ...]}]");
      return;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string item_path = here + "[" + std::to_string(i) + "]";
      if (!node[i].IsMap()) {
        error(item_path, "expected a mapping {model-group: [fallback-group, ...]}");
        continue;
      }
      for (const auto& kv : node[i]) {
        const std::string group = kv.first.as<std::string>("");
        std::vector<std::string> targets;
        YAML::Node wrapper;
        wrapper[group] = kv.second;
        read_string_list(wrapper, item_path, group.c_str(), targets);
        out.emplace_back(group, std::move(targets));
      }
    }
  }

  // Converts a YAML subtree to JSON (scalars typed as YAML would read them),
  // resolving os.environ/ references on the way.
  boost::json::value to_json(const YAML::Node& node, const std::string& path) {
    if (node.IsMap()) {
      boost::json::object obj;
      for (const auto& kv : node) {
        const std::string k = kv.first.as<std::string>("");
        obj[k] = to_json(kv.second, join(path, k));
      }
      return obj;
    }
    if (node.IsSequence()) {
      boost::json::array arr;
      for (size_t i = 0; i < node.size(); ++i) {
        arr.push_back(to_json(node[i], path + "[" + std::to_string(i) + "]"));
      }
      return arr;
    }
    if (!node.IsDefined() || node.IsNull()) return nullptr;
    auto text = scalar(node, path);
    if (!text) return nullptr;
    if (node.Tag() == "!") return boost::json::value(*text);  // quoted in the YAML: a string
    if (*text == "true" || *text == "True") return true;
    if (*text == "false" || *text == "False") return false;
    try {
      size_t used = 0;
      long long i = std::stoll(*text, &used);
      if (used == text->size()) return static_cast<int64_t>(i);
      double d = std::stod(*text, &used);
      if (used == text->size()) return d;
    } catch (const std::exception&) {
    }
    return boost::json::value(*text);
  }

  static std::string format_number(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  }

 private:
  const EnvLookup& env_;
  ConfigDiagnostics& diag_;
};

// Provider prefixes LiteLLM documents; only some are served in this build
// (see providers/provider.h), the rest load fine and fail per request.
std::string infer_provider(const std::string& model, const std::string& api_base) {
  if (model.rfind("gpt-", 0) == 0 || model.rfind("o1", 0) == 0 || model.rfind("o3", 0) == 0 ||
      model.rfind("o4", 0) == 0 || model.rfind("text-embedding-", 0) == 0 ||
      model.rfind("chatgpt-", 0) == 0) {
    return "openai";
  }
  if (model.rfind("claude-", 0) == 0) return "anthropic";
  if (!api_base.empty()) return "openai";  // an explicit base is OpenAI-compatible
  return "";
}

void read_litellm_params(Reader& r, const YAML::Node& node, const std::string& path,
                         LitellmParams& p) {
  if (!node.IsMap()) {
    r.error(path, "expected a mapping with at least `model`");
    return;
  }
  static const std::set<std::string> kKnown = {
      "model", "api_key", "api_base", "base_url", "api_version", "timeout", "stream_timeout", "rpm",
      "tpm", "weight", "input_cost_per_token", "output_cost_per_token", "max_tokens", "max_retries",
      "organization", "aws_region_name", "aws_access_key_id", "aws_secret_access_key",
      "aws_session_token", "mock_response", "mock_latency_ms", "mock_stream_chunks",
      "mock_chunk_interval_ms", "extra_headers", "custom_llm_provider",
      // Accepted for compatibility; credentials and regions of providers that
      // arrive later.
      "aws_profile_name", "aws_role_name", "aws_session_name", "aws_bedrock_runtime_endpoint",
      "vertex_project", "vertex_location", "vertex_credentials", "region_name", "azure_ad_token",
      "tenant_id", "client_id", "client_secret", "use_in_pass_through", "litellm_credential_name",
      "model_info", "tags", "order"};

  auto model = r.string_at(node, path, "model");
  if (!model || model->empty()) {
    if (!model) {
      if (!node["model"].IsDefined()) r.error(Reader::join(path, "model"), "required");
    } else {
      r.error(Reader::join(path, "model"), "must not be empty");
    }
  } else {
    p.model = *model;
  }
  r.read_secret(node, path, "api_key", p.api_key);
  r.read_string(node, path, "api_base", p.api_base);
  if (p.api_base.empty()) r.read_string(node, path, "base_url", p.api_base);
  r.read_string(node, path, "api_version", p.api_version);
  r.read_number(node, path, "timeout", p.timeout);
  r.read_number(node, path, "stream_timeout", p.stream_timeout);
  r.read_integer(node, path, "rpm", p.rpm);
  r.read_integer(node, path, "tpm", p.tpm);
  r.read_number(node, path, "weight", p.weight);
  r.read_number(node, path, "input_cost_per_token", p.input_cost_per_token);
  r.read_number(node, path, "output_cost_per_token", p.output_cost_per_token);
  r.read_integer(node, path, "max_tokens", p.max_tokens, 1);
  r.read_integer(node, path, "max_retries", p.max_retries);
  r.read_string(node, path, "organization", p.organization);
  r.read_string(node, path, "aws_region_name", p.aws_region_name);
  r.read_secret(node, path, "aws_access_key_id", p.aws_access_key_id);
  r.read_secret(node, path, "aws_secret_access_key", p.aws_secret_access_key);
  r.read_secret(node, path, "aws_session_token", p.aws_session_token);
  r.read_string(node, path, "aws_profile_name", p.aws_profile_name);
  if (auto v = r.string_at(node, path, "mock_response")) p.mock_response = *v;
  r.read_integer(node, path, "mock_latency_ms", p.mock_latency_ms);
  r.read_integer(node, path, "mock_stream_chunks", p.mock_stream_chunks);
  r.read_integer(node, path, "mock_chunk_interval_ms", p.mock_chunk_interval_ms);
  r.read_string_map(node, path, "extra_headers", p.extra_headers);

  std::string explicit_provider;
  r.read_string(node, path, "custom_llm_provider", explicit_provider);
  const auto slash = p.model.find('/');
  if (!explicit_provider.empty()) {
    p.provider = explicit_provider;
    p.model_id = (slash != std::string::npos && p.model.substr(0, slash) == explicit_provider)
                     ? p.model.substr(slash + 1)
                     : p.model;
  } else if (slash != std::string::npos) {
    p.provider = p.model.substr(0, slash);
    p.model_id = p.model.substr(slash + 1);
  } else {
    p.provider = infer_provider(p.model, p.api_base);
    p.model_id = p.model;
  }

  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>("");
    if (kKnown.count(key)) continue;
    p.extra_body[key] = r.to_json(kv.second, Reader::join(path, key));
  }
}

void read_model_info(Reader& r, const YAML::Node& node, const std::string& path, ModelInfo& info) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    r.error(path, "expected a mapping");
    return;
  }
  r.read_string(node, path, "id", info.id);
  r.read_string(node, path, "mode", info.mode);
  r.read_string(node, path, "description", info.description);
  r.read_number(node, path, "input_cost_per_token", info.input_cost_per_token);
  r.read_number(node, path, "output_cost_per_token", info.output_cost_per_token);
  auto as_json = r.to_json(node, path);
  if (as_json.is_object()) info.metadata = std::move(as_json.as_object());
}

void read_strategy_args(Reader& r, const YAML::Node& node, const std::string& path,
                        RoutingStrategyArgs& a) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    r.error(path, "expected a mapping");
    return;
  }
  static const std::set<std::string> kKnown = {
      "model_path",   "llm_data_path",   "hot_reload",       "reload_interval",
      "cost_weight",  "embedding_model", "embedding_device", "model_s3_bucket",
      "model_s3_key", "label_mapping",   "router_aliases",   "fallback_strategy"};
  r.read_string(node, path, "model_path", a.model_path);
  r.read_string(node, path, "llm_data_path", a.llm_data_path);
  r.read_bool(node, path, "hot_reload", a.hot_reload);
  r.read_number(node, path, "reload_interval", a.reload_interval);
  if (node["reload_interval"].IsDefined() && a.reload_interval <= 0) {
    r.error(Reader::join(path, "reload_interval"), "expected a number of seconds > 0");
  }
  r.read_number(node, path, "cost_weight", a.cost_weight);
  r.read_string(node, path, "embedding_model", a.embedding_model);
  r.read_string(node, path, "embedding_device", a.embedding_device);
  r.read_string(node, path, "model_s3_bucket", a.model_s3_bucket);
  r.read_string(node, path, "model_s3_key", a.model_s3_key);
  r.read_string_map(node, path, "label_mapping", a.label_mapping);
  if (node["router_aliases"].IsDefined()) {
    a.router_aliases.clear();
    r.read_string_list(node, path, "router_aliases", a.router_aliases);
  }
  if (auto name = r.string_at(node, path, "fallback_strategy")) {
    auto strategy = parse_routing_strategy(*name);
    if (!strategy || is_learned_strategy(*strategy)) {
      r.error(Reader::join(path, "fallback_strategy"),
              "expected a classic strategy (simple-shuffle, least-busy, latency-based-routing, "
              "cost-based-routing, usage-based-routing), got '" +
                  *name + "'");
    } else {
      a.fallback_strategy = *strategy;
    }
  }
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>("");
    if (!kKnown.count(key)) a.extra[key] = r.to_json(kv.second, Reader::join(path, key));
  }
}

void read_router_settings(Reader& r, const YAML::Node& node, RouterSettings& s) {
  const std::string path = "router_settings";
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    r.error(path, "expected a mapping");
    return;
  }
  r.check_keys(
      node, path,
      {"routing_strategy", "routing_strategy_args", "num_retries", "retry_after", "timeout",
       "stream_timeout", "cache_responses", "allowed_fails", "cooldown_time", "fallbacks",
       "context_window_fallbacks", "content_policy_fallbacks", "model_group_alias", "redis_host",
       "redis_port", "redis_password", "enable_pre_call_checks"});
  if (auto name = r.string_at(node, path, "routing_strategy")) {
    if (auto strategy = parse_routing_strategy(*name)) {
      s.routing_strategy = *strategy;
    } else {
      r.error(path + ".routing_strategy",
              "unknown strategy '" + *name + "'; expected one of: " + routing_strategy_names());
    }
  }
  read_strategy_args(r, node["routing_strategy_args"], path + ".routing_strategy_args",
                     s.routing_strategy_args);
  r.read_integer(node, path, "num_retries", s.num_retries);
  r.read_number(node, path, "retry_after", s.retry_after);
  r.read_number(node, path, "timeout", s.timeout);
  r.read_number(node, path, "stream_timeout", s.stream_timeout);
  r.read_bool(node, path, "cache_responses", s.cache_responses);
  r.read_integer(node, path, "allowed_fails", s.allowed_fails);
  r.read_number(node, path, "cooldown_time", s.cooldown_time);
  r.read_fallbacks(node, path, "fallbacks", s.fallbacks);
  r.read_fallbacks(node, path, "context_window_fallbacks", s.context_window_fallbacks);
  r.read_fallbacks(node, path, "content_policy_fallbacks", s.content_policy_fallbacks);
  r.read_string_map(node, path, "model_group_alias", s.model_group_alias);
  r.read_string(node, path, "redis_host", s.redis_host);
  r.read_integer(node, path, "redis_port", s.redis_port, 1);
  r.read_secret(node, path, "redis_password", s.redis_password);
  r.read_bool(node, path, "enable_pre_call_checks", s.enable_pre_call_checks);
}

void read_general_settings(Reader& r, const YAML::Node& node, GeneralSettings& s) {
  const std::string path = "general_settings";
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    r.error(path, "expected a mapping");
    return;
  }
  r.check_keys(
      node, path,
      {"master_key", "database_url", "store_model_in_db", "max_request_size_mb", "alerting",
       "disable_spend_logs", "background_health_checks", "health_check_interval"});
  r.read_secret(node, path, "master_key", s.master_key);
  r.read_secret(node, path, "database_url", s.database_url);
  r.read_bool(node, path, "store_model_in_db", s.store_model_in_db);
  r.read_number(node, path, "max_request_size_mb", s.max_request_size_mb);
  if (node["max_request_size_mb"].IsDefined() && s.max_request_size_mb <= 0) {
    r.error(path + ".max_request_size_mb", "expected a number of MiB > 0");
  }
  r.read_string_list(node, path, "alerting", s.alerting);
  r.read_bool(node, path, "disable_spend_logs", s.disable_spend_logs);
  r.read_number(node, path, "health_check_interval", s.background_health_checks_interval);
}

void read_litellm_settings(Reader& r, const YAML::Node& node, LitellmSettings& s) {
  const std::string path = "litellm_settings";
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    r.error(path, "expected a mapping");
    return;
  }
  r.check_keys(node, path,
               {"cache", "cache_params", "set_verbose", "drop_params", "json_logs",
                "success_callback", "failure_callback", "callbacks", "request_timeout",
                "num_retries", "max_budget", "budget_duration"});
  r.read_bool(node, path, "cache", s.cache);
  YAML::Node cache = node["cache_params"];
  if (cache.IsDefined() && !cache.IsNull()) {
    const std::string cpath = path + ".cache_params";
    if (!cache.IsMap()) {
      r.error(cpath, "expected a mapping");
    } else {
      r.check_keys(cache, cpath, {"type", "host", "port", "password", "ttl", "namespace"});
      r.read_string(cache, cpath, "type", s.cache_params.type);
      if (s.cache_params.type != "local" && s.cache_params.type != "redis") {
        r.error(cpath + ".type", "expected 'local' or 'redis', got '" + s.cache_params.type + "'");
      }
      r.read_string(cache, cpath, "host", s.cache_params.host);
      r.read_integer(cache, cpath, "port", s.cache_params.port, 1);
      r.read_secret(cache, cpath, "password", s.cache_params.password);
      r.read_number(cache, cpath, "ttl", s.cache_params.ttl);
      r.read_string(cache, cpath, "namespace", s.cache_params.namespace_);
    }
  }
  r.read_bool(node, path, "set_verbose", s.set_verbose);
  r.read_bool(node, path, "drop_params", s.drop_params);
  r.read_bool(node, path, "json_logs", s.json_logs);
  r.read_string_list(node, path, "success_callback", s.success_callback);
  r.read_string_list(node, path, "failure_callback", s.failure_callback);
  r.read_string_list(node, path, "callbacks", s.callbacks);
  r.read_number(node, path, "request_timeout", s.request_timeout);
  r.read_integer(node, path, "num_retries", s.num_retries);
  r.read_number(node, path, "max_budget", s.max_budget);
  r.read_string(node, path, "budget_duration", s.budget_duration);
}

void read_server_settings(Reader& r, const YAML::Node& node, ServerSettings& s) {
  const std::string path = "switchyard_settings";
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    r.error(path, "expected a mapping");
    return;
  }
  r.check_keys(node, path,
               {"host", "port", "worker_threads", "drain_grace_seconds", "upstream_connect_timeout",
                "default_timeout", "client_idle_timeout", "max_upstream_idle_per_host",
                "access_log", "data_dir", "key_cache_ttl_seconds", "redis_fail_closed",
                "cache_scope", "model_db_poll_seconds"});
  r.read_string(node, path, "host", s.host);
  r.read_integer(node, path, "port", s.port);
  if (s.port > 65535) r.error(path + ".port", "expected a TCP port 0-65535");
  r.read_integer(node, path, "worker_threads", s.worker_threads);
  r.read_number(node, path, "drain_grace_seconds", s.drain_grace_seconds);
  r.read_number(node, path, "upstream_connect_timeout", s.upstream_connect_timeout);
  r.read_number(node, path, "default_timeout", s.default_timeout);
  r.read_number(node, path, "client_idle_timeout", s.client_idle_timeout);
  r.read_integer(node, path, "max_upstream_idle_per_host", s.max_upstream_idle_per_host);
  r.read_bool(node, path, "access_log", s.access_log);
  r.read_string(node, path, "data_dir", s.data_dir);
  r.read_number(node, path, "key_cache_ttl_seconds", s.key_cache_ttl_seconds);
  if (s.key_cache_ttl_seconds < 0 || s.key_cache_ttl_seconds > 300) {
    r.error(path + ".key_cache_ttl_seconds", "expected 0-300 seconds");
  }
  r.read_bool(node, path, "redis_fail_closed", s.redis_fail_closed);
  r.read_number(node, path, "model_db_poll_seconds", s.model_db_poll_seconds);
  if (s.model_db_poll_seconds < 0.1 || s.model_db_poll_seconds > 3600) {
    r.error(path + ".model_db_poll_seconds", "expected 0.1-3600 seconds");
  }
  r.read_string(node, path, "cache_scope", s.cache_scope);
  if (s.cache_scope != "shared" && s.cache_scope != "key") {
    r.error(path + ".cache_scope", "expected 'shared' or 'key', got '" + s.cache_scope + "'");
  }
}

// One model_list entry (model_name, litellm_params, model_info) at `path`.
void read_deployment(Reader& r, const YAML::Node& entry, const std::string& path, Deployment& d) {
  if (!entry.IsMap()) {
    r.error(path, "expected a mapping with model_name and litellm_params");
    return;
  }
  r.check_keys(entry, path, {"model_name", "litellm_params", "model_info"});
  if (auto name = r.string_at(entry, path, "model_name")) {
    d.model_name = *name;
  }
  if (d.model_name.empty()) {
    if (!entry["model_name"].IsDefined()) r.error(path + ".model_name", "required");
  }
  if (!entry["litellm_params"].IsDefined()) {
    r.error(path + ".litellm_params", "required");
  } else {
    read_litellm_params(r, entry["litellm_params"], path + ".litellm_params", d.params);
  }
  read_model_info(r, entry["model_info"], path + ".model_info", d.info);
}

void read_model_list(Reader& r, const YAML::Node& node, std::vector<Deployment>& out) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsSequence()) {
    r.error("model_list", "expected a list of deployments");
    return;
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string path = "model_list[" + std::to_string(i) + "]";
    const YAML::Node entry = node[i];
    if (!entry.IsMap()) {
      r.error(path, "expected a mapping with model_name and litellm_params");
      continue;
    }
    Deployment d;
    read_deployment(r, entry, path, d);
    if (d.info.id.empty()) {
      // Stable across restarts and replicas: derived from the entry itself.
      d.info.id = d.model_name + "-" + std::to_string(i);
      d.info.id_generated = true;
    }
    if (!ids.insert(d.info.id).second) {
      r.error(path + ".model_info.id", "duplicate deployment id '" + d.info.id + "'");
    }
    out.push_back(std::move(d));
  }
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::optional<Config> parse_config(const std::string& yaml_text, const EnvLookup& env,
                                   ConfigDiagnostics& diagnostics) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    diagnostics.errors.push_back("YAML syntax error at line " + std::to_string(e.mark.line + 1) +
                                 ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
    return std::nullopt;
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    diagnostics.errors.push_back("(top level): expected a mapping of settings");
    return std::nullopt;
  }

  Config config;
  // environment_variables are read first so os.environ/ references elsewhere
  // can see them; the real process environment wins over the file.
  {
    ConfigDiagnostics env_diag;
    Reader env_reader(env, env_diag);
    env_reader.read_string_map(root, "", "environment_variables", config.environment_variables);
    for (auto& e : env_diag.errors) diagnostics.errors.push_back(e);
  }
  EnvLookup layered = [&](const std::string& name) -> std::optional<std::string> {
    if (auto v = env(name)) return v;
    auto it = config.environment_variables.find(name);
    if (it != config.environment_variables.end()) return it->second;
    return std::nullopt;
  };

  Reader r(layered, diagnostics);
  r.check_keys(root, "",
               {"model_list", "router_settings", "general_settings", "litellm_settings",
                "environment_variables", "switchyard_settings"});
  read_model_list(r, root["model_list"], config.model_list);
  read_router_settings(r, root["router_settings"], config.router_settings);
  read_general_settings(r, root["general_settings"], config.general_settings);
  read_litellm_settings(r, root["litellm_settings"], config.litellm_settings);
  read_server_settings(r, root["switchyard_settings"], config.server);

  // LITELLM_MASTER_KEY is the documented fallback when the file sets none.
  if (config.general_settings.master_key.empty()) {
    if (auto key = layered("LITELLM_MASTER_KEY"); key && !key->empty()) {
      config.general_settings.master_key = Secret(*key);
    }
  }
  if (auto dir = layered("SWITCHYARD_DATA_DIR"); dir && !dir->empty())
    config.server.data_dir = *dir;
  if (auto flag = layered("STORE_MODEL_IN_DB"); flag && !flag->empty()) {
    std::string v = *flag;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    config.general_settings.store_model_in_db = v == "true" || v == "1" || v == "yes";
  }
  if (config.general_settings.database_url.empty()) {
    if (auto url = layered("DATABASE_URL"); url && !url->empty()) {
      config.general_settings.database_url = Secret(*url);
    }
  }

  if (!diagnostics.errors.empty()) return std::nullopt;
  return config;
}

std::optional<Deployment> parse_deployment(const std::string& text, const std::string& path,
                                           const EnvLookup& env, ConfigDiagnostics& diagnostics) {
  YAML::Node entry;
  try {
    entry = YAML::Load(text);  // JSON is YAML too
  } catch (const YAML::Exception& e) {
    diagnostics.errors.push_back(path + ": not valid JSON/YAML (" + e.msg + ")");
    return std::nullopt;
  }
  Reader r(env, diagnostics);
  Deployment d;
  read_deployment(r, entry, path, d);
  if (!diagnostics.errors.empty()) return std::nullopt;
  return d;
}

std::optional<Config> load_config_file(const std::string& path, const EnvLookup& env,
                                       ConfigDiagnostics& diagnostics) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diagnostics.errors.push_back(path + ": cannot open file");
    return std::nullopt;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto config = parse_config(buffer.str(), env, diagnostics);
  if (config) config->source = path;
  return config;
}

ConfigLocation locate_config(const std::optional<std::string>& cli_path, const EnvLookup& env) {
  ConfigLocation location;
  auto consider = [&](const std::string& label, const std::string& path) {
    location.tried.push_back(label + " (" + path + ")");
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) {
      location.path = path;
      return true;
    }
    return false;
  };
  if (cli_path) {
    // An explicit path is never silently replaced by another file.
    consider("--config", *cli_path);
    return location;
  }
  if (auto env_path = env("LITELLM_CONFIG_PATH"); env_path && !env_path->empty()) {
    if (consider("LITELLM_CONFIG_PATH", *env_path)) return location;
  } else {
    location.tried.push_back("LITELLM_CONFIG_PATH (not set)");
  }
  consider("default", "/app/config/config.yaml");
  return location;
}

}  // namespace switchyard
