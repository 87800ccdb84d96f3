#pragma once
// A throwaway redis-server for tests: started on a free port with no
// persistence in a temp dir, stopped (by its pid) at the end. Skips when
// redis-server is not installed ($SWITCHYARD_REDIS_SERVER overrides the path).
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "pg_cluster.h"  // free_port()

extern char** environ;

namespace switchyard::testing {

inline std::string find_redis_server() {
  if (const char* env = std::getenv("SWITCHYARD_REDIS_SERVER"); env && *env) return env;
  for (const char* path : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"}) {
    if (std::filesystem::exists(path)) return path;
  }
  return "";
}

class RedisServer {
 public:
  // Starts on a fresh port (or `port` when non-zero, for a restart).
  bool start(const std::string& password = "", int port = 0) {
    const std::string bin = find_redis_server();
    if (bin.empty()) return false;
    if (dir_.empty()) {
      char tmpl[] = "/tmp/switchyard-redis-XXXXXX";
      if (::mkdtemp(tmpl) == nullptr) return false;
      dir_ = tmpl;
    }
    port_ = port != 0 ? port : free_port();
    std::vector<std::string> args{
        bin,      "--port",    std::to_string(port_), "--bind", "127.0.0.1",
        "--save", "",          "--appendonly",        "no",     "--dir",
        dir_,     "--logfile", dir_ + "/redis.log"};
    if (!password.empty()) {
      args.emplace_back("--requirepass");
      args.push_back(password);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, bin.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
      return false;
    for (int i = 0; i < 200; ++i) {
      if (port_open()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  ~RedisServer() {
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  int port() const { return port_; }

 private:
  bool port_open() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  }
  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

}  // namespace switchyard::testing
