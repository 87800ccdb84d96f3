#pragma once
// Config lifecycle after startup: POST /config/reload, CONFIG_HOT_RELOAD
// (watch the local file or poll the object in S3/GCS), GET
// /config/sync/status and the config_* metrics.
//
// A reload reads the source, parses and validates the whole config, builds
// a complete new Snapshot (model registry; a learned router is rebuilt and
// its artefact loaded when routing_strategy(_args) changed, else the running
// one is kept), then publishes it with one atomic store. Requests in flight
// keep the snapshot they started with; deployment live state is keyed by
// deployment (DeploymentStates) and upstream connection pools by host, so
// both carry over. An invalid config or a router that cannot load is
// rejected and the old snapshot keeps serving. Settings read only at startup
// are reported as needing a restart (config/reload_diff.h).
//
// Threads: all fetching, parsing and building runs on this object's own
// thread (polls and POST /config/reload alike, so they never interleave);
// status_json() and render_prometheus() are called from workers and read
// under a mutex. Lives from main until the process exits; start() attaches
// it to the GatewayState, stop() ends the poll when draining begins.
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.h"
#include "config/reload_diff.h"
#include "core/asio.h"
#include "core/error.h"
#include "routing/learned_routing.h"
#include "upstream/s3_client.h"

namespace switchyard {

class GatewayState;

struct ConfigSource {
  enum class Kind { kFile, kS3, kGcs };
  Kind kind = Kind::kFile;
  std::string path;          // kFile
  ObjectRef object;          // kS3, kGcs
  const char* name() const;  // "file", "s3", "gcs" (the metrics label)
  std::string location() const;
  bool remote() const { return kind != Kind::kFile; }
};

// The object source named by the environment, if any: CONFIG_S3_BUCKET +
// CONFIG_S3_KEY, else CONFIG_GCS_BUCKET + CONFIG_GCS_KEY, else LiteLLM's
// LITELLM_CONFIG_BUCKET_NAME + LITELLM_CONFIG_BUCKET_OBJECT_KEY
// (+ LITELLM_CONFIG_BUCKET_TYPE s3|gcs). `error` is set when only half of a
// pair is set.
std::optional<ConfigSource> remote_config_source(const EnvLookup& env, std::string& error);

struct ConfigSyncOptions {
  ConfigSource source;
  bool hot_reload = false;       // CONFIG_HOT_RELOAD
  bool sync_enabled = true;      // CONFIG_SYNC_ENABLED
  double interval_seconds = 60;  // CONFIG_SYNC_INTERVAL
  // Parses the three variables; errors name the variable.
  static Result<ConfigSyncOptions> from_env(const EnvLookup& env, ConfigSource source);
};

struct FetchedConfig {
  bool unchanged = false;  // conditional fetch: same version as asked about
  std::string text;
  std::string version;  // S3/GCS ETag; for a file, "sha256:<first 16 hex>" of its bytes
};

// One blocking read of the source (startup uses it before serving).
// `if_version` makes an object fetch conditional.
Result<FetchedConfig> fetch_config(const ConfigSource& source, S3Client* client,
                                   const std::string& if_version);
// The S3Client settings for an object source (S3: the AWS environment;
// GCS: HMAC interoperability keys and its endpoint).
S3Settings object_store_settings(const ConfigSource& source, const EnvLookup& env);

struct ReloadReport {
  bool ok = false;
  ErrorKind error_kind = ErrorKind::kInvalidRequest;  // 400 invalid, 503 source unreachable
  std::string error;                                  // one line, key paths included
  std::vector<std::string> errors;                    // every problem, "<key path>: <what>"
  std::string version;
  bool changed = false;  // the source's version differs from the one served before
  ReloadDiff diff;
  std::string router;  // "none", "kept", "rebuilt", "removed"
  std::vector<std::string> warnings;
};

class ConfigSync {
 public:
  // `served_version` / `startup_error` describe what main loaded: the version
  // of the source now being served (empty when main fell back to a local
  // file because the object store failed, and then `startup_error` says why).
  ConfigSync(ConfigSyncOptions options, EnvLookup env, LearnedRoutingOptions learned_options,
             std::string served_version, std::string startup_error);
  ~ConfigSync();
  ConfigSync(const ConfigSync&) = delete;
  ConfigSync& operator=(const ConfigSync&) = delete;

  void start(GatewayState& state);
  // Ends the poll and waits for a fetch or reload in progress to finish;
  // after it returns, nothing is published any more.
  void stop();

  // POST /config/reload: an unconditional read of the source and a full
  // reload, on the sync thread; resumes the caller on its own executor.
  awaitable<ReloadReport> reload_now();
  // The same, blocking the calling thread (tests, tools).
  ReloadReport reload_blocking();

  std::string status_json() const;
  std::string render_prometheus() const;
  const ConfigSyncOptions& options() const { return options_; }

 private:
  enum class Trigger { kApi, kWatch };
  ReloadReport reload(Trigger trigger);
  ReloadReport apply(const FetchedConfig& fetched, Trigger trigger);
  void poll();
  void schedule(std::chrono::milliseconds delay);
  void record_fetch_failure(const std::string& error);
  void retire(std::shared_ptr<LearnedRouting> old_router);

  ConfigSyncOptions options_;
  EnvLookup env_;
  LearnedRoutingOptions learned_options_;
  GatewayState* state_ = nullptr;
  // What the process started with: restart_required compares against it
  // (a second reload must not hide a port change the first one reported).
  std::shared_ptr<const Config> startup_config_;
  std::unique_ptr<S3Client> client_;  // sync thread only
  asio::thread_pool thread_{1};
  asio::steady_timer timer_{thread_};
  std::atomic<bool> stopped_{false};
  // Routers replaced by a reload, destroyed on this thread once no snapshot
  // uses them any more and a grace period has passed.
  std::vector<std::pair<Clock::time_point, std::shared_ptr<LearnedRouting>>> retired_;

  mutable std::mutex mutex_;  // guards the status fields below
  std::string applied_version_;
  std::string seen_version_;     // last version read from the source
  std::string failed_version_;   // last version rejected (not retried until it changes)
  std::string pending_version_;  // changed in the source, hot reload off
  std::string last_sync_at_;
  std::string last_success_sync_at_;
  double last_success_sync_unix_ = 0;
  std::string last_error_;
  std::string last_error_at_;
  std::string last_reload_at_;
  std::vector<std::string> restart_required_;
  uint64_t consecutive_failures_ = 0;
  uint64_t sync_errors_ = 0;
  uint64_t reloads_ok_ = 0;
  uint64_t reloads_failed_ = 0;
};

}  // namespace switchyard
