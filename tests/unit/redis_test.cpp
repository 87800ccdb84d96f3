// RESP encoding/parsing, and the asynchronous client against a real
// redis-server (started per test on a free port; skipped when not installed).
#include <gtest/gtest.h>

#include "redis_server.h"
#include "store/redis_client.h"
#include "store/redis_shared.h"
#include "store/resp.h"

namespace switchyard::store {
namespace {

TEST(Resp, EncodesCommandsAsBulkArrays) {
  std::string out;
  encode_command({"SET", "k", "a b\r\n"}, out);
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na b\r\n\r\n");
}

TEST(Resp, ParsesEachReplyType) {
  const std::string wire =
      "+OK\r\n-ERR bad\r\n:42\r\n$5\r\nhe\r\no\r\n$-1\r\n*2\r\n:1\r\n$1\r\nx\r\n";
  std::string_view in = wire;
  std::vector<RedisReply> replies;
  for (;;) {
    RedisReply r;
    size_t used = 0;
    auto status = parse_reply(in, used, r);
    if (status != ParseStatus::kDone) {
      EXPECT_EQ(status, ParseStatus::kIncomplete);
      break;
    }
    replies.push_back(std::move(r));
    in.remove_prefix(used);
  }
  ASSERT_EQ(replies.size(), 6u);
  EXPECT_EQ(replies[0].type, RedisReply::Type::kStatus);
  EXPECT_EQ(replies[0].str, "OK");
  EXPECT_TRUE(replies[1].is_error());
  EXPECT_EQ(replies[1].str, "ERR bad");
  EXPECT_EQ(replies[2].as_int(), 42);
  EXPECT_EQ(replies[3].str, "he\r\no");
  EXPECT_TRUE(replies[4].is_nil());
  EXPECT_EQ(replies[4].as_int(), 0);
  ASSERT_EQ(replies[5].elements.size(), 2u);
  EXPECT_EQ(replies[5].elements[0].as_int(), 1);
  EXPECT_EQ(replies[5].elements[1].str, "x");
}

TEST(Resp, EveryPrefixOfAReplyIsIncomplete) {
  const std::string wire = "*2\r\n$3\r\nabc\r\n:7\r\n";
  for (size_t n = 0; n < wire.size(); ++n) {
    RedisReply r;
    size_t used = 0;
    EXPECT_EQ(parse_reply(std::string_view(wire).substr(0, n), used, r), ParseStatus::kIncomplete)
        << n;
  }
  RedisReply r;
  size_t used = 0;
  EXPECT_EQ(parse_reply(wire, used, r), ParseStatus::kDone);
  EXPECT_EQ(used, wire.size());
}

TEST(Resp, RejectsGarbage) {
  for (std::string bad : {"?x\r\n", ":12a\r\n", "$3\r\nabcd\r\n", "$-5\r\n", "*-7\r\n"}) {
    RedisReply r;
    size_t used = 0;
    EXPECT_EQ(parse_reply(bad, used, r), ParseStatus::kError) << bad;
  }
  // Deep nesting is refused, not recursed into.
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  RedisReply r;
  size_t used = 0;
  EXPECT_EQ(parse_reply(deep, used, r), ParseStatus::kError);
}

// Runs `body` as a coroutine on a fresh io_context until it finishes.
template <typename F>
void run_coro(asio::io_context& io, F body) {
  bool done = false;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    done = true;
    if (e) std::rethrow_exception(e);
  });
  while (!done && io.run_one() > 0) {
  }
  ASSERT_TRUE(done);
}

RedisOptions options_for(int port, const std::string& password = "") {
  RedisOptions o;
  o.host = "127.0.0.1";
  o.port = static_cast<uint16_t>(port);
  o.password = Secret(password);
  return o;
}

// Commands are built by plain functions: GCC 12 rejects braced string
// literals inside coroutines ("array used as initializer").
template <typename... A>
std::vector<RedisClient::Command> one(A... args) {
  return {RedisClient::Command{std::string(args)...}};
}
std::vector<RedisClient::Command> mixed_batch() {
  return {{"SET", "k", "v", "PX", "60000"},
          {"GET", "k"},
          {"INCRBY", "n", "5"},
          {"INCRBY", "n", "2"},
          {"GET", "missing"},
          {"SET", "short", "x", "PX", "30"}};
}
std::vector<RedisClient::Command> set_get(const std::string& key, const std::string& value) {
  return {{"SET", key, value}, {"GET", key}};
}

TEST(RedisClient, SetGetIncrAndExpiry) {
  testing::RedisServer server;
  if (!server.start()) GTEST_SKIP() << "redis-server not installed";
  asio::io_context io;
  RedisStats stats;
  RedisClient client(io.get_executor(), options_for(server.port()), stats);
  run_coro(io, [&]() -> awaitable<void> {
    auto r = co_await client.exec(mixed_batch());
    EXPECT_TRUE(r.ok());
    if (!r.ok()) co_return;
    EXPECT_EQ((*r)[0].str, "OK");
    EXPECT_EQ((*r)[1].str, "v");
    EXPECT_EQ((*r)[2].as_int(), 5);
    EXPECT_EQ((*r)[3].as_int(), 7);
    EXPECT_TRUE((*r)[4].is_nil());
    asio::steady_timer t(io, std::chrono::milliseconds(80));
    co_await t.async_wait(use_nothrow);
    auto gone = co_await client.exec(one("GET", "short"));
    EXPECT_TRUE(gone.ok() && (*gone)[0].is_nil());
    // An error reply is a reply, not a failure of the call.
    auto wrong = co_await client.exec(one("INCRBY", "k", "1"));
    EXPECT_TRUE(wrong.ok() && (*wrong)[0].is_error());
  });
  EXPECT_EQ(stats.connects.load(), 1u);
}

TEST(RedisClient, ConcurrentCallsShareTheConnectionInOrder) {
  testing::RedisServer server;
  if (!server.start()) GTEST_SKIP() << "redis-server not installed";
  asio::io_context io;
  RedisStats stats;
  RedisClient client(io.get_executor(), options_for(server.port()), stats);
  int finished = 0;
  int wrong = 0;
  for (int i = 0; i < 200; ++i) {
    asio::co_spawn(
        io,
        [&client, &finished, &wrong, i]() -> awaitable<void> {
          auto key = "key" + std::to_string(i);
          auto r = co_await client.exec(set_get(key, std::to_string(i)));
          if (!r.ok() || (*r)[1].str != std::to_string(i)) ++wrong;
          ++finished;
        },
        asio::detached);
  }
  while (finished < 200 && io.run_one() > 0) {
  }
  EXPECT_EQ(finished, 200);
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(stats.connects.load(), 1u);
}

TEST(RedisClient, AuthenticatesWithAPassword) {
  testing::RedisServer server;
  if (!server.start("s3cret-pw")) GTEST_SKIP() << "redis-server not installed";
  asio::io_context io;
  RedisStats stats;
  RedisClient good(io.get_executor(), options_for(server.port(), "s3cret-pw"), stats);
  RedisClient bad(io.get_executor(), options_for(server.port(), "wrong"), stats);
  run_coro(io, [&]() -> awaitable<void> {
    auto ok = co_await good.exec(one("PING"));
    EXPECT_TRUE(ok.ok() && (*ok)[0].str == "PONG");
    auto refused = co_await bad.exec(one("PING"));
    EXPECT_FALSE(refused.ok());
  });
  EXPECT_EQ(stats.connect_failures.load(), 1u);
}

TEST(RedisClient, FailsFastWhileDownAndReconnectsAfterRestart) {
  testing::RedisServer server;
  if (!server.start()) GTEST_SKIP() << "redis-server not installed";
  const int port = server.port();
  asio::io_context io;
  RedisStats stats;
  RedisClient client(io.get_executor(), options_for(port), stats);
  run_coro(io, [&]() -> awaitable<void> {
    auto r = co_await client.exec(one("SET", "a", "1"));
    EXPECT_TRUE(r.ok());
    server.stop();
    auto lost = co_await client.exec(one("GET", "a"));
    EXPECT_FALSE(lost.ok());
    // Within the backoff, calls fail at once without touching the network.
    const auto t0 = Clock::now();
    auto fast = co_await client.exec(one("GET", "a"));
    EXPECT_FALSE(fast.ok());
    EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(5));
    EXPECT_GE(stats.unavailable.load(), 1u);
    EXPECT_TRUE(server.start("", port));
    bool back = false;
    for (int i = 0; i < 60 && !back; ++i) {
      asio::steady_timer t(io, std::chrono::milliseconds(50));
      co_await t.async_wait(use_nothrow);
      auto again = co_await client.exec(one("PING"));
      back = again.ok();
    }
    EXPECT_TRUE(back);
  });
  EXPECT_EQ(stats.connects.load(), 2u);
}

TEST(RedisClient, TimesOutOnAServerThatNeverAnswers) {
  // A listener that accepts and never replies.
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket peer(io);
  acceptor.async_accept(peer, [](error_code) {});
  RedisStats stats;
  auto options = options_for(acceptor.local_endpoint().port());
  RedisClient client(io.get_executor(), options, stats);
  run_coro(io, [&]() -> awaitable<void> {
    const auto t0 = Clock::now();
    auto r = co_await client.exec(one("PING"), std::chrono::milliseconds(100));
    const auto took = Clock::now() - t0;
    EXPECT_FALSE(r.ok());
    EXPECT_GE(took, std::chrono::milliseconds(95));
    EXPECT_LT(took, std::chrono::milliseconds(500));
  });
  EXPECT_EQ(stats.timeouts.load(), 1u);
}

}  // namespace
}  // namespace switchyard::store

namespace switchyard::store {
namespace {

// Shared windows: two clients (two replicas) count into the same window.
TEST(RedisCounters, TwoClientsShareAWindowAndMeasureTheRoundTrip) {
  testing::RedisServer server;
  if (!server.start()) GTEST_SKIP() << "redis-server not installed";
  asio::io_context io;
  RedisStats stats;
  RedisClient a(io.get_executor(), options_for(server.port()), stats);
  RedisClient b(io.get_executor(), options_for(server.port()), stats);
  const std::string key = window_key("rpm:test", 1700000000);
  run_coro(io, [&]() -> awaitable<void> {
    std::vector<CounterOp> add_one{{key, 1}};
    auto r1 = co_await redis_window_counters(a, add_one);
    auto r2 = co_await redis_window_counters(b, add_one);
    std::vector<CounterOp> read{{key, 0}};
    auto r3 = co_await redis_window_counters(a, read);
    EXPECT_TRUE(r1.ok() && r2.ok() && r3.ok());
    if (!r3.ok()) co_return;
    EXPECT_EQ((*r1)[0], 1);
    EXPECT_EQ((*r2)[0], 2);
    EXPECT_EQ((*r3)[0], 2);
    // The request-path cost: one pipelined INCRBY+EXPIRE+GET round trip.
    std::vector<CounterOp> check{{key, 1}, {window_key("tpm:test", 1700000000), 0}};
    const int n = 2000;
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) co_await redis_window_counters(a, check);
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / n;
    std::printf("[ measure ] rate-limit check (INCRBY+EXPIRE+GET, pipelined): %.1f us\n", us);
    EXPECT_LT(us, 5000);
  });
}

}  // namespace
}  // namespace switchyard::store
