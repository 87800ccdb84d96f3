#include "store/bootstrap.h"

#include <boost/url/parse.hpp>
#include <filesystem>

namespace switchyard::store {

StoreOptions store_options(const Config& config) {
  StoreOptions o;
  const std::string& url = config.general_settings.database_url.reveal();
  if (is_postgres_url(url)) o.database_url = url;
  o.sqlite_path = (std::filesystem::path(config.server.data_dir) / "switchyard.db").string();
  o.key_cache_ttl =
      std::chrono::milliseconds(static_cast<int64_t>(config.server.key_cache_ttl_seconds * 1000));
  return o;
}

std::string describe_target(const StoreOptions& options) {
  if (options.database_url.empty()) return "sqlite:" + options.sqlite_path;
  auto parsed = boost::urls::parse_uri(options.database_url);
  if (!parsed) return "postgresql (unparsable URL)";
  std::string out = "postgresql://" + std::string(parsed->encoded_host());
  if (parsed->has_port()) {
    out += ':';
    out += parsed->port();
  }
  out += std::string(parsed->encoded_path());
  return out;
}

Result<MigrationReport> migrate(const StoreOptions& options) {
  std::unique_ptr<SqlConnection> conn;
  if (!options.database_url.empty()) {
    conn = open_postgres(options.database_url, 10, 0);
  } else {
    auto opened = open_sqlite(options.sqlite_path);
    if (!opened) return opened.error();
    conn = std::move(*opened);
  }
  return run_migrations(*conn);
}

}  // namespace switchyard::store
