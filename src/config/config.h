#pragma once
// Typed view of a LiteLLM-format configuration file. Built once by the loader,
// validated, then shared read-only (shared_ptr<const Config>) by every worker
// thread; a reload builds a new one instead of mutating this.
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/data_dir.h"
#include "core/secret.h"

namespace switchyard {

enum class RoutingStrategy {
  kSimpleShuffle,
  kLeastBusy,
  kLatencyBased,
  kCostBased,
  kUsageBased,
  kUsageBasedV2,
  kLlmRouterKnn,
  kLlmRouterSvm,
  kLlmRouterMlp,
  kLlmRouterMf,
  kLlmRouterElo,
  kLlmRouterHybrid,
  kLlmRouterCustom,
};

std::optional<RoutingStrategy> parse_routing_strategy(const std::string& name);
const char* routing_strategy_name(RoutingStrategy strategy);
bool is_learned_strategy(RoutingStrategy strategy);

// litellm_params of one model_list entry.
struct LitellmParams {
  std::string model;     // as written: "<provider>/<model id>"
  std::string provider;  // "openai", "hosted_vllm", "mock", ... (inferred when no prefix)
  std::string model_id;  // what the upstream is asked for
  Secret api_key;
  std::string api_base;
  std::string api_version;
  std::optional<double> timeout;         // seconds, whole request
  std::optional<double> stream_timeout;  // seconds to the first streamed byte
  std::optional<int64_t> rpm;
  std::optional<int64_t> tpm;
  std::optional<double> weight;
  std::optional<double> input_cost_per_token;
  std::optional<double> output_cost_per_token;
  std::optional<int64_t> max_tokens;
  std::optional<int64_t> max_retries;
  std::string organization;
  // AWS (Bedrock) settings, used by the providers issue.
  std::string aws_region_name;
  Secret aws_access_key_id;
  Secret aws_secret_access_key;
  Secret aws_session_token;
  std::string aws_profile_name;  // profile of the shared credentials file
  // Built-in mock provider knobs (Switchyard extension, harmless for LiteLLM).
  std::optional<std::string> mock_response;
  int64_t mock_latency_ms = 0;
  int64_t mock_stream_chunks = 0;  // 0 = one chunk per word
  int64_t mock_chunk_interval_ms = 0;
  std::map<std::string, std::string> extra_headers;
  // Any other key: passed to the upstream request body as a default the
  // client's own value overrides (temperature, top_p, seed, ...).
  boost::json::object extra_body;

  bool operator==(const LitellmParams&) const = default;
};

struct ModelInfo {
  std::string id;  // deployment id; generated when absent
  bool id_generated = false;
  std::string mode;  // chat, embedding, completion, image_generation, ...
  std::string description;
  std::optional<double> input_cost_per_token;
  std::optional<double> output_cost_per_token;
  boost::json::object metadata;  // every model_info key, as written

  bool operator==(const ModelInfo&) const = default;
};

struct Deployment {
  std::string model_name;  // the model group
  LitellmParams params;
  ModelInfo info;
  // Added through POST /model/new and kept in the database
  // (store_model_in_db), not in the config file.
  bool from_db = false;

  bool operator==(const Deployment&) const = default;
};

struct RoutingStrategyArgs {
  std::string model_path;
  std::string llm_data_path;
  bool hot_reload = false;
  double reload_interval = 300;
  // Unset: the artefact's recommended weight (chosen on its validation slice).
  std::optional<double> cost_weight;
  std::string embedding_model;
  std::string embedding_device;
  std::string model_s3_bucket;
  std::string model_s3_key;
  std::map<std::string, std::string> label_mapping;
  // Request `model` values routed across every candidate (Switchyard extension).
  std::vector<std::string> router_aliases{"auto"};
  // Classic strategy used while no router model can score (load failure).
  RoutingStrategy fallback_strategy = RoutingStrategy::kSimpleShuffle;
  boost::json::object extra;  // keys not listed above, kept for custom routers

  bool operator==(const RoutingStrategyArgs&) const = default;
};

struct RouterSettings {
  RoutingStrategy routing_strategy = RoutingStrategy::kSimpleShuffle;
  RoutingStrategyArgs routing_strategy_args;
  std::optional<int64_t> num_retries;  // unset: litellm_settings.num_retries, else 0
  double retry_after = 0;
  std::optional<double> timeout;
  std::optional<double> stream_timeout;
  bool cache_responses = false;
  int64_t allowed_fails = 3;
  double cooldown_time = 5;
  std::vector<std::pair<std::string, std::vector<std::string>>> fallbacks;
  std::vector<std::pair<std::string, std::vector<std::string>>> context_window_fallbacks;
  std::vector<std::pair<std::string, std::vector<std::string>>> content_policy_fallbacks;
  std::map<std::string, std::string> model_group_alias;
  std::string redis_host;
  std::optional<int64_t> redis_port;
  Secret redis_password;
  bool enable_pre_call_checks = false;

  bool operator==(const RouterSettings&) const = default;
};

struct GeneralSettings {
  Secret master_key;
  Secret database_url;
  bool store_model_in_db = false;
  double max_request_size_mb = 10;
  std::vector<std::string> alerting;
  bool disable_spend_logs = false;
  std::optional<double> background_health_checks_interval;
};

struct CacheParams {
  std::string type = "local";
  std::string host;
  std::optional<int64_t> port;
  Secret password;
  std::optional<double> ttl;
  std::string namespace_;
};

struct LitellmSettings {
  bool cache = false;
  CacheParams cache_params;
  bool set_verbose = false;
  bool drop_params = false;
  bool json_logs = false;
  std::vector<std::string> success_callback;
  std::vector<std::string> failure_callback;
  std::vector<std::string> callbacks;
  std::optional<double> request_timeout;
  std::optional<int64_t> num_retries;
  std::optional<double> max_budget;
  std::string budget_duration;
};

// Switchyard's own settings (`switchyard_settings:`); LiteLLM ignores the block.
// Command-line flags override these.
struct ServerSettings {
  std::string host = "0.0.0.0";
  int64_t port = 4000;
  int64_t worker_threads = 0;  // 0 = one per core
  double drain_grace_seconds = 30;
  double upstream_connect_timeout = 10;
  double default_timeout = 600;       // used when neither deployment nor router sets one
  double client_idle_timeout = 120;   // keep-alive idle limit for client connections
  int64_t max_upstream_idle_per_host = 64;
  bool access_log = true;
  // The one directory written to besides /tmp: the embedded SQLite store
  // (switchyard.db) when no PostgreSQL database_url is set, and router
  // artefacts downloaded from S3. SWITCHYARD_DATA_DIR overrides it.
  std::string data_dir = kDefaultDataDir;
  // How long a virtual key read from the database is trusted before it is
  // read again: the bound on how late a change made on another replica
  // (block, delete, new budget) takes effect here.
  double key_cache_ttl_seconds = 2;
  // What a request meets when Redis (shared rate-limit counters) cannot be
  // reached: false (default) = fail open, per-replica counters apply;
  // true = 503 until Redis is back.
  bool redis_fail_closed = false;
  // Whether cached answers are shared by every caller (LiteLLM's behaviour,
  // the default) or kept per virtual key ("key").
  std::string cache_scope = "shared";
  // store_model_in_db: how often each replica reads the model table, i.e.
  // how late a /model/new or /model/delete made elsewhere shows up here.
  double model_db_poll_seconds = 2;
};

struct Config {
  std::string source;  // where it was read from
  std::vector<Deployment> model_list;
  RouterSettings router_settings;
  GeneralSettings general_settings;
  LitellmSettings litellm_settings;
  ServerSettings server;
  std::map<std::string, std::string> environment_variables;
};

}  // namespace switchyard
