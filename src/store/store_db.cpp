#include "store/store_db.h"

#include <map>
#include <thread>
#include <unordered_map>

#include "store/migrations.h"

namespace switchyard::store {
namespace {

constexpr const char* kKeyColumns =
    "token, key_name, key_alias, user_id, team_id, models, metadata, max_budget, "
    "budget_duration, budget_reset_at, spend, reserved, rpm_limit, tpm_limit, expires, blocked, "
    "created_at, updated_at";

constexpr const char* kSpendColumns =
    "request_id, call_type, api_key, user_id, team_id, model, model_group, model_id, "
    "prompt_tokens, completion_tokens, total_tokens, spend, reserved_released, status, "
    "start_time, end_time";

SqlValue opt_text(const std::optional<double>& v) {
  if (!v) return std::nullopt;
  return sql_text(*v);
}
SqlValue opt_text(const std::optional<int64_t>& v) {
  if (!v) return std::nullopt;
  return sql_text(*v);
}

std::string models_json(const std::vector<std::string>& models) {
  boost::json::array a;
  for (const auto& m : models) a.emplace_back(m);
  return boost::json::serialize(a);
}

std::vector<std::string> parse_models(const SqlValue& v) {
  std::vector<std::string> out;
  if (!v) return out;
  boost::json::error_code ec;
  auto parsed = boost::json::parse(*v, ec);
  if (ec || !parsed.is_array()) return out;
  for (const auto& m : parsed.as_array()) {
    if (m.is_string()) out.emplace_back(m.as_string());
  }
  return out;
}

std::vector<SqlValue> key_params(const KeyRecord& k) {
  return {k.token,
          k.key_name,
          k.key_alias,
          k.user_id,
          k.team_id,
          models_json(k.models),
          k.metadata_json,
          opt_text(k.max_budget),
          k.budget_duration,
          opt_text(k.budget_reset_at_ms),
          sql_text(k.spend),
          sql_text(k.reserved),
          opt_text(k.rpm_limit),
          opt_text(k.tpm_limit),
          opt_text(k.expires_ms),
          std::string(k.blocked ? "1" : "0"),
          sql_text(k.created_at_ms),
          sql_text(k.updated_at_ms)};
}

KeyRecord key_from_row(const SqlRow& r) {
  KeyRecord k;
  k.token = r[0].value_or("");
  k.key_name = r[1].value_or("");
  k.key_alias = r[2];
  k.user_id = r[3];
  k.team_id = r[4];
  k.models = parse_models(r[5]);
  k.metadata_json = r[6].value_or("{}");
  k.max_budget = sql_opt_double(r[7]);
  k.budget_duration = r[8];
  k.budget_reset_at_ms = sql_opt_int(r[9]);
  k.spend = sql_double(r[10]);
  k.reserved = sql_double(r[11]);
  k.rpm_limit = sql_opt_int(r[12]);
  k.tpm_limit = sql_opt_int(r[13]);
  k.expires_ms = sql_opt_int(r[14]);
  k.blocked = sql_int(r[15]) != 0;
  k.created_at_ms = sql_int(r[16]);
  k.updated_at_ms = sql_int(r[17]);
  return k;
}

// The spend row's 16 values, typed and as views into `s` (SQLite path).
void append_spend_params(const SpendRecord& s, std::vector<SqlParam>& out) {
  out.insert(out.end(),
             {sql_param(s.request_id), sql_param(s.call_type), sql_param(s.api_key),
              sql_param(s.user_id), sql_param(s.team_id), sql_param(s.model),
              sql_param(s.model_group), sql_param(s.model_id), sql_param(s.prompt_tokens),
              sql_param(s.completion_tokens), sql_param(s.total_tokens), sql_param(s.spend),
              sql_param(s.reserved_released), sql_param(static_cast<int64_t>(s.status)),
              sql_param(s.start_time_ms), sql_param(s.end_time_ms)});
}

std::vector<SqlValue> spend_params(const SpendRecord& s) {
  return {s.request_id,
          s.call_type,
          s.api_key,
          s.user_id,
          s.team_id,
          s.model,
          s.model_group,
          s.model_id,
          sql_text(s.prompt_tokens),
          sql_text(s.completion_tokens),
          sql_text(s.total_tokens),
          sql_text(s.spend),
          sql_text(s.reserved_released),
          sql_text(static_cast<int64_t>(s.status)),
          sql_text(s.start_time_ms),
          sql_text(s.end_time_ms)};
}

SpendRecord spend_from_row(const SqlRow& r) {
  SpendRecord s;
  s.request_id = r[0].value_or("");
  s.call_type = r[1].value_or("");
  s.api_key = r[2].value_or("");
  s.user_id = r[3];
  s.team_id = r[4];
  s.model = r[5].value_or("");
  s.model_group = r[6].value_or("");
  s.model_id = r[7].value_or("");
  s.prompt_tokens = sql_int(r[8]);
  s.completion_tokens = sql_int(r[9]);
  s.total_tokens = sql_int(r[10]);
  s.spend = sql_double(r[11]);
  s.reserved_released = sql_double(r[12]);
  s.status = static_cast<int>(sql_int(r[13]));
  s.start_time_ms = sql_int(r[14]);
  s.end_time_ms = sql_int(r[15]);
  return s;
}

std::string placeholders(size_t first, size_t count) {
  std::string out = "(";
  for (size_t i = 0; i < count; ++i) {
    if (i) out += ", ";
    out += '$';
    out += std::to_string(first + i);
  }
  return out + ")";
}

}  // namespace

Result<QueryResult> StoreDb::ping() { return conn_.exec("SELECT 1"); }

Result<int> StoreDb::schema_version() { return current_schema_version(conn_); }

Result<bool> StoreDb::insert_key(const KeyRecord& key) {
  auto r = conn_.exec(std::string("INSERT INTO switchyard_keys (") + kKeyColumns + ") VALUES " +
                          placeholders(1, 18) + " ON CONFLICT (token) DO NOTHING",
                      key_params(key));
  if (!r) return r.error();
  return r->affected == 1;
}

Result<std::optional<KeyRecord>> StoreDb::get_key(const std::string& token) {
  auto r = conn_.exec(
      std::string("SELECT ") + kKeyColumns + " FROM switchyard_keys WHERE token = $1", {token});
  if (!r) return r.error();
  if (r->rows.empty()) return std::optional<KeyRecord>();
  return std::optional<KeyRecord>(key_from_row(r->rows[0]));
}

Result<bool> StoreDb::update_key(const KeyRecord& k, bool write_spend) {
  std::vector<SqlValue> params = {k.token,
                                  k.key_alias,
                                  k.user_id,
                                  k.team_id,
                                  models_json(k.models),
                                  k.metadata_json,
                                  opt_text(k.max_budget),
                                  k.budget_duration,
                                  opt_text(k.budget_reset_at_ms),
                                  opt_text(k.rpm_limit),
                                  opt_text(k.tpm_limit),
                                  opt_text(k.expires_ms),
                                  std::string(k.blocked ? "1" : "0"),
                                  sql_text(k.updated_at_ms)};
  std::string sql =
      "UPDATE switchyard_keys SET key_alias = $2, user_id = $3, team_id = $4, models = $5, "
      "metadata = $6, max_budget = $7, budget_duration = $8, budget_reset_at = $9, "
      "rpm_limit = $10, tpm_limit = $11, expires = $12, blocked = $13, updated_at = $14";
  if (write_spend) {
    sql += ", spend = $15";
    params.emplace_back(sql_text(k.spend));
  }
  auto r = conn_.exec(sql + " WHERE token = $1", params);
  if (!r) return r.error();
  return r->affected == 1;
}

Result<std::vector<std::string>> StoreDb::delete_keys(const std::vector<std::string>& tokens) {
  std::vector<std::string> deleted;
  for (const auto& t : tokens) {
    auto r = conn_.exec("DELETE FROM switchyard_keys WHERE token = $1", {t});
    if (!r) return r.error();
    if (r->affected > 0) deleted.push_back(t);
  }
  return deleted;
}

Result<StoreDb::KeyPage> StoreDb::list_keys(const std::optional<std::string>& user_id,
                                            const std::optional<std::string>& team_id,
                                            const std::optional<std::string>& key_alias,
                                            int64_t page, int64_t page_size) {
  std::string where = " WHERE 1 = 1";
  std::vector<SqlValue> params;
  auto add = [&](const char* column, const std::optional<std::string>& v) {
    if (!v) return;
    params.emplace_back(*v);
    where += std::string(" AND ") + column + " = $" + std::to_string(params.size());
  };
  add("user_id", user_id);
  add("team_id", team_id);
  add("key_alias", key_alias);
  auto count = conn_.exec("SELECT count(*) FROM switchyard_keys" + where, params);
  if (!count) return count.error();
  KeyPage out;
  out.total = sql_int(count->rows[0][0]);
  auto rows = conn_.exec(std::string("SELECT ") + kKeyColumns + " FROM switchyard_keys" + where +
                             " ORDER BY created_at, token LIMIT " + std::to_string(page_size) +
                             " OFFSET " + std::to_string((page - 1) * page_size),
                         params);
  if (!rows) return rows.error();
  for (const auto& r : rows->rows) out.keys.push_back(key_from_row(r));
  return out;
}

Result<std::optional<std::string>> StoreDb::token_for_alias(const std::string& alias) {
  auto r = conn_.exec("SELECT token FROM switchyard_keys WHERE key_alias = $1 LIMIT 1", {alias});
  if (!r) return r.error();
  if (r->rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(r->rows[0][0]);
}

Result<bool> StoreDb::insert_model(const ModelRow& row) {
  auto r = conn_.exec(
      "INSERT INTO switchyard_models (model_id, model_name, definition, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, $4) ON CONFLICT (model_id) DO NOTHING",
      {row.model_id, row.model_name, row.definition, sql_text(row.created_at_ms)});
  if (!r) return r.error();
  return r->affected == 1;
}

Result<bool> StoreDb::delete_model(const std::string& model_id) {
  auto r = conn_.exec("DELETE FROM switchyard_models WHERE model_id = $1", {model_id});
  if (!r) return r.error();
  return r->affected > 0;
}

Result<std::vector<ModelRow>> StoreDb::list_models() {
  auto r = conn_.exec(
      "SELECT model_id, model_name, definition, created_at, updated_at FROM switchyard_models "
      "ORDER BY created_at, model_id");
  if (!r) return r.error();
  std::vector<ModelRow> rows;
  rows.reserve(r->rows.size());
  for (const auto& row : r->rows) {
    rows.push_back({row[0].value_or(""), row[1].value_or(""), row[2].value_or(""), sql_int(row[3]),
                    sql_int(row[4])});
  }
  return rows;
}

Result<ReserveOutcome> StoreDb::reserve(const std::string& token, double amount) {
  auto r = conn_.exec(
      "UPDATE switchyard_keys SET reserved = reserved + $1 WHERE token = $2 AND "
      "(max_budget IS NULL OR spend + reserved + $1 <= max_budget) RETURNING spend, reserved",
      {sql_text(amount), token});
  if (!r) return r.error();
  ReserveOutcome out;
  if (r->rows.empty()) {
    auto exists =
        conn_.exec("SELECT spend, reserved FROM switchyard_keys WHERE token = $1", {token});
    if (!exists) return exists.error();
    out.key_found = !exists->rows.empty();
    if (out.key_found) {
      out.spend = sql_double(exists->rows[0][0]);
      out.reserved = sql_double(exists->rows[0][1]);
    }
    return out;
  }
  out.granted = true;
  out.spend = sql_double(r->rows[0][0]);
  out.reserved = sql_double(r->rows[0][1]);
  return out;
}

Result<QueryResult> StoreDb::release(const std::string& token, double amount) {
  const char* sql =
      conn_.dialect() == Dialect::kSqlite
          ? "UPDATE switchyard_keys SET reserved = MAX(reserved - $1, 0) WHERE token = $2"
          : "UPDATE switchyard_keys SET reserved = GREATEST(reserved - $1, 0) WHERE "
            "token = $2";
  return conn_.exec(sql, {sql_text(amount), token});
}

Result<int64_t> StoreDb::write_spend_batch(const std::vector<SpendRecord>& rows) {
  if (rows.empty()) return int64_t{0};
  if (conn_.dialect() == Dialect::kSqlite) return write_spend_batch_sqlite(rows);
  return write_spend_batch_postgres(rows);
}

namespace {

// Rows per INSERT statement in SQLite. Chunks are powers of two up to this,
// so a batch of any size uses at most 7 distinct (cached) statements.
constexpr size_t kSqliteRowsPerInsert = 64;

// The INSERT of `rows` rows. `report_inserted` adds ON CONFLICT DO NOTHING
// RETURNING request_id, which names the rows actually inserted; it cost about
// a quarter of the writer's instructions per row (callgrind: 35.9k -> 26.3k
// without it), so it is only used after the plain INSERT failed on a
// duplicate request_id.
const std::string& sqlite_spend_insert(size_t rows, bool report_inserted) {
  static const auto statements = [] {
    std::vector<std::string> by_size(2 * (kSqliteRowsPerInsert + 1));
    for (size_t n = 1; n <= kSqliteRowsPerInsert; n *= 2) {
      std::string sql = "INSERT INTO switchyard_spend_logs (";
      sql += kSpendColumns;
      sql += ") VALUES ";
      for (size_t i = 0; i < n; ++i) {
        if (i) sql += ", ";
        sql += placeholders(i * 16 + 1, 16);
      }
      by_size[2 * n] = sql;
      sql += " ON CONFLICT (request_id) DO NOTHING RETURNING request_id";
      by_size[2 * n + 1] = std::move(sql);
    }
    return by_size;
  }();
  return statements[2 * rows + (report_inserted ? 1 : 0)];
}

}  // namespace

Result<int64_t> StoreDb::write_spend_batch_sqlite(const std::vector<SpendRecord>& rows) {
  if (auto r = conn_.exec("BEGIN IMMEDIATE"); !r) return r.error();
  int64_t inserted = 0;
  std::map<std::string, std::pair<double, double>> per_key;  // spend, released
  // Multi-row INSERTs: one statement per row cost the writer ~40k
  // instructions per request (callgrind), mostly per-statement overhead.
  // A row that already exists (a retried batch whose first commit did
  // succeed) must not add its spend twice. The plain INSERT fails as a whole
  // on such a row (SQLite then undoes just that statement), and only then is
  // the chunk re-run with RETURNING, which names the rows it inserted.
  std::unordered_map<std::string_view, const SpendRecord*> by_id;
  std::vector<SqlParam> params;
  auto add_spend = [&](const SpendRecord& row) {
    ++inserted;
    if (!row.api_key.empty()) {
      auto& acc = per_key[row.api_key];
      acc.first += row.spend;
      acc.second += row.reserved_released;
    }
  };
  for (size_t first = 0; first < rows.size();) {
    size_t n = kSqliteRowsPerInsert;
    while (n > rows.size() - first) n /= 2;
    params.clear();
    for (size_t i = first; i < first + n; ++i) append_spend_params(rows[i], params);
    auto r = conn_.exec_typed(sqlite_spend_insert(n, false), params);
    if (r) {
      for (size_t i = first; i < first + n; ++i) add_spend(rows[i]);
    } else if (r.error().code == kDbConstraint) {
      by_id.clear();
      for (size_t i = first; i < first + n; ++i) by_id.emplace(rows[i].request_id, &rows[i]);
      r = conn_.exec_typed(sqlite_spend_insert(n, true), params);
      if (r) {
        for (const auto& returned : r->rows) {
          auto it = by_id.find(returned[0].value_or(""));
          if (it != by_id.end()) add_spend(*it->second);
        }
      }
    }
    if (!r) {
      (void)conn_.exec("ROLLBACK");
      return r.error();
    }
    first += n;
    // The writer shares cores with the proxy workers. A batch of a few hundred
    // rows is milliseconds of CPU in one stretch, and a worker woken meanwhile
    // waited for all of it (perf sched: 2.7 ms scheduling delays behind 2.5 ms
    // writer runs at 1,000 req/s). Offering the core after each chunk lets
    // such a worker run between chunks; with nothing else runnable it returns
    // at once.
    if (first < rows.size()) std::this_thread::yield();
  }
  for (const auto& [token, acc] : per_key) {
    auto r = conn_.exec(
        "UPDATE switchyard_keys SET spend = spend + $1, reserved = MAX(reserved - $2, 0) WHERE "
        "token = $3",
        {sql_text(acc.first), sql_text(acc.second), token});
    if (!r) {
      (void)conn_.exec("ROLLBACK");
      return r.error();
    }
  }
  if (auto r = conn_.exec("COMMIT"); !r) {
    (void)conn_.exec("ROLLBACK");
    return r.error();
  }
  return inserted;
}

Result<int64_t> StoreDb::write_spend_batch_postgres(const std::vector<SpendRecord>& rows) {
  // One statement: rows that already exist (a retried batch whose first
  // commit did succeed) are skipped by ON CONFLICT and therefore add no
  // spend twice.
  std::string sql =
      std::string("WITH ins AS (INSERT INTO switchyard_spend_logs (") + kSpendColumns + ") VALUES ";
  std::vector<SqlValue> params;
  params.reserve(rows.size() * 16);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) sql += ", ";
    const size_t b = i * 16;
    // Casts make PostgreSQL read the text parameters as the columns' types.
    static constexpr const char* kCasts[16] = {"",         "",         "",         "",
                                               "",         "",         "",         "",
                                               "::bigint", "::bigint", "::bigint", "::float8",
                                               "::float8", "::int",    "::bigint", "::bigint"};
    sql += '(';
    for (size_t n = 0; n < 16; ++n) {
      if (n) sql += ", ";
      sql += '$';
      sql += std::to_string(b + n + 1);
      sql += kCasts[n];
    }
    sql += ')';
    for (auto& v : spend_params(rows[i])) params.push_back(std::move(v));
  }
  sql +=
      " ON CONFLICT (request_id) DO NOTHING RETURNING api_key, spend, reserved_released), "
      "agg AS (SELECT api_key, SUM(spend) AS s, SUM(reserved_released) AS r FROM ins "
      "WHERE api_key <> '' GROUP BY api_key), "
      "upd AS (UPDATE switchyard_keys k SET spend = k.spend + agg.s, "
      "reserved = GREATEST(k.reserved - agg.r, 0) FROM agg WHERE k.token = agg.api_key "
      "RETURNING 1) "
      "SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upd)";
  auto r = conn_.exec(sql, params);
  if (!r) return r.error();
  return sql_int(r->rows[0][0]);
}

Result<std::vector<SpendRecord>> StoreDb::spend_logs(const SpendFilter& f) {
  std::string where = " WHERE 1 = 1";
  std::vector<SqlValue> params;
  auto add = [&](const char* cond, SqlValue v) {
    params.push_back(std::move(v));
    where += std::string(" AND ") + cond + " $" + std::to_string(params.size());
  };
  if (f.api_key) add("api_key =", *f.api_key);
  if (f.user_id) add("user_id =", *f.user_id);
  if (f.request_id) add("request_id =", *f.request_id);
  if (f.start_ms) add("start_time >=", sql_text(*f.start_ms));
  if (f.end_ms) add("start_time <", sql_text(*f.end_ms));
  auto r =
      conn_.exec(std::string("SELECT ") + kSpendColumns + " FROM switchyard_spend_logs" + where +
                     " ORDER BY start_time, request_id LIMIT " + std::to_string(f.limit),
                 params);
  if (!r) return r.error();
  std::vector<SpendRecord> out;
  out.reserve(r->rows.size());
  for (const auto& row : r->rows) out.push_back(spend_from_row(row));
  return out;
}

Result<int64_t> StoreDb::reset_due_budgets(int64_t now_ms) {
  auto due = conn_.exec(
      "SELECT token, budget_duration, budget_reset_at FROM switchyard_keys WHERE "
      "budget_reset_at IS NOT NULL AND budget_reset_at <= $1",
      {sql_text(now_ms)});
  if (!due) return due.error();
  int64_t reset = 0;
  for (const auto& row : due->rows) {
    const auto seconds = parse_duration_seconds(row[1].value_or(""));
    if (!seconds || *seconds <= 0) continue;
    // Compare-and-set on the old reset time: two replicas resetting at once
    // reset once.
    auto r = conn_.exec(
        "UPDATE switchyard_keys SET spend = 0, budget_reset_at = $1 WHERE token = $2 AND "
        "budget_reset_at = $3",
        {sql_text(now_ms + *seconds * 1000), row[0], row[2]});
    if (!r) return r.error();
    reset += r->affected;
  }
  return reset;
}

}  // namespace switchyard::store
