// core/try_io.h: reads and writes tried at once, with the asynchronous
// fallback (and its before_wait hook) only when the socket cannot do it now.
#include "core/try_io.h"

#include <gtest/gtest.h>

#include <string>

using namespace switchyard;

namespace {

// A connected loopback pair, both ends in user non-blocking mode.
struct SocketPair {
  asio::io_context io;
  tcp::socket a{io};
  tcp::socket b{io};
  SocketPair() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    a.connect(acceptor.local_endpoint());
    acceptor.accept(b);
    a.non_blocking(true);
    b.non_blocking(true);
  }
};

}  // namespace

TEST(TryIo, ReadNowTakesWhatHasArrivedAndNeverWaits) {
  SocketPair p;
  beast::flat_buffer buffer;
  EXPECT_FALSE(read_now(p.b, buffer));  // nothing sent yet: would block, returns at once
  asio::write(p.a, asio::buffer(std::string("hello")));
  // Loopback delivery is immediate, but allow the kernel a moment.
  for (int i = 0; i < 100 && buffer.size() == 0; ++i) read_now(p.b, buffer);
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "hello");
  p.a.shutdown(tcp::socket::shutdown_send);
  bool read = true;
  for (int i = 0; i < 100 && read; ++i) read = read_now(p.b, buffer);  // EOF: nothing appended
  EXPECT_FALSE(read);
  EXPECT_EQ(buffer.size(), 5u);
}

TEST(TryIo, ParseBufferedStopsWhereMoreBytesAreNeeded) {
  const std::string first =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab";
  beast::flat_buffer buffer;
  auto put = [&](const std::string& s) {
    auto dst = buffer.prepare(s.size());
    std::memcpy(dst.data(), s.data(), s.size());
    buffer.commit(s.size());
  };
  http::request_parser<http::string_body> parser;
  put(first);
  EXPECT_FALSE(parse_buffered(parser, buffer, false));
  EXPECT_TRUE(parser.is_header_done());
  EXPECT_FALSE(parser.is_done());
  EXPECT_EQ(buffer.size(), 0u);
  // The rest of the body plus a pipelined second request: only the first
  // message is consumed.
  put("cdeGET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_FALSE(parse_buffered(parser, buffer, false));
  ASSERT_TRUE(parser.is_done());
  EXPECT_EQ(parser.get().body(), "abcde");
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");

  // header_only leaves the body in the buffer.
  http::response_parser<http::buffer_body> response;
  beast::flat_buffer answer;
  const std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody";
  auto dst = answer.prepare(wire.size());
  std::memcpy(dst.data(), wire.data(), wire.size());
  answer.commit(wire.size());
  EXPECT_FALSE(parse_buffered(response, answer, true));
  EXPECT_TRUE(response.is_header_done());
  EXPECT_EQ(beast::buffers_to_string(answer.data()), "body");

  // Bytes that are not HTTP are an error.
  http::request_parser<http::string_body> bad;
  beast::flat_buffer junk;
  const std::string garbage = "NOT HTTP AT ALL\r\n\r\n";
  auto jd = junk.prepare(garbage.size());
  std::memcpy(jd.data(), garbage.data(), garbage.size());
  junk.commit(garbage.size());
  EXPECT_TRUE(parse_buffered(bad, junk, false));
}

TEST(TryIo, WriteThatFitsCompletesWithoutTheWaitHook) {
  SocketPair p;
  beast::tcp_stream stream(std::move(p.a));
  int waits = 0;
  error_code result = asio::error::fault;
  asio::co_spawn(
      p.io,
      [&]() -> awaitable<void> {
        result = co_await write_now_or_wait(stream, asio::buffer(std::string_view("small")),
                                            [&] { ++waits; });
      },
      asio::detached);
  p.io.run();
  EXPECT_FALSE(result);
  EXPECT_EQ(waits, 0);
  std::string got(5, '\0');
  asio::read(p.b, asio::buffer(got));
  EXPECT_EQ(got, "small");
}

TEST(TryIo, WriteTheSocketCannotTakeCallsTheHookAndFinishesAsynchronously) {
  SocketPair p;
  beast::tcp_stream stream(std::move(p.a));
  const std::string big(size_t{16} * 1024 * 1024, 'x');  // more than the socket buffers hold
  int waits = 0;
  error_code result = asio::error::fault;
  size_t received = 0;
  asio::co_spawn(
      p.io,
      [&]() -> awaitable<void> {
        result = co_await write_now_or_wait(stream, asio::buffer(big), [&] { ++waits; });
      },
      asio::detached);
  // The reader drains the other end while the write is pending.
  std::array<char, 65536> sink;
  std::function<void()> read_more = [&] {
    p.b.async_read_some(asio::buffer(sink), [&](const error_code& ec, size_t n) {
      received += n;
      if (!ec && received < big.size()) read_more();
    });
  };
  read_more();
  p.io.run();
  EXPECT_FALSE(result) << result.message();
  EXPECT_EQ(waits, 1);
  EXPECT_EQ(received, big.size());
}
