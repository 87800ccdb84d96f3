#include "store/migrations.h"

#include <chrono>
#include <set>

namespace switchyard::store {
namespace {

// Arbitrary constant shared by every Switchyard process on one database.
constexpr const char* kAdvisoryLockKey = "727301";

// Types chosen so one script reads the same on both back ends: timestamps
// are epoch milliseconds (BIGINT), booleans are 0/1 INTEGERs, JSON is TEXT.
constexpr const char* kV1Keys = R"sql(
CREATE TABLE IF NOT EXISTS switchyard_keys (
  token            TEXT PRIMARY KEY,
  key_name         TEXT NOT NULL,
  key_alias        TEXT,
  user_id          TEXT,
  team_id          TEXT,
  models           TEXT NOT NULL DEFAULT '[]',
  metadata         TEXT NOT NULL DEFAULT '{}',
  max_budget       DOUBLE PRECISION,
  budget_duration  TEXT,
  budget_reset_at  BIGINT,
  spend            DOUBLE PRECISION NOT NULL DEFAULT 0,
  reserved         DOUBLE PRECISION NOT NULL DEFAULT 0,
  rpm_limit        BIGINT,
  tpm_limit        BIGINT,
  expires          BIGINT,
  blocked          INTEGER NOT NULL DEFAULT 0,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS switchyard_keys_user ON switchyard_keys (user_id);
CREATE INDEX IF NOT EXISTS switchyard_keys_team ON switchyard_keys (team_id);
)sql";

constexpr const char* kV2SpendLogs = R"sql(
CREATE TABLE IF NOT EXISTS switchyard_spend_logs (
  request_id        TEXT PRIMARY KEY,
  call_type         TEXT NOT NULL DEFAULT '',
  api_key           TEXT NOT NULL DEFAULT '',
  user_id           TEXT,
  team_id           TEXT,
  model             TEXT NOT NULL DEFAULT '',
  model_group       TEXT NOT NULL DEFAULT '',
  model_id          TEXT NOT NULL DEFAULT '',
  prompt_tokens     BIGINT NOT NULL DEFAULT 0,
  completion_tokens BIGINT NOT NULL DEFAULT 0,
  total_tokens      BIGINT NOT NULL DEFAULT 0,
  spend             DOUBLE PRECISION NOT NULL DEFAULT 0,
  reserved_released DOUBLE PRECISION NOT NULL DEFAULT 0,
  status            INTEGER NOT NULL DEFAULT 0,
  start_time        BIGINT NOT NULL,
  end_time          BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS switchyard_spend_logs_key ON switchyard_spend_logs (api_key, start_time);
CREATE INDEX IF NOT EXISTS switchyard_spend_logs_user ON switchyard_spend_logs (user_id, start_time);
CREATE INDEX IF NOT EXISTS switchyard_spend_logs_time ON switchyard_spend_logs (start_time);
)sql";

// Deployments added with POST /model/new (store_model_in_db). `definition`
// is the JSON entry {model_name, litellm_params, model_info} with its
// credentials sealed (store/secret_box.h).
constexpr const char* kV3Models = R"sql(
CREATE TABLE IF NOT EXISTS switchyard_models (
  model_id    TEXT PRIMARY KEY,
  model_name  TEXT NOT NULL,
  definition  TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);
)sql";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
    "NULL, applied_at BIGINT NOT NULL)";

Result<std::set<int>> applied_versions(SqlConnection& conn) {
  auto rows = conn.exec("SELECT version FROM schema_migrations");
  if (!rows) return rows.error();
  std::set<int> versions;
  for (const auto& row : rows->rows) versions.insert(static_cast<int>(sql_int(row[0])));
  return versions;
}

Result<MigrationReport> apply_pending(SqlConnection& conn, bool per_migration_transaction) {
  MigrationReport report;
  auto versions = applied_versions(conn);
  if (!versions) return versions.error();
  report.from_version = versions->empty() ? 0 : *versions->rbegin();
  for (const auto& m : migrations()) {
    if (versions->contains(m.version)) continue;
    const char* script = conn.dialect() == Dialect::kSqlite ? m.sqlite : m.postgres;
    if (per_migration_transaction) {
      if (auto r = conn.exec("BEGIN"); !r) return r.error();
    }
    auto step = conn.exec_script(script);
    if (step) {
      step =
          conn.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    {std::to_string(m.version), std::string(m.name), sql_text(now_ms())});
    }
    if (!step) {
      if (per_migration_transaction) (void)conn.exec("ROLLBACK");
      Error e = step.error();
      e.message = "migration " + std::to_string(m.version) + " (" + m.name + "): " + e.message;
      return e;
    }
    if (per_migration_transaction) {
      if (auto r = conn.exec("COMMIT"); !r) return r.error();
    }
    report.applied.push_back(std::to_string(m.version) + " " + m.name);
  }
  report.to_version = latest_schema_version();
  if (!versions->empty() && *versions->rbegin() > report.to_version) {
    report.to_version = *versions->rbegin();  // a newer binary migrated further
  }
  return report;
}

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> kAll = {
      {1, "create_keys", kV1Keys, kV1Keys},
      {2, "create_spend_logs", kV2SpendLogs, kV2SpendLogs},
      {3, "create_models", kV3Models, kV3Models},
  };
  return kAll;
}

int latest_schema_version() { return migrations().back().version; }

Result<int> current_schema_version(SqlConnection& conn) {
  const char* probe =
      conn.dialect() == Dialect::kSqlite
          ? "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
          : "SELECT count(*) FROM information_schema.tables WHERE table_name='schema_migrations' "
            "AND table_schema = current_schema()";
  auto exists = conn.exec(probe);
  if (!exists) return exists.error();
  if (exists->rows.empty() || sql_int(exists->rows[0][0]) == 0) return 0;
  auto max = conn.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!max) return max.error();
  return static_cast<int>(sql_int(max->rows[0][0]));
}

Result<MigrationReport> run_migrations(SqlConnection& conn) {
  if (conn.dialect() == Dialect::kSqlite) {
    // BEGIN IMMEDIATE takes the write lock up front: a second process waits
    // (busy_timeout) and then sees the versions the first one recorded.
    if (auto r = conn.exec("BEGIN IMMEDIATE"); !r) return r.error();
    auto created = conn.exec(kCreateMigrationsTable);
    Result<MigrationReport> report =
        created ? apply_pending(conn, false) : Result<MigrationReport>(created.error());
    if (!report) {
      (void)conn.exec("ROLLBACK");
      return report;
    }
    if (auto r = conn.exec("COMMIT"); !r) return r.error();
    return report;
  }
  // PostgreSQL: a session-level advisory lock serialises concurrent runs
  // (replicas starting together, a Job racing a pod); each migration then
  // commits on its own.
  if (auto r = conn.exec(std::string("SELECT pg_advisory_lock(") + kAdvisoryLockKey + ")"); !r) {
    return r.error();
  }
  auto created = conn.exec(kCreateMigrationsTable);
  Result<MigrationReport> report =
      created ? apply_pending(conn, true) : Result<MigrationReport>(created.error());
  (void)conn.exec(std::string("SELECT pg_advisory_unlock(") + kAdvisoryLockKey + ")");
  return report;
}

}  // namespace switchyard::store
