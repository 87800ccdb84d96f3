#pragma once
// A small asynchronous Redis client on Boost.Asio (RESP2 over one TCP
// connection), used for shared rate-limit counters, the response cache and
// the readiness ping.
//
// Ownership and threads: one RedisClient per worker thread, owned by the
// Worker and used only from that worker's io_context (no locks). Commands
// from concurrent requests on the worker share the connection: each batch
// is appended to one output buffer and written together (pipelining); the
// replies come back in order and are handed to the waiting coroutines.
//
// Failure handling: every call has a deadline. A timeout or an I/O error
// drops the connection (a stream that missed a reply cannot be trusted) and
// fails every waiting call; the next connect is attempted after a backoff
// (100 ms doubling to 2 s), and until then calls fail at once, so a dead
// Redis costs a request nothing but a branch. Callers decide what failure
// means (fail open or closed).
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/asio.h"
#include "core/error.h"
#include "core/secret.h"
#include "store/resp.h"

namespace switchyard::store {

struct RedisOptions {
  std::string host;  // empty: no Redis
  uint16_t port = 6379;
  Secret password;
  std::chrono::milliseconds connect_timeout{500};
  std::chrono::milliseconds command_timeout{250};
  bool configured() const { return !host.empty(); }
};

// Process-wide counters (all workers' clients add to them).
struct RedisStats {
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> unavailable{0};  // refused at once: down, in backoff
  std::atomic<uint64_t> disconnects{0};
};

class RedisClient {
 public:
  using Command = std::vector<std::string>;
  using Replies = std::vector<RedisReply>;

  RedisClient(asio::any_io_executor executor, RedisOptions options, RedisStats& stats);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends `commands` as one pipelined batch and returns their replies in
  // order (a Redis error reply is a reply, not a failure). Fails when not
  // connected within the backoff, on timeout, or when the connection drops.
  awaitable<Result<Replies>> exec(std::vector<Command> commands, std::chrono::milliseconds timeout);
  awaitable<Result<Replies>> exec(std::vector<Command> commands) {
    return exec(std::move(commands), options_.command_timeout);
  }
  bool connected() const { return state_ == State::kConnected; }
  const RedisOptions& options() const { return options_; }

 private:
  enum class State { kIdle, kConnecting, kConnected };
  struct Pending {
    explicit Pending(const asio::any_io_executor& executor) : wake(executor) {}
    size_t expected = 0;
    Replies replies;
    bool done = false;
    std::string failure;  // non-empty: failed
    asio::steady_timer wake;
  };

  void start_connect();
  awaitable<void> run(uint64_t generation);
  awaitable<void> write_loop(uint64_t generation);
  void kick_writer();
  void arm_connect_timer(uint64_t generation);
  // Closes the connection, fails every waiting call, schedules the retry.
  void drop(const std::string& why);
  bool deliver(RedisReply reply);  // false: a reply nobody asked for

  asio::any_io_executor executor_;
  RedisOptions options_;
  RedisStats& stats_;
  tcp::socket socket_;
  asio::steady_timer connect_timer_;
  State state_ = State::kIdle;
  uint64_t generation_ = 0;
  Clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  std::string out_;  // commands not yet written
  bool writing_ = false;
  std::deque<std::shared_ptr<Pending>> waiting_;  // in reply order
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace switchyard::store
