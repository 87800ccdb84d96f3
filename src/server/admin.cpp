#include "server/admin.h"

#include <openssl/rand.h>

#include <boost/url/parse.hpp>
#include <map>

#include "server/proxy.h"

namespace switchyard {
namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;

constexpr std::string_view kJson = "application/json";

AdminAnswer error_answer(const Error& e) { return {http_status(e), error_body(e)}; }
AdminAnswer bad_request(const std::string& message, const char* param = nullptr) {
  return error_answer(Error::make(ErrorKind::kInvalidRequest, message, "invalid_request",
                                  param ? std::optional<std::string>(param) : std::nullopt));
}
AdminAnswer not_found(const std::string& message) {
  return error_answer(Error::make(ErrorKind::kNotFound, message, "not_found"));
}
AdminAnswer db_failure(const Error& e) {
  // Never echo driver text to clients: it can name hosts and users.
  return error_answer(
      store::is_unavailable(e)
          ? Error::make(ErrorKind::kUnavailable, "The database is unreachable.", "db_unavailable")
          : Error::make(ErrorKind::kInternal, "Database error.", "db_error"));
}
AdminAnswer ok(const value& v) { return {200, boost::json::serialize(v)}; }

std::string new_key() {
  unsigned char raw[16];
  RAND_bytes(raw, sizeof raw);
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // 128 random bits as 22 URL-safe characters, like LiteLLM's sk- keys.
  std::string out = "sk-";
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : raw) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      out.push_back(kAlphabet[(acc >> (bits - 6)) & 63]);
      bits -= 6;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

bool is_token(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A key as clients pass it: the key itself, or its token (the hash).
std::string token_of(std::string_view key_or_token) {
  return is_token(key_or_token) ? std::string(key_or_token) : store::sha256_hex(key_or_token);
}

std::optional<std::string> param(const std::map<std::string, std::string>& q, const char* name) {
  auto it = q.find(name);
  if (it == q.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

// Applies the LiteLLM key fields present in `body` to `key`; an error
// message names the first bad field.
std::optional<std::string> apply_fields(const object& body, store::KeyRecord& key, bool creating) {
  auto opt_string = [&](const char* name,
                        std::optional<std::string>& out) -> std::optional<std::string> {
    if (const auto* v = body.if_contains(name)) {
      if (v->is_null()) {
        out.reset();
      } else if (v->is_string()) {
        out = std::string(v->as_string());
      } else {
        return std::string(name) + " must be a string or null";
      }
    }
    return std::nullopt;
  };
  auto opt_int = [&](const char* name, std::optional<int64_t>& out) -> std::optional<std::string> {
    if (const auto* v = body.if_contains(name)) {
      if (v->is_null()) {
        out.reset();
      } else if (v->is_int64() && v->as_int64() >= 0) {
        out = v->as_int64();
      } else if (v->is_uint64()) {
        out = static_cast<int64_t>(v->as_uint64());
      } else {
        return std::string(name) + " must be a non-negative integer or null";
      }
    }
    return std::nullopt;
  };
  for (const char* name : {"key_alias", "user_id", "team_id"}) {
    std::optional<std::string>* target = name == std::string_view("key_alias") ? &key.key_alias
                                         : name == std::string_view("user_id") ? &key.user_id
                                                                               : &key.team_id;
    if (auto e = opt_string(name, *target)) return e;
  }
  if (auto e = opt_int("rpm_limit", key.rpm_limit)) return e;
  if (auto e = opt_int("tpm_limit", key.tpm_limit)) return e;
  if (const auto* v = body.if_contains("models")) {
    if (v->is_null()) {
      key.models.clear();
    } else if (!v->is_array()) {
      return std::string("models must be a list of model names");
    } else {
      key.models.clear();
      for (const auto& m : v->as_array()) {
        if (!m.is_string()) return std::string("models must be a list of model names");
        key.models.emplace_back(m.as_string());
      }
    }
  }
  if (const auto* v = body.if_contains("metadata")) {
    if (v->is_null()) {
      key.metadata_json = "{}";
    } else if (!v->is_object()) {
      return std::string("metadata must be an object");
    } else {
      key.metadata_json = boost::json::serialize(*v);
    }
  }
  if (const auto* v = body.if_contains("max_budget")) {
    if (v->is_null()) {
      key.max_budget.reset();
    } else if (v->is_number() && v->to_number<double>() >= 0) {
      key.max_budget = v->to_number<double>();
    } else {
      return std::string("max_budget must be a non-negative number or null");
    }
  }
  if (const auto* v = body.if_contains("budget_duration")) {
    if (v->is_null()) {
      key.budget_duration.reset();
      key.budget_reset_at_ms.reset();
    } else if (!v->is_string() || !store::parse_duration_seconds(v->as_string())) {
      return std::string("budget_duration must look like 30s, 10m, 1h, 30d, 1w or 1mo");
    } else {
      key.budget_duration = std::string(v->as_string());
      key.budget_reset_at_ms =
          store::unix_now_ms() + *store::parse_duration_seconds(*key.budget_duration) * 1000;
    }
  }
  if (const auto* v = body.if_contains("duration")) {
    if (v->is_null()) {
      key.expires_ms.reset();
    } else if (v->is_string() && (v->as_string() == "permanent" || v->as_string() == "-1")) {
      key.expires_ms.reset();
    } else if (!v->is_string() || !store::parse_duration_seconds(v->as_string())) {
      return std::string("duration must look like 30s, 10m, 1h, 30d, 1w or 1mo");
    } else {
      key.expires_ms = store::unix_now_ms() + *store::parse_duration_seconds(v->as_string()) * 1000;
    }
  }
  if (const auto* v = body.if_contains("expires")) {
    if (v->is_null()) {
      key.expires_ms.reset();
    } else if (!v->is_string() || !store::parse_time(v->as_string())) {
      return std::string("expires must be an ISO-8601 UTC time or null");
    } else {
      key.expires_ms = *store::parse_time(v->as_string());
    }
  }
  if (const auto* v = body.if_contains("blocked")) {
    if (v->is_bool()) {
      key.blocked = v->as_bool();
    } else if (!v->is_null()) {
      return std::string("blocked must be true or false");
    }
  }
  if (!creating) {
    if (const auto* v = body.if_contains("spend")) {
      if (!v->is_number()) return std::string("spend must be a number");
      key.spend = v->to_number<double>();
    }
  }
  return std::nullopt;
}

Result<object> parse_body(const std::string& body) {
  if (body.empty()) return object();
  boost::json::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    return Error::make(ErrorKind::kInvalidRequest, "Request body must be a JSON object",
                       "invalid_json");
  }
  return std::move(v.as_object());
}

AdminAnswer key_generate(store::StoreDb& db, const object& body) {
  store::KeyRecord key;
  std::string raw;
  if (const auto* v = body.if_contains("key"); v && !v->is_null()) {
    if (!v->is_string() || v->as_string().size() < 8) {
      return bad_request("key must be a string of at least 8 characters", "key");
    }
    raw = std::string(v->as_string());
  } else {
    raw = new_key();
  }
  key.token = store::sha256_hex(raw);
  key.key_name = store::display_name(raw);
  if (auto e = apply_fields(body, key, true)) return bad_request(*e);
  key.created_at_ms = key.updated_at_ms = store::unix_now_ms();
  if (key.key_alias) {
    auto existing = db.token_for_alias(*key.key_alias);
    if (!existing) return db_failure(existing.error());
    if (existing->has_value()) return bad_request("key_alias is already in use", "key_alias");
  }
  auto inserted = db.insert_key(key);
  if (!inserted) return db_failure(inserted.error());
  if (!*inserted) return bad_request("this key already exists", "key");
  object out = store::key_json(key);
  out["key"] = raw;
  out["token_id"] = key.token;
  return ok(out);
}

AdminAnswer key_info(store::StoreDb& db, const std::map<std::string, std::string>& q) {
  auto key_param = param(q, "key");
  if (!key_param) return bad_request("key is required: /key/info?key=sk-...", "key");
  auto found = db.get_key(token_of(*key_param));
  if (!found) return db_failure(found.error());
  if (!found->has_value()) return not_found("Key not found.");
  object out;
  out["key"] = *key_param;
  out["info"] = store::key_json(**found);
  return ok(out);
}

AdminAnswer key_update(store::StoreDb& db, store::StoreService* service, const object& body) {
  const auto* k = body.if_contains("key");
  if (!k || !k->is_string()) return bad_request("key is required", "key");
  const std::string token = token_of(k->as_string());
  auto found = db.get_key(token);
  if (!found) return db_failure(found.error());
  if (!found->has_value()) return not_found("Key not found.");
  store::KeyRecord key = **found;
  const auto old_alias = key.key_alias;
  if (auto e = apply_fields(body, key, false)) return bad_request(*e);
  if (key.key_alias && key.key_alias != old_alias) {
    auto existing = db.token_for_alias(*key.key_alias);
    if (!existing) return db_failure(existing.error());
    if (existing->has_value()) return bad_request("key_alias is already in use", "key_alias");
  }
  key.updated_at_ms = store::unix_now_ms();
  auto updated = db.update_key(key, body.contains("spend"));
  if (!updated) return db_failure(updated.error());
  if (!*updated) return not_found("Key not found.");
  if (service) service->invalidate(token);
  auto fresh = db.get_key(token);
  if (!fresh || !fresh->has_value()) return db_failure(fresh ? Error() : fresh.error());
  object out = store::key_json(**fresh);
  out["key"] = std::string(k->as_string());
  return ok(out);
}

AdminAnswer key_delete(store::StoreDb& db, store::StoreService* service, const object& body) {
  std::vector<std::string> given;
  std::vector<std::string> tokens;
  if (const auto* keys = body.if_contains("keys"); keys && keys->is_array()) {
    for (const auto& k : keys->as_array()) {
      if (!k.is_string()) return bad_request("keys must be a list of strings", "keys");
      given.emplace_back(k.as_string());
      tokens.push_back(token_of(k.as_string()));
    }
  }
  if (const auto* aliases = body.if_contains("key_aliases"); aliases && aliases->is_array()) {
    for (const auto& a : aliases->as_array()) {
      if (!a.is_string()) return bad_request("key_aliases must be a list of strings");
      auto t = db.token_for_alias(std::string(a.as_string()));
      if (!t) return db_failure(t.error());
      if (t->has_value()) {
        given.emplace_back(a.as_string());
        tokens.push_back(**t);
      }
    }
  }
  if (tokens.empty()) return bad_request("keys (or key_aliases) is required", "keys");
  auto deleted = db.delete_keys(tokens);
  if (!deleted) return db_failure(deleted.error());
  if (deleted->empty()) return not_found("None of these keys exist.");
  array out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (std::find(deleted->begin(), deleted->end(), tokens[i]) != deleted->end()) {
      out.emplace_back(given[i]);
      if (service) service->invalidate(tokens[i]);
    }
  }
  return ok(object{{"deleted_keys", std::move(out)}});
}

AdminAnswer key_list(store::StoreDb& db, const std::map<std::string, std::string>& q) {
  int64_t page = 1;
  int64_t size = 10;
  if (auto p = param(q, "page")) page = std::max<int64_t>(1, std::atoll(p->c_str()));
  if (auto s = param(q, "size")) size = std::clamp<int64_t>(std::atoll(s->c_str()), 1, 100);
  const bool full = param(q, "return_full_object").value_or("false") == "true";
  auto listed =
      db.list_keys(param(q, "user_id"), param(q, "team_id"), param(q, "key_alias"), page, size);
  if (!listed) return db_failure(listed.error());
  array keys;
  for (const auto& k : listed->keys) {
    if (full) {
      keys.push_back(store::key_json(k));
    } else {
      keys.emplace_back(k.token);
    }
  }
  object out;
  out["keys"] = std::move(keys);
  out["total_count"] = listed->total;
  out["current_page"] = page;
  out["total_pages"] = (listed->total + size - 1) / size;
  return ok(out);
}

AdminAnswer spend_logs(store::StoreDb& db, const std::map<std::string, std::string>& q) {
  store::SpendFilter filter;
  if (auto k = param(q, "api_key")) filter.api_key = token_of(*k);
  filter.user_id = param(q, "user_id");
  filter.request_id = param(q, "request_id");
  const auto start = param(q, "start_date");
  const auto end = param(q, "end_date");
  if (start) {
    filter.start_ms = store::parse_time(*start);
    if (!filter.start_ms)
      return bad_request("start_date must be YYYY-MM-DD or ISO-8601", "start_date");
  }
  if (end) {
    bool date_only = false;
    filter.end_ms = store::parse_time(*end, &date_only);
    if (!filter.end_ms) return bad_request("end_date must be YYYY-MM-DD or ISO-8601", "end_date");
    // A date means the whole day.
    *filter.end_ms += date_only ? int64_t{86400000} : int64_t{1};
  }
  filter.limit = 10000;
  auto rows = db.spend_logs(filter);
  if (!rows) return db_failure(rows.error());
  // LiteLLM summarises a date range per day unless summarize=false.
  if (start && end && param(q, "summarize").value_or("true") != "false" && !filter.api_key &&
      !filter.user_id && !filter.request_id) {
    std::map<std::string, object> days;
    for (const auto& r : *rows) {
      const std::string day = store::iso_time(r.start_time_ms).substr(0, 10);
      object& d = days[day];
      if (d.empty()) {
        d["startTime"] = day;
        d["spend"] = 0.0;
        d["users"] = object();
        d["models"] = object();
      }
      d["spend"] = d["spend"].as_double() + r.spend;
      auto bump = [](object& o, const std::string& k, double v) {
        if (auto* e = o.if_contains(k)) {
          *e = e->as_double() + v;
        } else {
          o[k] = v;
        }
      };
      bump(d["users"].as_object(), r.user_id.value_or(""), r.spend);
      bump(d["models"].as_object(), r.model, r.spend);
    }
    array out;
    for (auto& [day, o] : days) out.push_back(std::move(o));
    return ok(out);
  }
  array out;
  for (const auto& r : *rows) out.push_back(store::spend_json(r));
  return ok(out);
}

std::function<AdminAnswer(store::StoreDb&)> admin_job(store::StoreService* service,
                                                      std::string label, std::string target,
                                                      std::string body) {
  return [service, label = std::move(label), target = std::move(target), body = std::move(body)](
             store::StoreDb& db) { return run_admin(db, service, label, target, body); };
}

Error no_store_error() {
  return Error::make(ErrorKind::kNotImplemented,
                     "Key management needs a master key (general_settings.master_key) and a "
                     "database (DATABASE_URL, or the embedded SQLite store).",
                     "store_disabled");
}

}  // namespace

std::map<std::string, std::string> query_params(std::string_view target) {
  std::map<std::string, std::string> out;
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return out;
  for (const auto& p : parsed->params()) out[p.key] = p.value;
  return out;
}

std::optional<AdminRoute> match_admin_route(std::string_view path) {
  if (path == "/key/generate") return AdminRoute{http::verb::post, "/key/generate"};
  if (path == "/key/info") return AdminRoute{http::verb::get, "/key/info"};
  if (path == "/key/update") return AdminRoute{http::verb::post, "/key/update"};
  if (path == "/key/delete") return AdminRoute{http::verb::post, "/key/delete"};
  if (path == "/key/list") return AdminRoute{http::verb::get, "/key/list"};
  if (path == "/spend/logs") return AdminRoute{http::verb::get, "/spend/logs"};
  return std::nullopt;
}

AdminAnswer run_admin(store::StoreDb& db, store::StoreService* service, std::string_view label,
                      std::string_view target, const std::string& body) {
  const auto q = query_params(target);
  auto parsed = parse_body(body);
  if (!parsed) return error_answer(parsed.error());
  if (label == "/key/generate") return key_generate(db, *parsed);
  if (label == "/key/info") return key_info(db, q);
  if (label == "/key/update") return key_update(db, service, *parsed);
  if (label == "/key/delete") return key_delete(db, service, *parsed);
  if (label == "/key/list") return key_list(db, q);
  if (label == "/spend/logs") return spend_logs(db, q);
  return not_found("Unknown admin route.");
}

awaitable<void> handle_admin(Worker& worker, const http::request<http::string_body>& req,
                             ClientConnection& client, RequestContext& ctx, bool keep_alive) {
  store::StoreService* service = worker.state.store();
  if (service == nullptr || ctx.caller != RequestContext::Caller::kMaster) {
    co_await send_error(client, ctx, no_store_error(), keep_alive);
    co_return;
  }
  auto answer =
      co_await service->run(admin_job(service, ctx.route, std::string(req.target()), req.body()));
  ctx.status = answer->status;
  co_await client.send(answer->status, kJson, answer->body, ctx.response_headers(), keep_alive);
}

}  // namespace switchyard
