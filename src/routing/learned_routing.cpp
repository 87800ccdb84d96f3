#include "routing/learned_routing.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "telemetry/log.h"
#include "telemetry/prometheus_text.h"

namespace switchyard {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// The artefact file model_path names: the file itself, or in a directory
// (the seed's layout, e.g. /app/models/knn_router) model.syr, router.syr or
// its only *.syr file.
Result<std::string> artefact_file(const std::string& model_path) {
  if (model_path.empty()) {
    return Error::make(ErrorKind::kInvalidRequest,
                       "router_settings.routing_strategy_args.model_path is not set");
  }
  const fs::path path(model_path);
  const std::string ext = path.extension().string();
  if (ext == ".pkl" || ext == ".pickle" || ext == ".pt" || ext == ".pth" || ext == ".joblib") {
    return Error::make(ErrorKind::kInvalidRequest,
                       model_path +
                           ": Python pickles and PyTorch files are never loaded (they can run "
                           "code); train a Switchyard artefact with `switchyard train`");
  }
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return model_path;
  for (const char* name : {"model.syr", "router.syr"}) {
    if (fs::is_regular_file(path / name, ec)) return (path / name).string();
  }
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (entry.path().extension() == ".syr") found.push_back(entry.path().string());
  }
  if (found.size() == 1) return found.front();
  return Error::make(ErrorKind::kInvalidRequest,
                     model_path + (found.empty() ? ": directory holds no .syr router artefact"
                                                 : ": directory holds several .syr artefacts; "
                                                   "name one in model_path"));
}

// llm_candidates.json (seed: {"name": {"model_id": ...}}) or LLMRouter's
// llm_data ({"name": {"model": ...}}): the upstream model id per candidate,
// so a candidate can match a deployment by what it calls upstream.
std::vector<std::pair<std::string, std::string>> read_candidate_model_ids(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  if (path.empty()) return out;
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  error_code ec;
  json::value doc = json::parse(text.str(), ec);
  if (!in || ec || !doc.is_object()) {
    log_event(LogLevel::kWarning, "llm_data_path unreadable; candidates match by name only",
              {{"path", json_string(path)}});
    return out;
  }
  for (const auto& [name, entry] : doc.as_object()) {
    if (!entry.is_object()) continue;
    for (const char* key : {"model_id", "model"}) {
      const json::value* id = entry.as_object().if_contains(key);
      if (id != nullptr && id->is_string()) {
        out.emplace_back(std::string(name), std::string(id->as_string()));
        break;
      }
    }
  }
  return out;
}

std::string join_text_parts(const json::array& parts) {
  std::string text;
  for (const auto& part : parts) {
    if (part.is_string()) {
      if (!text.empty()) text += '\n';
      text += part.as_string();
      continue;
    }
    if (!part.is_object()) continue;
    const json::value* type = part.as_object().if_contains("type");
    const json::value* value = part.as_object().if_contains("text");
    if (type && type->is_string() && type->as_string() == "text" && value && value->is_string()) {
      if (!text.empty()) text += '\n';
      text += value->as_string();
    }
  }
  return text;
}

// A reload must never take the gateway down, whatever the file holds.
Result<std::shared_ptr<const learned::RouterModel>> load_without_throwing(const std::string& file) {
  try {
    return learned::RouterModel::load_file(file);
  } catch (const std::exception& e) {
    return Error::make(ErrorKind::kInvalidRequest, file + ": " + e.what());
  }
}

}  // namespace

std::string routing_prompt(ApiRoute route, const json::object& body) {
  if (route == ApiRoute::kCompletions) {
    const json::value* prompt = body.if_contains("prompt");
    if (prompt == nullptr) return {};
    if (prompt->is_string()) return std::string(prompt->as_string());
    if (prompt->is_array()) return join_text_parts(prompt->as_array());
    return {};
  }
  if (route != ApiRoute::kChatCompletions) return {};
  const json::value* messages = body.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) return {};
  const auto& list = messages->as_array();
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    if (!it->is_object()) continue;
    const json::value* role = it->as_object().if_contains("role");
    if (role == nullptr || !role->is_string() || role->as_string() != "user") continue;
    const json::value* content = it->as_object().if_contains("content");
    if (content == nullptr) return {};
    if (content->is_string()) return std::string(content->as_string());
    if (content->is_array()) return join_text_parts(content->as_array());
    return {};
  }
  return {};
}

const std::string& RankedRoute::candidate_of(const DeploymentRuntime* deployment) const {
  static const std::string kNone;
  for (size_t t = 0; t < tiers.size(); ++t) {
    if (tier_candidate[t] == SIZE_MAX) continue;
    if (std::find(tiers[t].begin(), tiers[t].end(), deployment) != tiers[t].end()) {
      return router->model->candidates()[tier_candidate[t]];
    }
  }
  return kNone;
}

LearnedRouting::LearnedRouting(RoutingStrategy strategy, RoutingStrategyArgs args,
                               LearnedRoutingOptions options)
    : strategy_(strategy),
      args_(std::move(args)),
      options_(std::move(options)),
      candidate_model_ids_(read_candidate_model_ids(args_.llm_data_path)) {
  if (auto object = parse_object_uri(args_.model_path)) {
    remote_ = std::move(*object);
  } else if (!args_.model_s3_bucket.empty() && !args_.model_s3_key.empty()) {
    remote_ = ObjectRef{args_.model_s3_bucket, args_.model_s3_key, "s3"};
  }
}

std::string LearnedRouting::local_copy_path() const {
  if (!remote_) return {};
  // One flat, predictable name per object: no key segment can climb out of
  // the data dir, and the extension stays (pickles are still refused).
  std::string name = remote_->key;
  for (char& c : name) {
    if (c == '/' || c == '\\') c = '_';
  }
  while (!name.empty() && name.front() == '.') name.erase(name.begin());
  return (fs::path(options_.data_dir) / "models" / remote_->scheme / remote_->bucket / name)
      .string();
}

Result<std::string> LearnedRouting::download(bool force) {
  const std::string local = local_copy_path();
  if (!data_dir_ready_) {
    auto ready =
        prepare_data_dir(options_.data_dir, "router artefacts downloaded from object storage");
    if (!ready) return ready.error();
    data_dir_ready_ = true;
  }
  if (!s3_) {
    S3Settings settings;
    if (remote_->scheme == "gs") {
      settings = S3Settings::gcs_from_env(process_env());
    } else {
      settings = options_.s3 ? *options_.s3 : S3Settings::from_env(process_env());
    }
    s3_ = std::make_unique<S3Client>(std::move(settings));
  }
  std::string etag;
  {
    std::lock_guard lock(status_mutex_);
    etag = remote_etag_;
  }
  std::error_code ec;
  const bool have_copy = fs::is_regular_file(local, ec);
  auto got = s3_->get_to_file(*remote_, force || !have_copy ? std::string() : etag, local,
                              std::chrono::minutes(10));
  if (!got) {
    {
      std::lock_guard lock(status_mutex_);
      remote_error_ = got.error().message;
      ++remote_errors_;
    }
    // Serving a copy an earlier run downloaded beats serving no router.
    if (!active() && have_copy) {
      log_event(LogLevel::kWarning, "router object unreachable; loading the copy in the data dir",
                {{"object", json_string(remote_->uri())},
                 {"file", json_string(local)},
                 {"error", json_string(got.error().message)}});
      return local;
    }
    return got.error();
  }
  std::lock_guard lock(status_mutex_);
  remote_error_.clear();
  remote_synced_at_ = iso8601_now();
  if (!got->not_modified) remote_etag_ = got->etag;
  return local;
}

LearnedRouting::~LearnedRouting() {
  reload_thread_.stop();
  reload_thread_.join();
}

ReloadOutcome LearnedRouting::load_initial() { return load(true); }

ReloadOutcome LearnedRouting::load(bool force) {
  ReloadOutcome outcome;
  outcome.active = active();
  const std::string attempted_at = iso8601_now();
  auto fail = [&](const std::string& why) {
    std::lock_guard lock(status_mutex_);
    last_error_ = why;
    last_attempt_at_ = attempted_at;
    ++reloads_failed_;
    outcome.error = why;
    log_event(LogLevel::kError, "router load failed; keeping the previous router",
              {{"strategy", json_string(strategy_name())},
               {"error", json_string(why)},
               {"previous_version",
                json_string(outcome.active ? outcome.active->model->version() : "none")}});
    return outcome;
  };

  std::string model_path = args_.model_path;
  if (remote_) {
    auto local = download(force);
    if (!local) return fail(local.error().message);
    model_path = *local;
  }
  auto file = artefact_file(model_path);
  if (!file) return fail(file.error().message);
  std::error_code ec;
  const auto mtime = fs::last_write_time(*file, ec);
  const uintmax_t size = ec ? 0 : fs::file_size(*file, ec);
  if (ec) return fail(*file + ": " + ec.message());

  if (!force) {
    // The poll only reloads a file that changed since the last attempt, so a
    // broken file is reported once, not every interval.
    std::lock_guard lock(status_mutex_);
    const bool same_as_attempted = mtime == attempted_mtime_ && size == attempted_size_;
    if (same_as_attempted) {
      outcome.ok = last_error_.empty();
      outcome.error = last_error_;
      return outcome;
    }
  }
  {
    std::lock_guard lock(status_mutex_);
    attempted_mtime_ = mtime;
    attempted_size_ = size;
  }

  auto model = load_without_throwing(*file);
  if (!model) return fail(model.error().message);
  const std::string trained_as = "llmrouter-" + (*model)->strategy();
  if (trained_as != strategy_name()) {
    return fail(*file + " holds a '" + trained_as + "' router but routing_strategy is '" +
                strategy_name() + "'");
  }

  auto loaded = std::make_shared<LoadedRouter>();
  loaded->model = *model;
  loaded->file = *file;
  loaded->loaded_at = attempted_at;
  loaded->mtime = mtime;
  loaded->size = size;
  outcome.changed =
      !outcome.active || outcome.active->model->checksum() != loaded->model->checksum();
  active_.store(loaded, std::memory_order_release);
  outcome.active = loaded;
  outcome.ok = true;
  {
    std::lock_guard lock(status_mutex_);
    last_error_.clear();
    last_attempt_at_ = attempted_at;
    ++reloads_ok_;
  }
  log_event(LogLevel::kInfo, outcome.changed ? "router loaded" : "router reloaded (unchanged)",
            {{"strategy", json_string(strategy_name())},
             {"file", json_string(*file)},
             {"version", json_string(loaded->model->version())},
             {"checksum", json_string(loaded->model->checksum())},
             {"candidates", std::to_string(loaded->model->candidates().size())}});
  return outcome;
}

void LearnedRouting::start_watching() {
  if (!args_.hot_reload) return;
  asio::post(reload_thread_, [this] { schedule_poll(); });
}

void LearnedRouting::stop_watching() {
  stopped_ = true;
  asio::post(reload_thread_, [this] { poll_timer_.cancel(); });
}

void LearnedRouting::schedule_poll() {
  if (stopped_) return;
  const auto interval = std::chrono::milliseconds(
      std::max<int64_t>(50, static_cast<int64_t>(args_.reload_interval * 1000)));
  poll_timer_.expires_after(interval);
  poll_timer_.async_wait([this](const error_code& ec) {
    if (ec || stopped_) return;
    load(false);
    schedule_poll();
  });
}

awaitable<ReloadOutcome> LearnedRouting::reload_now() {
  co_return co_await asio::co_spawn(
      reload_thread_, [this]() -> awaitable<ReloadOutcome> { co_return load(true); },
      asio::use_awaitable);
}

bool LearnedRouting::is_alias(std::string_view model) const {
  return std::find(args_.router_aliases.begin(), args_.router_aliases.end(), model) !=
         args_.router_aliases.end();
}

// Every deployment a candidate names: the group called `target`, deployments
// whose id / upstream model id / "provider/model" is `target`, and those
// matching the candidate's model_id in llm_data_path. A router alias uses
// them all; a group request keeps the ones in that group.
std::vector<const DeploymentRuntime*> LearnedRouting::resolve(const std::string& candidate,
                                                              const ModelRegistry& registry) const {
  auto mapped = args_.label_mapping.find(candidate);
  const std::string& target = mapped == args_.label_mapping.end() ? candidate : mapped->second;
  std::vector<const DeploymentRuntime*> out;
  auto add = [&out](const std::vector<const DeploymentRuntime*>& found) {
    for (const auto* d : found) {
      if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
    }
  };
  if (const ModelGroup* group = registry.find(target)) add(group->deployments);
  if (const auto* named = registry.find_deployments(target)) add(*named);
  for (const auto& [name, model_id] : candidate_model_ids_) {
    if (name != candidate) continue;
    if (const auto* named = registry.find_deployments(model_id)) add(*named);
  }
  return out;
}

std::vector<const DeploymentRuntime*> LearnedRouting::alias_fallback_deployments(
    const ModelRegistry& registry) const {
  std::vector<const DeploymentRuntime*> out;
  auto add = [&out](const std::vector<const DeploymentRuntime*>& found) {
    for (const auto* d : found) {
      if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
    }
  };
  if (auto router = active()) {
    for (const auto& name : router->model->candidates()) add(resolve(name, registry));
  }
  for (const auto& [name, model_id] : candidate_model_ids_) add(resolve(name, registry));
  if (out.empty()) {
    for (const auto& name : registry.group_names()) add(registry.find(name)->deployments);
  }
  return out;
}

const std::vector<std::vector<const DeploymentRuntime*>>& LearnedRouting::resolved_candidates(
    const LoadedRouter& router, const ModelRegistry& registry) const {
  // Keyed by generations, not addresses: a reloaded router or a new config
  // may reuse a freed object's address.
  struct Cache {
    uint64_t routing = 0, router = 0, registry = 0;
    std::vector<std::vector<const DeploymentRuntime*>> resolved;
  };
  thread_local Cache cache;
  if (cache.routing != generation_ || cache.router != router.generation ||
      cache.registry != registry.generation()) {
    const auto& candidates = router.model->candidates();
    cache.resolved.resize(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) {
      cache.resolved[i] = resolve(candidates[i], registry);
    }
    cache.routing = generation_;
    cache.router = router.generation;
    cache.registry = registry.generation();
  }
  return cache.resolved;
}

bool LearnedRouting::rank(const LoadedRouter& router, const learned::RouteInput& input,
                          const ModelRegistry& registry, const ModelGroup* within,
                          RankedRoute& out) const {
  const std::string_view prompt = input.prompt;
  const learned::RouterModel& model = *router.model;
  // Resolve first: most requests to a group with no candidate deployments
  // must not pay for featurizing the prompt.
  const auto& all_resolved = resolved_candidates(router, registry);
  thread_local std::vector<std::vector<const DeploymentRuntime*>> in_group;
  thread_local std::vector<size_t> order;
  order.clear();
  if (within != nullptr) {
    in_group.resize(all_resolved.size());
    for (size_t i = 0; i < all_resolved.size(); ++i) {
      in_group[i].clear();
      for (const auto* d : all_resolved[i]) {
        if (std::find(within->deployments.begin(), within->deployments.end(), d) !=
            within->deployments.end()) {
          in_group[i].push_back(d);
        }
      }
    }
  }
  const auto& resolved = within != nullptr ? in_group : all_resolved;
  for (size_t i = 0; i < resolved.size(); ++i) {
    if (!resolved[i].empty()) order.push_back(i);
  }
  out.tiers.clear();
  out.tier_candidate.clear();
  out.tier_score.clear();
  if (order.size() < (within == nullptr ? 1u : 2u)) return false;

  const double cost_weight = args_.cost_weight.value_or(model.recommended_cost_weight());
  thread_local std::vector<double> scores;
  auto scored = model.score(input, cost_weight, scores);
  out.ranked_by_prior = !scored || !*scored;
  const auto& rates = model.cost_rates();
  // The index breaks remaining ties, as a stable sort would, without the
  // stable sort's buffer allocation.
  // Best score first, then the cheaper candidate, then the lower index (the
  // order a stable sort would keep, without its buffer allocation). NaN (it
  // should not happen) ranks last rather than break std::sort's ordering.
  auto finite_or = [](double v, double if_nan) { return std::isnan(v) ? if_nan : v; };
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double score_a = finite_or(scores[a], -kInf), score_b = finite_or(scores[b], -kInf);
    if (score_a != score_b) return score_a > score_b;
    const double cost_a = finite_or(rates[a].predict(prompt.size()), kInf);
    const double cost_b = finite_or(rates[b].predict(prompt.size()), kInf);
    if (cost_a != cost_b) return cost_a < cost_b;
    return a < b;
  });

  thread_local std::vector<const DeploymentRuntime*> placed;
  placed.clear();
  for (size_t i : order) {
    std::vector<const DeploymentRuntime*> tier;
    for (const auto* d : resolved[i]) {
      // Two candidates may name the same deployment; it belongs to the better one.
      if (std::find(placed.begin(), placed.end(), d) == placed.end()) {
        tier.push_back(d);
        placed.push_back(d);
      }
    }
    if (tier.empty()) continue;
    out.tiers.push_back(std::move(tier));
    out.tier_candidate.push_back(i);
    out.tier_score.push_back(scores[i]);
  }
  const size_t scored_tiers = out.tiers.size();
  if (within != nullptr) {
    // Deployments of the group no candidate names still serve, after every
    // scored one (e.g. when all of those are cooling down).
    std::vector<const DeploymentRuntime*> rest;
    for (const auto* d : within->deployments) {
      if (std::find(placed.begin(), placed.end(), d) == placed.end()) rest.push_back(d);
    }
    if (!rest.empty()) {
      out.tiers.push_back(std::move(rest));
      out.tier_candidate.push_back(SIZE_MAX);
      out.tier_score.push_back(0);
    }
  }
  return within == nullptr ? scored_tiers >= 1 : scored_tiers >= 2;
}

bool LearnedRouting::has_candidates(const LoadedRouter& router, const ModelRegistry& registry,
                                    const ModelGroup* within) const {
  size_t found = 0;
  for (const auto& deployments : resolved_candidates(router, registry)) {
    for (const auto* d : deployments) {
      if (within == nullptr || std::find(within->deployments.begin(), within->deployments.end(),
                                         d) != within->deployments.end()) {
        ++found;
        break;
      }
    }
  }
  return found >= (within == nullptr ? 1u : 2u);
}

std::vector<std::string> LearnedRouting::unresolved_candidates(
    const ModelRegistry& registry) const {
  std::vector<std::string> missing;
  if (auto router = active()) {
    for (const auto& name : router->model->candidates()) {
      if (resolve(name, registry).empty()) missing.push_back(name);
    }
  }
  return missing;
}

std::string LearnedRouting::info_json(const ModelRegistry& registry) const {
  json::object info;
  info["strategy"] = strategy_name();
  info["fallback_strategy"] = routing_strategy_name(args_.fallback_strategy);
  json::array aliases;
  for (const auto& a : args_.router_aliases) aliases.emplace_back(a);
  info["router_aliases"] = std::move(aliases);
  info["model_path"] = args_.model_path;
  info["hot_reload"] = args_.hot_reload;
  info["reload_interval"] = args_.reload_interval;
  if (remote_) {
    std::lock_guard lock(status_mutex_);
    info["object"] = remote_->uri();
    info["object_etag"] = remote_etag_;
    info["object_local_copy"] = local_copy_path();
    info["object_last_sync_at"] = remote_synced_at_;
    info["object_last_error"] =
        remote_error_.empty() ? json::value(nullptr) : json::value(remote_error_);
    info["object_sync_errors"] = remote_errors_;
  }
  auto router = active();
  info["loaded"] = router != nullptr;
  if (router) {
    const auto& model = *router->model;
    info["file"] = router->file;
    info["version"] = model.version();
    info["checksum"] = model.checksum();
    info["loaded_at"] = router->loaded_at;
    info["cost_weight"] = args_.cost_weight.value_or(model.recommended_cost_weight());
    info["featurizer_needs_embedding"] = model.needs_embedding();
    json::array candidates;
    for (const auto& name : model.candidates()) {
      json::array deployments;
      for (const auto* d : resolve(name, registry)) deployments.emplace_back(d->id());
      candidates.emplace_back(
          json::object{{"name", name}, {"deployments", std::move(deployments)}});
    }
    info["candidates"] = std::move(candidates);
    info["artefact"] = model.metadata();
  }
  std::lock_guard lock(status_mutex_);
  info["last_reload_error"] = last_error_.empty() ? json::value(nullptr) : json::value(last_error_);
  info["last_reload_attempt_at"] = last_attempt_at_;
  info["reloads"] = json::object{{"success", reloads_ok_}, {"failure", reloads_failed_}};
  return json::serialize(info);
}

std::string LearnedRouting::render_prometheus() const {
  const std::string_view strategy = strategy_name();
  std::string out;
  append_prometheus_family(out, "llmrouter_model_reloads_total",
                           "Router artefact loads (startup, file change, POST /router/reload), by "
                           "result.",
                           "counter");
  {
    std::lock_guard lock(status_mutex_);
    append_prometheus_sample(out, "llmrouter_model_reloads_total",
                             {{"strategy", strategy}, {"result", "success"}}, reloads_ok_);
    append_prometheus_sample(out, "llmrouter_model_reloads_total",
                             {{"strategy", strategy}, {"result", "failure"}}, reloads_failed_);
  }
  append_prometheus_family(out, "llmrouter_model_info",
                           "The router artefact being served (value 1).", "gauge");
  if (auto router = active()) {
    append_prometheus_sample(out, "llmrouter_model_info",
                             {{"strategy", strategy},
                              {"version", router->model->version()},
                              {"checksum", router->model->checksum()}},
                             uint64_t{1});
  }
  return out;
}

}  // namespace switchyard
