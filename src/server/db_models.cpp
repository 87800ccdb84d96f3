#include "server/db_models.h"

#include <future>
#include <set>

#include "server/gateway_state.h"
#include "telemetry/log.h"
#include "telemetry/prometheus_text.h"

namespace switchyard {
namespace json = boost::json;
namespace {

constexpr std::string_view kEnvReference = "os.environ/";

// Rows are compared by id, update time and content: any change republishes.
std::string rows_signature(const std::vector<store::ModelRow>& rows) {
  std::string signature;
  for (const auto& row : rows) {
    signature += row.model_id;
    signature += '\n';
    signature += std::to_string(row.updated_at_ms);
    signature += '\n';
    signature += row.definition;
    signature += '\0';
  }
  return signature;
}

}  // namespace

bool is_credential_param(std::string_view key) {
  return key == "api_key" || key == "aws_access_key_id" || key == "aws_secret_access_key" ||
         key == "aws_session_token";
}

std::shared_ptr<const Config> merge_db_deployments(const Config& base,
                                                   const std::vector<Deployment>& db,
                                                   std::vector<std::string>& warnings) {
  auto merged = std::make_shared<Config>(base);
  std::erase_if(merged->model_list, [](const Deployment& d) { return d.from_db; });
  std::set<std::string> ids;
  for (const auto& d : merged->model_list) ids.insert(d.info.id);
  for (const auto& d : db) {
    if (!ids.insert(d.info.id).second) {
      warnings.push_back("database model '" + d.info.id +
                         "' skipped: the config file already has a deployment with that id");
      continue;
    }
    merged->model_list.push_back(d);
  }
  return merged;
}

DbModelSync::DbModelSync(std::shared_ptr<store::StoreService> store, EnvLookup env,
                         std::optional<Secret> key_material, std::chrono::milliseconds interval)
    : store_(std::move(store)), env_(std::move(env)), interval_(interval) {
  if (key_material && !key_material->empty()) box_.emplace(*key_material);
}

DbModelSync::~DbModelSync() {
  stop();
  thread_.join();
}

void DbModelSync::start(GatewayState& state) {
  state_ = &state;
  refresh();
  asio::post(thread_, [this] { schedule(); });
}

void DbModelSync::stop() {
  if (stopped_.exchange(true)) return;
  std::promise<void> idle;
  auto done = idle.get_future();
  asio::post(thread_, [this, &idle] {
    timer_.cancel();
    idle.set_value();
  });
  done.wait();  // a refresh in progress has finished; none will publish again
}

void DbModelSync::schedule() {
  if (stopped_) return;
  timer_.expires_after(interval_);
  timer_.async_wait([this](const error_code& ec) {
    if (ec || stopped_) return;
    refresh();
    schedule();
  });
}

awaitable<bool> DbModelSync::refresh_now() {
  co_return co_await asio::co_spawn(
      thread_, [this]() -> awaitable<bool> { co_return refresh(); }, asio::use_awaitable);
}

Result<std::string> DbModelSync::encode(json::object entry) const {
  if (auto* params = entry.if_contains("litellm_params"); params && params->is_object()) {
    for (auto& [key, value] : params->as_object()) {
      if (!is_credential_param(key) || !value.is_string()) continue;
      const std::string_view text = value.as_string();
      if (text.empty() || text.starts_with(kEnvReference)) continue;  // names a variable
      if (!box_) {
        return Error::make(ErrorKind::kInvalidRequest,
                           "Cannot store credentials: set LITELLM_SALT_KEY (or a master key) to "
                           "encrypt them, or pass them as os.environ/VARIABLE references.",
                           "no_encryption_key", "litellm_params." + std::string(key));
      }
      value = box_->seal(text);
    }
  }
  return json::serialize(entry);
}

std::vector<Deployment> DbModelSync::decode_rows(const std::vector<store::ModelRow>& rows) {
  std::vector<Deployment> out;
  std::vector<std::string> errors;
  for (const auto& row : rows) {
    const std::string where = "database model '" + row.model_id + "'";
    json::error_code ec;
    auto entry = json::parse(row.definition, ec);
    if (ec || !entry.is_object()) {
      errors.push_back(where + ": stored definition is not a JSON object");
      continue;
    }
    bool readable = true;
    if (auto* params = entry.as_object().if_contains("litellm_params");
        params && params->is_object()) {
      for (auto& [key, value] : params->as_object()) {
        if (!is_credential_param(key) || !value.is_string()) continue;
        if (!store::SecretBox::is_sealed(value.as_string())) continue;
        auto opened = box_ ? box_->open(value.as_string()) : std::nullopt;
        if (!opened) {
          errors.push_back(where + ": litellm_params." + std::string(key) +
                           " cannot be decrypted (LITELLM_SALT_KEY or the master key changed?)");
          readable = false;
          break;
        }
        value = *opened;
      }
    }
    if (!readable) continue;
    ConfigDiagnostics diagnostics;
    auto deployment = parse_deployment(json::serialize(entry), where, env_, diagnostics);
    if (!deployment) {
      errors.push_back(diagnostics.errors.empty() ? where + ": invalid" : diagnostics.errors[0]);
      continue;
    }
    deployment->info.id = row.model_id;
    deployment->info.id_generated = false;
    deployment->from_db = true;
    out.push_back(std::move(*deployment));
  }
  for (const auto& e : errors)
    log_event(LogLevel::kError, "database model skipped", {{"detail", json_string(e)}});
  std::lock_guard lock(mutex_);
  skipped_rows_ = errors.size();
  return out;
}

bool DbModelSync::refresh() {
  if (state_ == nullptr) return false;
  auto rows = store_->run_sync([](store::StoreDb& db) { return db.list_models(); });
  if (!rows) {
    std::lock_guard lock(mutex_);
    ++read_failures_;
    return false;
  }
  std::string signature = rows_signature(*rows);
  {
    std::lock_guard lock(mutex_);
    if (signature == signature_) return true;
  }
  auto deployments = decode_rows(*rows);

  // Serialised with config reloads: each rebuilds from the current snapshot.
  std::lock_guard rebuild(state_->rebuild_mutex());
  if (stopped_) return false;
  state_->set_db_deployments(std::make_shared<const std::vector<Deployment>>(deployments));
  const auto current = state_->snapshot();
  std::vector<std::string> warnings;
  auto config = merge_db_deployments(*current->config, deployments, warnings);
  auto next = make_snapshot(config, env_, state_->deployment_states(), warnings);
  next->learned_routing = current->learned_routing;
  state_->publish(next);
  for (const auto& w : warnings)
    log_event(LogLevel::kWarning, "config", {{"detail", json_string(w)}});
  log_event(LogLevel::kInfo, "database models applied",
            {{"deployments", std::to_string(deployments.size())}});
  std::lock_guard lock(mutex_);
  signature_ = std::move(signature);
  deployments_ = std::move(deployments);
  ++changes_applied_;
  return true;
}

std::string DbModelSync::render_prometheus() const {
  std::lock_guard lock(mutex_);
  std::string out;
  append_prometheus_counter(out, "switchyard_db_model_read_failures_total",
                            "Reads of the database model table that failed", read_failures_);
  append_prometheus_counter(out, "switchyard_db_model_changes_total",
                            "Changes of the database model table applied", changes_applied_);
  append_prometheus_family(out, "switchyard_db_models", "Deployments served from the database",
                           "gauge");
  append_prometheus_sample(out, "switchyard_db_models", {},
                           static_cast<uint64_t>(deployments_.size()));
  append_prometheus_family(out, "switchyard_db_model_skipped_rows",
                           "Rows of the database model table that cannot be read (logged)",
                           "gauge");
  append_prometheus_sample(out, "switchyard_db_model_skipped_rows", {},
                           static_cast<uint64_t>(skipped_rows_));
  return out;
}

}  // namespace switchyard
