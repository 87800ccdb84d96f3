#pragma once
// Socket I/O that tries the operation at once and only falls back to an
// asynchronous operation (with its timeout) when the socket cannot take or
// give the bytes now. Under load, a response fits the send buffer and the
// next message has usually arrived by the time it is read, so a
// beast::tcp_stream operation per read and write, each arming and cancelling
// an Asio timer, was mostly machinery around a syscall that would have
// succeeded anyway (callgrind, docs/benchmarks.md).
//
// The sockets must be in user non-blocking mode (socket.non_blocking(true)),
// so the synchronous calls below return would_block instead of waiting.
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/read_size.hpp>

#include "core/asio.h"

namespace switchyard {

inline bool would_block(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

// Appends what the socket has now to `buffer`. False when nothing was read:
// nothing there yet, or EOF / an error, which the asynchronous read that
// follows sees again and reports as usual.
inline bool read_now(tcp::socket& socket, beast::flat_buffer& buffer) {
  error_code ec;
  const size_t n = socket.read_some(buffer.prepare(beast::read_size(buffer, 65536)), ec);
  if (ec || n == 0) return false;
  buffer.commit(n);
  return true;
}

// Feeds buffered bytes to `parser`, as Beast's read operations do before they
// read more. Stops when the message (or, with `header_only`, its header) is
// complete or more bytes are needed; a full body buffer (buffer_body) is not
// an error either. Returns the parse error, if any.
template <bool isRequest>
error_code parse_buffered(http::basic_parser<isRequest>& parser, beast::flat_buffer& buffer,
                          bool header_only) {
  error_code ec;
  while (buffer.size() > 0 && !parser.is_done() && !(header_only && parser.is_header_done())) {
    const size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more || ec == http::error::need_buffer) return {};
    if (ec || used == 0) break;
  }
  return ec;
}

// Writes all of `buffers`: first without waiting; if the socket does not take
// everything, `before_wait()` runs (arm the stream's timeout, start watching
// for a hang-up, ...) and the rest goes through an asynchronous write. After
// a write that completed at once the coroutine still yields once, so other
// connections run before it continues, as after an asynchronous completion.
template <class Buffers, class BeforeWait>
awaitable<error_code> write_now_or_wait(beast::tcp_stream& stream, Buffers buffers,
                                        BeforeWait before_wait) {
  error_code ec;
  const size_t total = asio::buffer_size(buffers);
  size_t sent = stream.socket().write_some(buffers, ec);
  if (would_block(ec)) {
    ec = {};
    sent = 0;
  }
  if (ec) co_return ec;
  if (sent == total) {
    co_await asio::post(stream.get_executor(), asio::use_awaitable);
    co_return ec;
  }
  before_wait();
  beast::buffers_suffix<Buffers> rest(buffers);
  rest.consume(sent);
  auto [write_ec, n] = co_await asio::async_write(stream, rest, use_nothrow);
  co_return write_ec;
}

}  // namespace switchyard
