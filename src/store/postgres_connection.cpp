// PostgreSQL back end over libpq (text protocol, blocking calls on the
// owning DB thread). Reconnects after an outage.
#include <libpq-fe.h>

#include <chrono>

#include "store/sql.h"

namespace switchyard::store {
namespace {

using SteadyClock = std::chrono::steady_clock;

class PostgresConnection final : public SqlConnection {
 public:
  PostgresConnection(std::string url, int connect_timeout_s, int retry_interval_ms)
      : url_(std::move(url)),
        connect_timeout_s_(connect_timeout_s),
        retry_interval_(retry_interval_ms) {}
  ~PostgresConnection() override { drop(); }
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string describe() const override {
    // host:port/db only; the URL may hold a password.
    if (conn_ == nullptr) return "postgresql (not connected)";
    return std::string("postgresql://") + PQhost(conn_) + ":" + PQport(conn_) + "/" + PQdb(conn_);
  }

  Result<QueryResult> exec(std::string_view sql, const std::vector<SqlValue>& params) override {
    // A connection that died since the last call (server restart) fails the
    // first statement; try once more on a fresh connection.
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (auto error = ensure_connected()) return *error;
      const std::string text(sql);
      std::vector<const char*> values;
      values.reserve(params.size());
      for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
      PGresult* res = PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                                   values.data(), nullptr, nullptr, 0);
      auto result = collect(res);
      if (result || !is_unavailable(result.error()) || attempt == 1) return result;
    }
    return Error::make(ErrorKind::kUnavailable, "unreachable", kDbUnavailable);
  }

  Result<QueryResult> exec_script(std::string_view sql) override {
    if (auto error = ensure_connected()) return *error;
    const std::string text(sql);
    return collect(PQexec(conn_, text.c_str()));
  }

 private:
  std::optional<Error> ensure_connected() {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return std::nullopt;
    drop();
    const auto now = SteadyClock::now();
    if (last_failure_ && now - *last_failure_ < retry_interval_) {
      return Error::make(ErrorKind::kUnavailable, "database unavailable (retrying shortly)",
                         kDbUnavailable);
    }
    const std::string timeout = std::to_string(connect_timeout_s_);
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {url_.c_str(), timeout.c_str(), "switchyard", nullptr};
    conn_ = PQconnectdbParams(keys, values, 1);
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
      std::string message = conn_ ? PQerrorMessage(conn_) : "out of memory";
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
        message.pop_back();
      }
      drop();
      last_failure_ = now;
      return Error::make(ErrorKind::kUnavailable, "cannot connect to PostgreSQL: " + message,
                         kDbUnavailable);
    }
    last_failure_.reset();
    // A statement that hangs (lock wait, overloaded server) must not hold
    // the DB thread forever; notices would otherwise go to stderr.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    PQclear(PQexec(conn_, "SET statement_timeout = 10000"));
    return std::nullopt;
  }

  Result<QueryResult> collect(PGresult* res) {
    const ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string message = res ? PQresultErrorMessage(res) : PQerrorMessage(conn_);
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
        message.pop_back();
      }
      const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
      PQclear(res);
      // Lost connection, admin shutdown (57P01), cannot connect now (57P03),
      // or class 08 (connection exception): retry later.
      const bool lost = PQstatus(conn_) != CONNECTION_OK;
      const std::string sqlstate = state ? state : "";
      const bool unavailable = lost || sqlstate.starts_with("08") || sqlstate == "57P01" ||
                               sqlstate == "57P02" || sqlstate == "57P03";
      if (lost) {
        drop();
        last_failure_.reset();  // a restart is often quick: reconnect on the next call
      }
      return Error::make(ErrorKind::kUnavailable, "PostgreSQL: " + message,
                         unavailable ? kDbUnavailable : kDbError);
    }
    QueryResult result;
    const int rows = PQntuples(res);
    const int cols = PQnfields(res);
    result.rows.reserve(static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      SqlRow row;
      row.reserve(static_cast<size_t>(cols));
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(res, r, c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(
              std::string(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c))));
        }
      }
      result.rows.push_back(std::move(row));
    }
    const char* affected = PQcmdTuples(res);
    result.affected = (affected && *affected) ? std::strtoll(affected, nullptr, 10) : 0;
    PQclear(res);
    return result;
  }

  void drop() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  std::string url_;
  int connect_timeout_s_;
  std::chrono::milliseconds retry_interval_;
  PGconn* conn_ = nullptr;
  std::optional<SteadyClock::time_point> last_failure_;
};

}  // namespace

std::unique_ptr<SqlConnection> open_postgres(const std::string& url, int connect_timeout_s,
                                             int retry_interval_ms) {
  return std::make_unique<PostgresConnection>(url, connect_timeout_s, retry_interval_ms);
}

}  // namespace switchyard::store
