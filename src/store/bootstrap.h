#pragma once
// Turns the config into store options and brings the schema up to date the
// way the process was asked to (`switchyard migrate`, or at gateway startup).
#include <string>

#include "config/config.h"
#include "store/migrations.h"
#include "store/store_service.h"

namespace switchyard::store {

// PostgreSQL when general_settings.database_url / DATABASE_URL is
// postgresql://... or postgres://..., else SQLite at <data_dir>/switchyard.db.
StoreOptions store_options(const Config& config);
// "postgresql://host:port/db" or "sqlite:<path>": for logs, no credentials.
std::string describe_target(const StoreOptions& options);

// Opens one connection and runs the migrations (the `migrate` command).
Result<MigrationReport> migrate(const StoreOptions& options);

}  // namespace switchyard::store
