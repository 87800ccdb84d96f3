#pragma once
// Serves a trained learned router (src/learned) in the gateway.
//
// - Loads the artefact named by routing_strategy_args.model_path at start,
//   and again when the file changes (mtime/size poll every reload_interval
//   when hot_reload is on) or on POST /router/reload. Every load runs on this
//   object's own thread, never on a request worker.
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
#include "learned/router.h"
#include "routing/model_registry.h"

namespace switchyard {

struct LoadedRouter {
  std::shared_ptr<const learned::RouterModel> model;
  std::string file;       // the artefact actually read
  std::string loaded_at;  // RFC 3339, UTC
  std::filesystem::file_time_type mtime{};
  uintmax_t size = 0;
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

class LearnedRouting {
 public:
  LearnedRouting(RoutingStrategy strategy, RoutingStrategyArgs args);
  ~LearnedRouting();
  LearnedRouting(const LearnedRouting&) = delete;
  LearnedRouting& operator=(const LearnedRouting&) = delete;

  // The first load, synchronous (at startup, before serving).
  ReloadOutcome load_initial();
  // Starts the mtime poll when hot_reload is on.
  void start_watching();
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
  void schedule_poll();
  std::vector<const DeploymentRuntime*> resolve(const std::string& candidate,
                                                const ModelRegistry& registry) const;

  RoutingStrategy strategy_;
  RoutingStrategyArgs args_;
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
};

// The text a learned router scores: the last user message of a chat request
// (text parts joined), or the prompt of a completion. Empty when none.
std::string routing_prompt(ApiRoute route, const boost::json::object& body);

}  // namespace switchyard
