#pragma once
// Versioned, idempotent schema migrations for both back ends, recorded in
// `schema_migrations`. Safe to run concurrently from several processes:
// PostgreSQL serialises runs with pg_advisory_lock, SQLite with
// BEGIN IMMEDIATE (one writer at a time).
#include <string>
#include <vector>

#include "store/sql.h"

namespace switchyard::store {

struct Migration {
  int version;
  const char* name;
  const char* sqlite;    // script for SQLite
  const char* postgres;  // script for PostgreSQL
};

const std::vector<Migration>& migrations();
int latest_schema_version();

struct MigrationReport {
  int from_version = 0;
  int to_version = 0;
  std::vector<std::string> applied;  // "3 add_spend_indexes"
};

Result<MigrationReport> run_migrations(SqlConnection& conn);
// Highest applied version; 0 when the schema_migrations table is missing.
Result<int> current_schema_version(SqlConnection& conn);

}  // namespace switchyard::store
