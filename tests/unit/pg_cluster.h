#pragma once
// A throwaway PostgreSQL cluster for tests: initdb into a temp dir, start on
// a free port (unix socket in the same dir), stop and delete at the end.
// PostgreSQL refuses to run as root, so as root every pg command runs as the
// `postgres` OS user (runuser). Binaries: $SWITCHYARD_PG_BIN, else the
// newest /usr/lib/postgresql/*/bin.
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace switchyard::testing {

inline std::string find_pg_bin() {
  if (const char* env = std::getenv("SWITCHYARD_PG_BIN"); env && *env) return env;
  std::string best;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    auto bin = entry.path() / "bin";
    if (std::filesystem::exists(bin / "initdb") && bin.string() > best) best = bin.string();
  }
  return best;
}

inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class PgCluster {
 public:
  // Empty bin dir: PostgreSQL is not installed (tests skip, loudly).
  bool available() const { return !bin_.empty(); }
  const std::string& error() const { return error_; }

  bool start() {
    bin_ = find_pg_bin();
    if (bin_.empty()) {
      error_ = "PostgreSQL server binaries not found (install postgresql-15)";
      return false;
    }
    char tmpl[] = "/tmp/switchyard-pg-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      error_ = "mkdtemp failed";
      return false;
    }
    dir_ = tmpl;
    as_root_ = ::geteuid() == 0;
    if (as_root_) {
      if (::getpwnam("postgres") == nullptr) {
        error_ = "running as root but there is no 'postgres' user";
        return false;
      }
      run("chown postgres " + dir_);
    }
    port_ = free_port();
    if (!pg("initdb -D " + dir_ + "/data -A trust -U postgres --no-sync -E UTF8 >" + dir_ +
            "/initdb.log 2>&1")) {
      error_ = "initdb failed, see " + dir_ + "/initdb.log";
      return false;
    }
    return start_server();
  }

  bool start_server() {
    const std::string opts = "-p " + std::to_string(port_) + " -k " + dir_ +
                             " -c listen_addresses=127.0.0.1 -c fsync=off "
                             "-c synchronous_commit=off -c full_page_writes=off";
    if (!pg("pg_ctl -D " + dir_ + "/data -w -t 30 -l " + dir_ + "/server.log -o '" + opts +
            "' start >/dev/null")) {
      error_ = "pg_ctl start failed, see " + dir_ + "/server.log";
      return false;
    }
    return true;
  }

  bool stop_server(const char* mode = "fast") {
    return pg("pg_ctl -D " + dir_ + "/data -w -t 30 -m " + mode + " stop >/dev/null");
  }

  void destroy() {
    if (dir_.empty()) return;
    stop_server("immediate");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }

  // URL of a fresh, empty database.
  std::string create_database(const std::string& name) {
    pg("psql -h 127.0.0.1 -p " + std::to_string(port_) + " -U postgres -q -c 'CREATE DATABASE " +
       name + "' postgres >/dev/null");
    return url(name);
  }

  std::string url(const std::string& db) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }
  int port() const { return port_; }

 private:
  static bool run(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }
  bool pg(const std::string& cmd) {
    const std::string full = bin_ + "/" + cmd;
    if (as_root_) return run("runuser -u postgres -- sh -c \"" + full + "\"");
    return run(full);
  }

  std::string bin_;
  std::string dir_;
  std::string error_;
  bool as_root_ = false;
  int port_ = 0;
};

}  // namespace switchyard::testing
