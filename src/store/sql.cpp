#include "store/sql.h"

#include <cstdio>
#include <cstdlib>

#include "core/format.h"

namespace switchyard::store {

bool is_unavailable(const Error& error) { return error.code && *error.code == kDbUnavailable; }

bool is_postgres_url(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

double sql_double(const SqlValue& v, double fallback) {
  if (!v || v->empty()) return fallback;
  char* end = nullptr;
  double d = std::strtod(v->c_str(), &end);
  return end == v->c_str() ? fallback : d;
}

int64_t sql_int(const SqlValue& v, int64_t fallback) {
  if (!v || v->empty()) return fallback;
  char* end = nullptr;
  long long i = std::strtoll(v->c_str(), &end, 10);
  if (end == v->c_str()) return fallback;
  // SQLite may hand back "12.0" for an integer stored through REAL affinity.
  if (*end == '.') return static_cast<int64_t>(std::strtod(v->c_str(), nullptr));
  return i;
}

std::optional<double> sql_opt_double(const SqlValue& v) {
  if (!v) return std::nullopt;
  return sql_double(v);
}

std::optional<int64_t> sql_opt_int(const SqlValue& v) {
  if (!v) return std::nullopt;
  return sql_int(v);
}

std::string sql_text(double v) {
  std::string out;
  append_shortest(out, v);  // round-trips exactly, like %.17g, in far fewer instructions
  return out;
}

std::string sql_text(int64_t v) { return std::to_string(v); }

Result<QueryResult> SqlConnection::exec_typed(std::string_view sql,
                                              std::span<const SqlParam> params) {
  std::vector<SqlValue> text;
  text.reserve(params.size());
  for (const SqlParam& p : params) {
    switch (p.type) {
      case SqlParam::Type::kNull:
        text.emplace_back(std::nullopt);
        break;
      case SqlParam::Type::kText:
        text.emplace_back(std::string(p.text));
        break;
      case SqlParam::Type::kInt:
        text.emplace_back(sql_text(p.integer));
        break;
      case SqlParam::Type::kReal:
        text.emplace_back(sql_text(p.real));
        break;
    }
  }
  return exec(sql, text);
}

}  // namespace switchyard::store
