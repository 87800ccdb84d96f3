#include "store/redis_client.h"

namespace switchyard::store {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2000};
constexpr size_t kReadChunk = 16384;

// Plain functions: GCC 12 mishandles string literals in braced
// initialisers inside coroutines (docs/development.md).
Error redis_error(const std::string& why) {
  return Error::make(ErrorKind::kUnavailable, "Redis unavailable: " + why, "redis_unavailable");
}
std::string auth_command(const Secret& password) {
  std::string out;
  encode_command({"AUTH", password.reveal()}, out);
  return out;
}

}  // namespace

RedisClient::RedisClient(asio::any_io_executor executor, RedisOptions options, RedisStats& stats)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      stats_(stats),
      socket_(executor_),
      connect_timer_(executor_) {}

RedisClient::~RedisClient() {
  *alive_ = false;
  error_code ignored;
  socket_.close(ignored);
}

awaitable<Result<RedisClient::Replies>> RedisClient::exec(std::vector<Command> commands,
                                                          std::chrono::milliseconds timeout) {
  if (commands.empty()) co_return Replies{};
  if (state_ == State::kIdle) {
    if (Clock::now() < retry_at_) {
      stats_.unavailable.fetch_add(1, std::memory_order_relaxed);
      co_return redis_error("not connected (retrying shortly)");
    }
    start_connect();
  }
  stats_.commands.fetch_add(commands.size(), std::memory_order_relaxed);
  auto pending = std::make_shared<Pending>(executor_);
  pending->expected = commands.size();
  pending->replies.reserve(commands.size());
  for (const auto& command : commands) encode_command(command, out_);
  waiting_.push_back(pending);
  if (state_ == State::kConnected) kick_writer();
  pending->wake.expires_after(timeout);
  if (!pending->done) co_await pending->wake.async_wait(use_nothrow);
  if (!pending->done) {
    // No answer in time: the connection is behind or dead. Drop it rather
    // than let later calls queue behind a reply that may never come.
    stats_.timeouts.fetch_add(1, std::memory_order_relaxed);
    drop("timed out");
    co_return redis_error("timed out");
  }
  if (!pending->failure.empty()) co_return redis_error(pending->failure);
  co_return std::move(pending->replies);
}

void RedisClient::start_connect() {
  state_ = State::kConnecting;
  arm_connect_timer(generation_);
  asio::co_spawn(executor_, run(generation_), asio::detached);
}

void RedisClient::arm_connect_timer(uint64_t generation) {
  connect_timer_.expires_after(options_.connect_timeout);
  connect_timer_.async_wait([this, generation, alive = alive_](error_code ec) {
    if (ec || !*alive || generation != generation_ || state_ != State::kConnecting) return;
    stats_.connect_failures.fetch_add(1, std::memory_order_relaxed);
    drop("connect timed out");
  });
}

awaitable<void> RedisClient::run(uint64_t generation) {
  tcp::resolver resolver(executor_);
  auto [resolve_ec, results] =
      co_await resolver.async_resolve(options_.host, std::to_string(options_.port), use_nothrow);
  if (generation != generation_) co_return;
  if (resolve_ec) {
    stats_.connect_failures.fetch_add(1, std::memory_order_relaxed);
    drop("cannot resolve host");
    co_return;
  }
  auto [connect_ec, endpoint] = co_await asio::async_connect(socket_, results, use_nothrow);
  if (generation != generation_) co_return;
  if (connect_ec) {
    stats_.connect_failures.fetch_add(1, std::memory_order_relaxed);
    drop("cannot connect");
    co_return;
  }
  error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  std::string in;
  std::vector<char> chunk(kReadChunk);
  if (!options_.password.empty()) {
    // AUTH goes first, before any queued command, under the connect timer.
    const std::string auth = auth_command(options_.password);
    auto [write_ec, written] = co_await asio::async_write(socket_, asio::buffer(auth), use_nothrow);
    if (generation != generation_) co_return;
    if (write_ec) {
      drop("cannot authenticate");
      co_return;
    }
    RedisReply reply;
    size_t used = 0;
    for (;;) {
      auto [read_ec, n] = co_await socket_.async_read_some(asio::buffer(chunk), use_nothrow);
      if (generation != generation_) co_return;
      if (read_ec) {
        drop("cannot authenticate");
        co_return;
      }
      in.append(chunk.data(), n);
      const ParseStatus status = parse_reply(in, used, reply);
      if (status == ParseStatus::kIncomplete) continue;
      if (status == ParseStatus::kError || reply.is_error()) {
        stats_.connect_failures.fetch_add(1, std::memory_order_relaxed);
        drop("AUTH refused");
        co_return;
      }
      in.erase(0, used);
      break;
    }
  }
  connect_timer_.cancel();
  state_ = State::kConnected;
  backoff_ = std::chrono::milliseconds(0);
  stats_.connects.fetch_add(1, std::memory_order_relaxed);
  kick_writer();
  for (;;) {
    auto [read_ec, n] = co_await socket_.async_read_some(asio::buffer(chunk), use_nothrow);
    if (generation != generation_) co_return;
    if (read_ec) {
      drop("connection lost");
      co_return;
    }
    in.append(chunk.data(), n);
    size_t pos = 0;
    for (;;) {
      RedisReply reply;
      size_t used = 0;
      const ParseStatus status = parse_reply(std::string_view(in).substr(pos), used, reply);
      if (status == ParseStatus::kIncomplete) break;
      if (status == ParseStatus::kError || !deliver(std::move(reply))) {
        drop("protocol error");
        co_return;
      }
      pos += used;
    }
    in.erase(0, pos);
  }
}

bool RedisClient::deliver(RedisReply reply) {
  // Calls that timed out were failed by drop(), which also emptied the
  // queue, so the front is always the oldest call still waiting.
  if (waiting_.empty()) return false;
  Pending& front = *waiting_.front();
  front.replies.push_back(std::move(reply));
  if (front.replies.size() == front.expected) {
    front.done = true;
    front.wake.cancel();
    waiting_.pop_front();
  }
  return true;
}

void RedisClient::kick_writer() {
  if (writing_ || out_.empty() || state_ != State::kConnected) return;
  writing_ = true;
  asio::co_spawn(executor_, write_loop(generation_), asio::detached);
}

awaitable<void> RedisClient::write_loop(uint64_t generation) {
  while (generation == generation_ && !out_.empty()) {
    // Everything queued so far goes out in one write: concurrent requests
    // on this worker share the round trip.
    std::string batch;
    batch.swap(out_);
    auto [ec, written] = co_await asio::async_write(socket_, asio::buffer(batch), use_nothrow);
    if (generation != generation_) co_return;
    if (ec) {
      drop("write failed");
      co_return;
    }
  }
  if (generation == generation_) writing_ = false;
}

void RedisClient::drop(const std::string& why) {
  if (state_ == State::kConnected) stats_.disconnects.fetch_add(1, std::memory_order_relaxed);
  ++generation_;
  state_ = State::kIdle;
  error_code ignored;
  socket_.close(ignored);
  connect_timer_.cancel();
  out_.clear();
  writing_ = false;
  backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(kMaxBackoff, backoff_ * 2);
  retry_at_ = Clock::now() + backoff_;
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& pending : waiting) {
    if (pending->done) continue;
    pending->done = true;
    pending->failure = why;
    pending->wake.cancel();
  }
}

}  // namespace switchyard::store
