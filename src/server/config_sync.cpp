#include "server/config_sync.h"

#include <boost/json.hpp>
#include <fstream>
#include <future>
#include <sstream>

#include "server/db_models.h"
#include "server/gateway_state.h"
#include "telemetry/log.h"
#include "telemetry/prometheus_text.h"
#include "upstream/aws_sigv4.h"

namespace switchyard {
namespace json = boost::json;

namespace {

constexpr size_t kMaxConfigBytes = size_t{8} * 1024 * 1024;
constexpr auto kFetchTimeout = std::chrono::seconds(30);
// A replaced router stays alive this long after its last snapshot let go
// (GatewayState::learned_routing() hands out a plain pointer).
constexpr auto kRetiredRouterGrace = std::chrono::minutes(10);

std::string env_or(const EnvLookup& env, const char* name) { return env(name).value_or(""); }

std::optional<bool> parse_bool(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  return std::nullopt;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json::array to_array(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& v : values) out.emplace_back(v);
  return out;
}

json::value nullable(const std::string& text) {
  return text.empty() ? json::value(nullptr) : json::value(text);
}

}  // namespace

const char* ConfigSource::name() const {
  switch (kind) {
    case Kind::kFile:
      return "file";
    case Kind::kS3:
      return "s3";
    case Kind::kGcs:
      return "gcs";
  }
  return "file";
}

std::string ConfigSource::location() const { return remote() ? object.uri() : path; }

std::optional<ConfigSource> remote_config_source(const EnvLookup& env, std::string& error) {
  auto pair = [&](const char* bucket_var, const char* key_var, ConfigSource::Kind kind,
                  const char* scheme) -> std::optional<ConfigSource> {
    const std::string bucket = env_or(env, bucket_var);
    const std::string key = env_or(env, key_var);
    if (bucket.empty() && key.empty()) return std::nullopt;
    if (bucket.empty() || key.empty()) {
      error = std::string(bucket_var) + " and " + key_var + " must be set together";
      return std::nullopt;
    }
    ConfigSource source;
    source.kind = kind;
    source.object = ObjectRef{bucket, key, scheme};
    return source;
  };
  if (auto s3 = pair("CONFIG_S3_BUCKET", "CONFIG_S3_KEY", ConfigSource::Kind::kS3, "s3")) return s3;
  if (!error.empty()) return std::nullopt;
  if (auto gcs = pair("CONFIG_GCS_BUCKET", "CONFIG_GCS_KEY", ConfigSource::Kind::kGcs, "gs")) {
    return gcs;
  }
  if (!error.empty()) return std::nullopt;
  // LiteLLM's names for the same thing.
  const std::string type = env_or(env, "LITELLM_CONFIG_BUCKET_TYPE");
  const bool gcs = type == "gcs";
  if (!type.empty() && type != "s3" && !gcs) {
    error = "LITELLM_CONFIG_BUCKET_TYPE must be s3 or gcs";
    return std::nullopt;
  }
  return pair("LITELLM_CONFIG_BUCKET_NAME", "LITELLM_CONFIG_BUCKET_OBJECT_KEY",
              gcs ? ConfigSource::Kind::kGcs : ConfigSource::Kind::kS3, gcs ? "gs" : "s3");
}

Result<ConfigSyncOptions> ConfigSyncOptions::from_env(const EnvLookup& env, ConfigSource source) {
  ConfigSyncOptions o;
  o.source = std::move(source);
  auto flag = [&](const char* name, bool& out) -> std::optional<Error> {
    auto text = env(name);
    if (!text || text->empty()) return std::nullopt;
    auto value = parse_bool(*text);
    if (!value) {
      return Error::make(ErrorKind::kInvalidRequest,
                         std::string(name) + ": expected true or false");
    }
    out = *value;
    return std::nullopt;
  };
  if (auto bad = flag("CONFIG_HOT_RELOAD", o.hot_reload)) return *bad;
  if (auto bad = flag("CONFIG_SYNC_ENABLED", o.sync_enabled)) return *bad;
  if (auto text = env("CONFIG_SYNC_INTERVAL"); text && !text->empty()) {
    char* end = nullptr;
    const double seconds = std::strtod(text->c_str(), &end);
    if (end == nullptr || *end != '\0' || !(seconds > 0)) {
      return Error::make(ErrorKind::kInvalidRequest,
                         "CONFIG_SYNC_INTERVAL: expected a number of seconds > 0");
    }
    o.interval_seconds = seconds;
  }
  return o;
}

S3Settings object_store_settings(const ConfigSource& source, const EnvLookup& env) {
  return source.kind == ConfigSource::Kind::kGcs ? S3Settings::gcs_from_env(env)
                                                 : S3Settings::from_env(env);
}

Result<FetchedConfig> fetch_config(const ConfigSource& source, S3Client* client,
                                   const std::string& if_version) {
  FetchedConfig out;
  if (!source.remote()) {
    std::ifstream in(source.path, std::ios::binary);
    if (!in) {
      return Error::make(ErrorKind::kUnavailable, source.path + ": cannot open file",
                         "config_source_unavailable");
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    out.text = buffer.str();
    out.version = "sha256:" + sha256_hex(out.text).substr(0, 16);
    out.unchanged = !if_version.empty() && if_version == out.version;
    return out;
  }
  auto got = client->get(source.object, if_version, kMaxConfigBytes, kFetchTimeout);
  if (!got) return got.error();
  out.unchanged = got->not_modified;
  out.version = got->not_modified && got->etag.empty() ? if_version : got->etag;
  out.text = std::move(got->body);
  return out;
}

ConfigSync::ConfigSync(ConfigSyncOptions options, EnvLookup env,
                       LearnedRoutingOptions learned_options, std::string served_version,
                       std::string startup_error)
    : options_(std::move(options)),
      env_(std::move(env)),
      learned_options_(std::move(learned_options)),
      applied_version_(served_version),
      seen_version_(std::move(served_version)),
      last_error_(std::move(startup_error)) {
  if (!last_error_.empty()) {
    last_error_at_ = iso8601_now();
    ++sync_errors_;
  } else if (options_.source.remote()) {
    last_sync_at_ = last_success_sync_at_ = iso8601_now();  // main read it just now
    last_success_sync_unix_ = unix_now();
  }
  if (options_.source.remote()) {
    client_ = std::make_unique<S3Client>(object_store_settings(options_.source, env_));
  }
}

ConfigSync::~ConfigSync() {
  stop();
  thread_.stop();
  thread_.join();
  retired_.clear();
}

void ConfigSync::start(GatewayState& state) {
  state_ = &state;
  startup_config_ = state.snapshot()->config;
  asio::post(thread_, [this] { schedule(std::chrono::milliseconds(0)); });
}

void ConfigSync::stop() {
  stopped_ = true;
  std::promise<void> idle;
  auto done = idle.get_future();
  asio::post(thread_, [this, &idle] {
    timer_.cancel();
    idle.set_value();
  });
  // Handlers run in order on the one sync thread: once this one ran, no
  // fetch or apply is in progress and none will publish again, so the
  // GatewayState may go away. (Never called from the sync thread itself.)
  done.wait();
}

void ConfigSync::schedule(std::chrono::milliseconds delay) {
  if (stopped_) return;
  timer_.expires_after(delay);
  timer_.async_wait([this](const error_code& ec) {
    if (ec || stopped_) return;
    poll();
  });
}

void ConfigSync::record_fetch_failure(const std::string& error) {
  std::lock_guard lock(mutex_);
  last_sync_at_ = iso8601_now();
  last_error_ = error;
  last_error_at_ = last_sync_at_;
  ++sync_errors_;
  ++consecutive_failures_;
}

void ConfigSync::poll() {
  const auto interval = std::chrono::milliseconds(
      std::max<int64_t>(50, static_cast<int64_t>(options_.interval_seconds * 1000)));
  // Replaced routers nobody uses any more go away here, off the workers.
  const auto now = Clock::now();
  std::erase_if(retired_, [now](const auto& entry) {
    return entry.second.use_count() == 1 && now - entry.first > kRetiredRouterGrace;
  });

  const bool watch = options_.source.remote() ? options_.sync_enabled : options_.hot_reload;
  if (!watch) {
    schedule(interval);
    return;
  }
  std::string seen;
  {
    std::lock_guard lock(mutex_);
    seen = seen_version_;
  }
  auto fetched = fetch_config(options_.source, client_.get(), seen);
  if (!fetched) {
    const std::string error = fetched.error().message;
    uint64_t failures = 0;
    {
      record_fetch_failure(error);
      std::lock_guard lock(mutex_);
      failures = consecutive_failures_;
    }
    // Back off (up to 8 intervals, at most 5 minutes unless the interval is
    // longer), keep serving the last good config.
    const int64_t factor = int64_t{1} << std::min<uint64_t>(failures, 3);
    auto delay = std::min<std::chrono::milliseconds>(interval * factor, std::chrono::minutes(5));
    delay = std::max(delay, interval);
    log_event(LogLevel::kWarning, "config sync failed; keeping the config being served",
              {{"source", json_string(options_.source.location())},
               {"error", json_string(error)},
               {"consecutive_failures", std::to_string(failures)},
               {"retry_in_ms", std::to_string(delay.count())}});
    schedule(delay);
    return;
  }
  bool apply_now = false;
  {
    std::lock_guard lock(mutex_);
    last_sync_at_ = iso8601_now();
    last_success_sync_at_ = last_sync_at_;
    last_success_sync_unix_ = unix_now();
    if (consecutive_failures_ > 0) {
      log_event(LogLevel::kInfo, "config source reachable again",
                {{"source", json_string(options_.source.location())}});
    }
    consecutive_failures_ = 0;
    if (!fetched->unchanged) seen_version_ = fetched->version;
    const std::string& version = fetched->unchanged ? seen_version_ : fetched->version;
    const bool is_new = version != applied_version_ && version != failed_version_;
    if (is_new && options_.hot_reload) {
      apply_now = true;
    } else if (is_new && pending_version_ != version) {
      pending_version_ = version;
      log_event(
          LogLevel::kInfo,
          "config changed in its source; CONFIG_HOT_RELOAD is off, POST /config/reload "
          "applies it",
          {{"source", json_string(options_.source.location())}, {"version", json_string(version)}});
    }
  }
  if (apply_now) {
    if (fetched->unchanged) {
      // A 304 for a version never applied (hot reload just turned on is
      // impossible, but a failed earlier apply is): read it whole.
      fetched = fetch_config(options_.source, client_.get(), "");
    }
    if (fetched) apply(*fetched, Trigger::kWatch);
  }
  schedule(interval);
}

ReloadReport ConfigSync::reload(Trigger trigger) {
  auto fetched = fetch_config(options_.source, client_.get(), "");
  if (!fetched) {
    record_fetch_failure(fetched.error().message);
    ReloadReport report;
    report.error_kind = ErrorKind::kUnavailable;
    report.error = "cannot read the config from " + options_.source.location() + ": " +
                   fetched.error().message + "; the current config keeps serving";
    std::lock_guard lock(mutex_);
    ++reloads_failed_;
    return report;
  }
  {
    std::lock_guard lock(mutex_);
    seen_version_ = fetched->version;
  }
  return apply(*fetched, trigger);
}

ReloadReport ConfigSync::apply(const FetchedConfig& fetched, Trigger trigger) {
  ReloadReport report;
  report.version = fetched.version;
  const char* trigger_name = trigger == Trigger::kApi ? "api" : "watch";
  auto fail = [&](std::string summary) {
    report.ok = false;
    report.error = std::move(summary);
    std::lock_guard lock(mutex_);
    ++reloads_failed_;
    failed_version_ = fetched.version;
    last_error_ = report.error;
    last_error_at_ = iso8601_now();
    log_event(LogLevel::kError, "config reload rejected; the current config keeps serving",
              {{"source", json_string(options_.source.location())},
               {"trigger", json_string(trigger_name)},
               {"version", json_string(fetched.version)},
               {"error", json_string(report.error)}});
    return report;
  };
  if (state_ == nullptr) return fail("the gateway is not serving yet");

  ConfigDiagnostics diagnostics;
  auto parsed = parse_config(fetched.text, env_, diagnostics);
  report.warnings = diagnostics.warnings;
  if (!parsed) {
    report.errors = diagnostics.errors;
    std::string summary = "invalid config (" + options_.source.location() + "): ";
    for (size_t i = 0; i < diagnostics.errors.size(); ++i) {
      summary += (i > 0 ? "; " : "") + diagnostics.errors[i];
    }
    return fail(summary);
  }
  parsed->source = options_.source.location();
  // From here to the publish, no other rebuild (the DB model poll) runs.
  std::lock_guard rebuild(state_->rebuild_mutex());
  std::shared_ptr<const Config> config = std::make_shared<const Config>(std::move(*parsed));
  if (auto db = state_->db_deployments()) {
    config = merge_db_deployments(*config, *db, report.warnings);
  }
  const auto current = state_->snapshot();
  report.diff = diff_configs(*current->config, *config);
  report.diff.restart_required = diff_configs(*startup_config_, *config).restart_required;
  {
    std::lock_guard lock(mutex_);
    report.changed = fetched.version != applied_version_;
  }

  std::vector<std::string> registry_warnings;
  auto next = make_snapshot(config, env_, state_->deployment_states(), registry_warnings);
  for (auto& w : registry_warnings) report.warnings.push_back(std::move(w));

  const auto strategy = config->router_settings.routing_strategy;
  std::shared_ptr<LearnedRouting> replaced;
  if (!is_learned_strategy(strategy)) {
    report.router = current->learned_routing ? "removed" : "none";
    replaced = current->learned_routing;
  } else if (current->learned_routing && !report.diff.router_changed) {
    next->learned_routing = current->learned_routing;
    report.router = "kept";
  } else {
    // A new router is loaded completely before the swap; one that cannot
    // load rejects the reload (the running router keeps serving).
    auto learned = std::make_shared<LearnedRouting>(
        strategy, config->router_settings.routing_strategy_args, learned_options_);
    auto outcome = learned->load_initial();
    if (!outcome.ok) {
      report.errors.push_back("router_settings.routing_strategy_args.model_path: " + outcome.error);
      return fail("router_settings.routing_strategy_args.model_path: " + outcome.error);
    }
    for (const auto& missing : learned->unresolved_candidates(*next->registry)) {
      report.warnings.push_back("router candidate '" + missing +
                                "' has no deployment in model_list (add a label_mapping)");
    }
    next->learned_routing = learned;
    replaced = current->learned_routing;
    report.router = current->learned_routing ? "rebuilt" : "created";
  }

  if (stopped_) return fail("the gateway is shutting down");
  state_->publish(next);
  if (next->learned_routing && next->learned_routing != current->learned_routing) {
    next->learned_routing->start_watching();
  }
  if (replaced) retire(std::move(replaced));

  report.ok = true;
  {
    std::lock_guard lock(mutex_);
    ++reloads_ok_;
    applied_version_ = fetched.version;
    failed_version_.clear();
    pending_version_.clear();
    last_error_.clear();
    last_reload_at_ = iso8601_now();
    restart_required_ = report.diff.restart_required;
  }
  for (const auto& setting : report.diff.restart_required) {
    log_event(LogLevel::kWarning, "config setting changed but needs a restart to take effect",
              {{"setting", json_string(setting)}});
  }
  for (const auto& w : report.warnings) {
    log_event(LogLevel::kWarning, "config", {{"detail", json_string(w)}});
  }
  log_event(LogLevel::kInfo, "config reloaded",
            {{"source", json_string(options_.source.location())},
             {"trigger", json_string(trigger_name)},
             {"version", json_string(fetched.version)},
             {"changed", report.changed ? "true" : "false"},
             {"deployments", std::to_string(config->model_list.size())},
             {"deployments_added", std::to_string(report.diff.deployments_added.size())},
             {"deployments_removed", std::to_string(report.diff.deployments_removed.size())},
             {"router", json_string(report.router)}});
  return report;
}

void ConfigSync::retire(std::shared_ptr<LearnedRouting> old_router) {
  old_router->stop_watching();
  retired_.emplace_back(Clock::now(), std::move(old_router));
}

awaitable<ReloadReport> ConfigSync::reload_now() {
  co_return co_await asio::co_spawn(
      thread_, [this]() -> awaitable<ReloadReport> { co_return reload(Trigger::kApi); },
      asio::use_awaitable);
}

ReloadReport ConfigSync::reload_blocking() {
  std::promise<ReloadReport> done;
  auto future = done.get_future();
  asio::post(thread_, [this, &done] { done.set_value(reload(Trigger::kApi)); });
  return future.get();
}

std::string ConfigSync::status_json() const {
  json::object out;
  out["source"] = options_.source.name();
  out["location"] = options_.source.location();
  if (client_) {
    out["endpoint"] = client_->settings().endpoint_text;
    out["auth"] = client_->settings().auth;
  }
  out["hot_reload"] = options_.hot_reload;
  out["sync_enabled"] = options_.sync_enabled;
  out["sync_interval_seconds"] = options_.interval_seconds;
  std::lock_guard lock(mutex_);
  out["version"] = nullable(applied_version_);
  out["last_seen_version"] = nullable(seen_version_);
  out["pending_version"] = nullable(pending_version_);
  out["rejected_version"] = nullable(failed_version_);
  out["last_sync_at"] = nullable(last_sync_at_);
  out["last_successful_sync_at"] = nullable(last_success_sync_at_);
  out["last_error"] = nullable(last_error_);
  out["last_error_at"] = nullable(last_error_at_);
  out["consecutive_failures"] = consecutive_failures_;
  out["sync_errors"] = sync_errors_;
  out["reload_count"] = reloads_ok_;
  out["reloads"] = json::object{{"success", reloads_ok_}, {"failure", reloads_failed_}};
  out["last_reload_at"] = nullable(last_reload_at_);
  out["restart_required"] = to_array(restart_required_);
  return json::serialize(out);
}

std::string ConfigSync::render_prometheus() const {
  const std::string source = options_.source.name();  // a path or URL: escaped as a label
  std::lock_guard lock(mutex_);
  std::string out;
  append_prometheus_family(out, "config_reloads_total",
                           "Config reloads (POST /config/reload, hot reload), by result.",
                           "counter");
  append_prometheus_sample(out, "config_reloads_total", {{"source", source}, {"result", "success"}},
                           reloads_ok_);
  append_prometheus_sample(out, "config_reloads_total", {{"source", source}, {"result", "failure"}},
                           reloads_failed_);
  append_prometheus_family(out, "config_sync_errors_total", "Failed reads of the config source.",
                           "counter");
  append_prometheus_sample(out, "config_sync_errors_total", {{"source", source}}, sync_errors_);
  append_prometheus_family(out, "config_last_successful_sync_timestamp_seconds",
                           "When the config source was last read successfully (0: never since "
                           "start).",
                           "gauge");
  append_prometheus_sample(out, "config_last_successful_sync_timestamp_seconds",
                           {{"source", source}}, last_success_sync_unix_);
  return out;
}

}  // namespace switchyard
