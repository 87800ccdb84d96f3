#pragma once
// Minimal SQL connection interface with two back ends (SQLite, PostgreSQL).
// Every value crosses the boundary as text (NULL = nullopt): both databases
// convert text parameters by column affinity / inferred type, which keeps
// the SQL identical for both in almost every statement.
//
// Threading: a connection is owned and used by exactly one thread (a store
// DB thread); nothing here is safe to share between threads.
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace switchyard::store {

enum class Dialect { kSqlite, kPostgres };

using SqlValue = std::optional<std::string>;
using SqlRow = std::vector<SqlValue>;

// A parameter that keeps its type, for hot statements (the spend writer's
// INSERT): SQLite binds numbers natively and text without a copy, instead of
// formatting every number as text for SQLite to parse back. Text is a view:
// it must outlive the exec_typed() call.
struct SqlParam {
  enum class Type : unsigned char { kNull, kText, kInt, kReal };
  Type type = Type::kNull;
  std::string_view text;
  int64_t integer = 0;
  double real = 0;
};
inline SqlParam sql_param(std::string_view text) { return {SqlParam::Type::kText, text, 0, 0}; }
inline SqlParam sql_param(const std::string& text) { return sql_param(std::string_view(text)); }
inline SqlParam sql_param(const std::optional<std::string>& text) {
  return text ? sql_param(std::string_view(*text)) : SqlParam{};
}
inline SqlParam sql_param(int64_t v) { return {SqlParam::Type::kInt, {}, v, 0}; }
inline SqlParam sql_param(double v) { return {SqlParam::Type::kReal, {}, 0, v}; }

struct QueryResult {
  std::vector<SqlRow> rows;
  int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE
};

// Error codes carried in Error::code: "db_unavailable" (connection lost or
// refused: retry later), "db_constraint" (a UNIQUE/NOT NULL/... constraint
// failed; SQLite rolls back only that statement) or "db_error" (the statement
// failed otherwise).
inline constexpr const char* kDbUnavailable = "db_unavailable";
inline constexpr const char* kDbConstraint = "db_constraint";
inline constexpr const char* kDbError = "db_error";
bool is_unavailable(const Error& error);

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual Dialect dialect() const = 0;
  // One statement with $1..$N placeholders.
  virtual Result<QueryResult> exec(std::string_view sql, const std::vector<SqlValue>& params) = 0;
  Result<QueryResult> exec(std::string_view sql) { return exec(sql, {}); }
  // The same with typed parameters. The default formats them as text (what
  // exec() would be given); SQLite binds them by type. Results are the same.
  virtual Result<QueryResult> exec_typed(std::string_view sql, std::span<const SqlParam> params);
  // Several statements, no parameters (migrations).
  virtual Result<QueryResult> exec_script(std::string_view sql) = 0;
  // Short description for logs: never contains credentials.
  virtual std::string describe() const = 0;
};

// SQLite file (created with its directory if missing), WAL mode.
Result<std::unique_ptr<SqlConnection>> open_sqlite(const std::string& path);

// PostgreSQL (libpq URL). The connection is made lazily and remade after a
// failure, at most once per `retry_interval_ms`, so an outage costs callers a
// fast error instead of a connect timeout each time.
std::unique_ptr<SqlConnection> open_postgres(const std::string& url, int connect_timeout_s = 2,
                                             int retry_interval_ms = 500);

bool is_postgres_url(std::string_view url);

// Parses the textual forms both back ends return.
double sql_double(const SqlValue& v, double fallback = 0);
int64_t sql_int(const SqlValue& v, int64_t fallback = 0);
std::optional<double> sql_opt_double(const SqlValue& v);
std::optional<int64_t> sql_opt_int(const SqlValue& v);
// Formats numbers so that both back ends read them back exactly.
std::string sql_text(double v);
std::string sql_text(int64_t v);

}  // namespace switchyard::store
