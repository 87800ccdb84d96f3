#pragma once
// Serves a trained learned router (src/learned) in the gateway.
//
// - Loads the artefact named by routing_strategy_args.model_path at start,
//   and again when the file changes (mtime/size poll every reload_interval
//   when hot_reload is on) or on POST /router/reload. Every load runs on this
//   object's own thread, never on a request worker.
// - model_path "s3://bucket/key" (or model_s3_bucket + model_s3_key), or
//   "gs://bucket/key" (GCS, credentials as for the config object), is
//   downloaded into <data_dir>/models/ first: the poll asks the store with
//   If-None-Match (a changed ETag downloads and loads the new object),
//   POST /router/reload downloads unconditionally. A failed download keeps
//   the router being served; at startup, a copy left in the data dir by an
//   earlier run is served while the store is unreachable.
// - Lifetime: owned by the config Snapshots that use it (shared_ptr); a
//   config reload that changes routing_strategy(_args) builds a new one and
//   calls stop_watching() on this one.
// - A loaded router is immutable and published through an atomic shared_ptr:
//   a request keeps the one it started with; a failed load keeps the old one.
// - rank() turns one request into tiers of deployments, best-scored candidate
//   first. The selector walks the tiers, so a candidate that is cooling down
//   or unhealthy is skipped for the next best.
//
// Which requests are routed (docs/routing.md): a request whose `model` is a
// router alias ("auto" by default) ranks every candidate; a request for a
// model group ranks the candidates among that group's deployments.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/inbound.h"
#include "config/config.h"
#include "core/asio.h"
#include "core/generation.h"
#include "learned/router.h"
#include "routing/model_registry.h"
#include "upstream/s3_client.h"

namespace switchyard {

struct LoadedRouter {
  std::shared_ptr<const learned::RouterModel> model;
  std::string file;       // the artefact actually read
  std::string loaded_at;  // RFC 3339, UTC
  std::filesystem::file_time_type mtime{};
  uintmax_t size = 0;
  uint64_t generation = next_generation();  // unique per load
};

struct ReloadOutcome {
  bool ok = false;
  bool changed = false;  // a different artefact is active now
  std::string error;     // why the load failed (the previous router stays)
  std::shared_ptr<const LoadedRouter> active;
};

// One request's ranked candidates, resolved to deployments.
struct RankedRoute {
  std::shared_ptr<const LoadedRouter> router;  // keeps the model alive for the request
  std::vector<std::vector<const DeploymentRuntime*>> tiers;  // best candidate first
  std::vector<size_t> tier_candidate;                        // candidates() index of each tier
  std::vector<double> tier_score;
  // True when the router could not use its features (an embedding router
  // without a usable embedding) and ranked by training prior and cost.
  bool ranked_by_prior = false;

  // The candidate whose tier holds `deployment`; empty when none does.
  const std::string& candidate_of(const DeploymentRuntime* deployment) const;
};

struct LearnedRoutingOptions {
  // Where router artefacts from object storage are written (models/ below it).
  std::string data_dir = kDefaultDataDir;
  // S3 access for s3:// model paths; null: S3Settings::from_env(process_env()).
  std::shared_ptr<const S3Settings> s3;
};

class LearnedRouting {
 public:
  LearnedRouting(RoutingStrategy strategy, RoutingStrategyArgs args,
                 LearnedRoutingOptions options = {});
  ~LearnedRouting();
  LearnedRouting(const LearnedRouting&) = delete;
  LearnedRouting& operator=(const LearnedRouting&) = delete;

  // The first load, synchronous (at startup, before serving).
  ReloadOutcome load_initial();
  // Starts the mtime (or S3 ETag) poll when hot_reload is on.
  void start_watching();
  // Stops the poll for good (this router was replaced by a config reload).
  void stop_watching();
  // The object model_path names in S3, when it names one.
  const std::optional<ObjectRef>& remote() const { return remote_; }
  // Where a remote artefact is downloaded to.
  std::string local_copy_path() const;
  const RoutingStrategyArgs& args() const { return args_; }
  // Loads model_path now on the reload thread (even when unchanged) and
  // resumes the caller on its own executor.
  awaitable<ReloadOutcome> reload_now();

  std::shared_ptr<const LoadedRouter> active() const {
    return active_.load(std::memory_order_acquire);
  }
  RoutingStrategy strategy() const { return strategy_; }
  const char* strategy_name() const { return routing_strategy_name(strategy_); }
  RoutingStrategy fallback_strategy() const { return args_.fallback_strategy; }
  bool is_alias(std::string_view model) const;
  // routing_strategy_args.embedding_model: the group embedding routers ask.
  const std::string& embedding_model() const { return args_.embedding_model; }
  const std::vector<std::string>& aliases() const { return args_.router_aliases; }
  // Names a router alias routes across when no router is loaded: the
  // candidates of llm_data_path, else every model group.
  std::vector<const DeploymentRuntime*> alias_fallback_deployments(
      const ModelRegistry& registry) const;

  // Ranks candidates for `prompt`; `within` restricts to one model group
  // (nullptr: every candidate, for an alias). Returns false when fewer than
  // two candidates resolve to deployments (nothing to choose between).
  bool rank(const LoadedRouter& router, const learned::RouteInput& input,
            const ModelRegistry& registry, const ModelGroup* within, RankedRoute& out) const;
  // Whether rank() would have anything to rank (without scoring): lets an
  // embedding router skip the embedding call for groups it does not route.
  bool has_candidates(const LoadedRouter& router, const ModelRegistry& registry,
                      const ModelGroup* within) const;
  // Candidates of the active router with no deployment in `registry`.
  std::vector<std::string> unresolved_candidates(const ModelRegistry& registry) const;

  std::string info_json(const ModelRegistry& registry) const;
  // llmrouter_model_reloads_total and llmrouter_model_info.
  std::string render_prometheus() const;

 private:
  ReloadOutcome load(bool force);
  // Downloads the remote artefact (conditional unless forced) and returns
  // the local file to load.
  Result<std::string> download(bool force);
  void schedule_poll();
  std::vector<const DeploymentRuntime*> resolve(const std::string& candidate,
                                                const ModelRegistry& registry) const;

  // resolve() for every candidate of `router` in `registry`, cached per
  // worker thread until either changes (~0.4k instructions per candidate per
  // request otherwise).
  const std::vector<std::vector<const DeploymentRuntime*>>& resolved_candidates(
      const LoadedRouter& router, const ModelRegistry& registry) const;

  const uint64_t generation_ = next_generation();  // keys the per-thread cache
  RoutingStrategy strategy_;
  RoutingStrategyArgs args_;
  LearnedRoutingOptions options_;
  std::optional<ObjectRef> remote_;
  std::unique_ptr<S3Client> s3_;  // reload thread only
  bool data_dir_ready_ = false;   // reload thread only: prepare_data_dir() passed
  std::atomic<bool> stopped_{false};
  std::vector<std::pair<std::string, std::string>> candidate_model_ids_;  // from llm_data_path
  std::atomic<std::shared_ptr<const LoadedRouter>> active_;
  asio::thread_pool reload_thread_{1};
  asio::steady_timer poll_timer_{reload_thread_};

  mutable std::mutex status_mutex_;  // guards the fields below
  std::string last_error_;
  std::string last_attempt_at_;
  std::filesystem::file_time_type attempted_mtime_{};
  uintmax_t attempted_size_ = 0;
  uint64_t reloads_ok_ = 0;
  uint64_t reloads_failed_ = 0;
  std::string remote_etag_;       // of the object last downloaded
  std::string remote_synced_at_;  // last successful GET (200 or 304)
  std::string remote_error_;      // last failed GET, cleared by a success
  uint64_t remote_errors_ = 0;
};

// The text a learned router scores: the last user message of a chat request
// (text parts joined), or the prompt of a completion. Empty when none.
std::string routing_prompt(ApiRoute route, const boost::json::object& body);

}  // namespace switchyard
