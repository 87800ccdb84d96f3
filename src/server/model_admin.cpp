#include "server/model_admin.h"

#include "core/format.h"
#include "server/admin.h"
#include "server/db_models.h"
#include "server/proxy.h"
#include "store/records.h"

namespace switchyard {
namespace json = boost::json;
namespace {

constexpr std::string_view kJsonContentType = "application/json";

Error disabled_error() {
  return Error::make(ErrorKind::kInvalidRequest,
                     "Models cannot be added or deleted at runtime: set "
                     "general_settings.store_model_in_db: true (or STORE_MODEL_IN_DB=True) and "
                     "give the gateway a database.",
                     "store_model_in_db_disabled");
}

Error db_error(const Error& e) {
  // Driver text can name hosts and users: never sent to clients.
  return store::is_unavailable(e)
             ? Error::make(ErrorKind::kUnavailable, "The database is unreachable.",
                           "db_unavailable")
             : Error::make(ErrorKind::kInternal, "Database error.", "db_error");
}

Result<json::object> body_object(const std::string& body) {
  json::error_code ec;
  auto parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) {
    return Error::make(ErrorKind::kInvalidRequest, "Request body must be a JSON object",
                       "invalid_json");
  }
  return std::move(parsed.as_object());
}

const Deployment* find_by_id(const Config& config, std::string_view id) {
  for (const auto& d : config.model_list) {
    if (d.info.id == id) return &d;
  }
  return nullptr;
}

// What POST /model/new stores, or why not.
struct NewModel {
  store::ModelRow row;
  Deployment deployment;
};

Result<NewModel> prepare_new_model(const std::string& body, const Snapshot& snapshot,
                                   const DbModelSync& sync) {
  auto entry = body_object(body);
  if (!entry) return entry.error();
  // The id: model_info.id when given, else a new one.
  std::string id;
  if (auto* info = entry->if_contains("model_info"); info && info->is_object()) {
    if (auto* given = info->as_object().if_contains("id"); given && given->is_string()) {
      id = std::string(given->as_string());
    }
  }
  if (id.empty()) {
    id = random_uuid();
    if (!entry->contains("model_info") || !(*entry)["model_info"].is_object()) {
      (*entry)["model_info"] = json::object();
    }
    (*entry)["model_info"].as_object()["id"] = id;
  }
  ConfigDiagnostics diagnostics;
  auto deployment = parse_deployment(json::serialize(*entry), "body", process_env(), diagnostics);
  if (!deployment) {
    const std::string& first = diagnostics.errors.front();
    const auto colon = first.find(": ");
    return Error::make(ErrorKind::kInvalidRequest, "Invalid model: " + first, "invalid_model",
                       colon == std::string::npos
                           ? std::nullopt
                           : std::optional<std::string>(first.substr(0, colon)));
  }
  if (find_by_id(*snapshot.config, id) != nullptr) {
    return Error::make(ErrorKind::kInvalidRequest,
                       "A deployment with id '" + id + "' already exists.", "model_id_exists",
                       "model_info.id");
  }
  auto definition = sync.encode(std::move(*entry));
  if (!definition) return definition.error();
  NewModel out;
  out.row.model_id = id;
  out.row.model_name = deployment->model_name;
  out.row.definition = std::move(*definition);
  out.row.created_at_ms = store::unix_now_ms();
  out.deployment = std::move(*deployment);
  out.deployment.info.id = id;
  out.deployment.from_db = true;
  return out;
}

std::function<Result<bool>(store::StoreDb&)> insert_job(store::ModelRow row) {
  return [row = std::move(row)](store::StoreDb& db) { return db.insert_model(row); };
}

std::function<Result<bool>(store::StoreDb&)> delete_job(std::string id) {
  return [id = std::move(id)](store::StoreDb& db) { return db.delete_model(id); };
}

std::string created_body(const Deployment& d) {
  json::object out = public_deployment(d);
  out["model_id"] = d.info.id;
  return json::serialize(out);
}

std::string deleted_body(const std::string& id) {
  json::object out;
  out["message"] = "Model: " + id + " deleted successfully";
  return json::serialize(out);
}

Result<std::string> delete_target(const std::string& body, const Snapshot& snapshot) {
  auto entry = body_object(body);
  if (!entry) return entry.error();
  auto* id = entry->if_contains("id");
  if (id == nullptr || !id->is_string() || id->as_string().empty()) {
    return Error::make(ErrorKind::kInvalidRequest, "Missing 'id' (the model id to delete).",
                       "invalid_request", "id");
  }
  std::string target(id->as_string());
  if (const Deployment* d = find_by_id(*snapshot.config, target); d && !d->from_db) {
    return Error::make(
        ErrorKind::kInvalidRequest,
        "Deployment '" + target + "' is defined in the config file; change the file to remove it.",
        "model_in_config_file", "id");
  }
  return target;
}

std::string info_body(const Snapshot& snapshot, std::string_view target,
                      const store::KeyRecord* key) {
  const auto query = query_params(target);
  const auto it = query.find("litellm_model_id");
  const std::string only = it == query.end() ? std::string() : it->second;
  json::array data;
  for (const auto& d : snapshot.config->model_list) {
    if (!only.empty() && d.info.id != only) continue;
    if (key != nullptr && !key->allows_model(d.model_name)) continue;
    data.push_back(public_deployment(d));
  }
  json::object out;
  out["data"] = std::move(data);
  return json::serialize(out);
}

}  // namespace

json::object public_deployment(const Deployment& d) {
  const LitellmParams& p = d.params;
  json::object params;
  params["model"] = p.model;
  if (!p.api_base.empty()) params["api_base"] = p.api_base;
  if (!p.api_version.empty()) params["api_version"] = p.api_version;
  if (!p.aws_region_name.empty()) params["aws_region_name"] = p.aws_region_name;
  if (p.rpm) params["rpm"] = *p.rpm;
  if (p.tpm) params["tpm"] = *p.tpm;
  if (p.weight) params["weight"] = *p.weight;
  if (p.timeout) params["timeout"] = *p.timeout;
  if (p.stream_timeout) params["stream_timeout"] = *p.stream_timeout;
  if (p.max_tokens) params["max_tokens"] = *p.max_tokens;
  if (p.input_cost_per_token) params["input_cost_per_token"] = *p.input_cost_per_token;
  if (p.output_cost_per_token) params["output_cost_per_token"] = *p.output_cost_per_token;
  json::object info = d.info.metadata;
  info["id"] = d.info.id;
  info["db_model"] = d.from_db;
  if (!d.info.mode.empty()) info["mode"] = d.info.mode;
  json::object out;
  out["model_name"] = d.model_name;
  out["litellm_params"] = std::move(params);
  out["model_info"] = std::move(info);
  return out;
}

awaitable<void> handle_model_new(Worker& worker, const Snapshot& snapshot, const std::string& body,
                                 ClientConnection& client, RequestContext& ctx, bool keep_alive) {
  DbModelSync* sync = worker.state.db_models();
  store::StoreService* store = worker.state.store();
  if (sync == nullptr || store == nullptr) {
    co_await send_error(client, ctx, disabled_error(), keep_alive);
    co_return;
  }
  auto prepared = prepare_new_model(body, snapshot, *sync);
  if (!prepared) {
    co_await send_error(client, ctx, prepared.error(), keep_alive);
    co_return;
  }
  auto inserted = co_await store->run(insert_job(prepared->row));
  if (!*inserted) {
    co_await send_error(client, ctx, db_error(inserted->error()), keep_alive);
    co_return;
  }
  if (!**inserted) {  // taken meanwhile, e.g. on another replica
    co_await send_error(
        client, ctx,
        Error::make(ErrorKind::kInvalidRequest,
                    "A deployment with id '" + prepared->row.model_id + "' already exists.",
                    "model_id_exists", std::string("model_info.id")),
        keep_alive);
    co_return;
  }
  co_await sync->refresh_now();  // serve it here before answering
  ctx.status = 200;
  co_await client.send(200, kJsonContentType, created_body(prepared->deployment),
                       ctx.response_headers(), keep_alive);
}

awaitable<void> handle_model_delete(Worker& worker, const Snapshot& snapshot,
                                    const std::string& body, ClientConnection& client,
                                    RequestContext& ctx, bool keep_alive) {
  DbModelSync* sync = worker.state.db_models();
  store::StoreService* store = worker.state.store();
  if (sync == nullptr || store == nullptr) {
    co_await send_error(client, ctx, disabled_error(), keep_alive);
    co_return;
  }
  auto target = delete_target(body, snapshot);
  if (!target) {
    co_await send_error(client, ctx, target.error(), keep_alive);
    co_return;
  }
  auto deleted = co_await store->run(delete_job(*target));
  if (!*deleted) {
    co_await send_error(client, ctx, db_error(deleted->error()), keep_alive);
    co_return;
  }
  if (!**deleted) {
    co_await send_error(
        client, ctx,
        Error::make(ErrorKind::kNotFound, "No database model with id '" + *target + "'.",
                    "model_not_found", std::string("id")),
        keep_alive);
    co_return;
  }
  co_await sync->refresh_now();
  ctx.status = 200;
  co_await client.send(200, kJsonContentType, deleted_body(*target), ctx.response_headers(),
                       keep_alive);
}

awaitable<void> handle_model_info(const Snapshot& snapshot, std::string_view target,
                                  ClientConnection& client, RequestContext& ctx, bool keep_alive) {
  ctx.status = 200;
  co_await client.send(200, kJsonContentType, info_body(snapshot, target, ctx.key.get()),
                       ctx.response_headers(), keep_alive);
}

}  // namespace switchyard
