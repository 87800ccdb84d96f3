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

// Writes what the socket takes now of `buffers`; returns the bytes written.
// `ec` is set only for a real error (not for would_block).
template <class Buffers>
size_t write_now(tcp::socket& socket, const Buffers& buffers, error_code& ec) {
  size_t sent = socket.write_some(buffers, ec);
  if (would_block(ec)) {
    ec = {};
    sent = 0;
  }
  return sent;
}

// The rest of `buffers` after the first `sent` bytes, asynchronously.
template <class Buffers>
awaitable<error_code> write_rest(beast::tcp_stream& stream, const Buffers& buffers, size_t sent) {
  beast::buffers_suffix<Buffers> rest(buffers);
  rest.consume(sent);
  auto [ec, n] = co_await asio::async_write(stream, rest, use_nothrow);
  co_return ec;
}

// Yields to the other handlers queued on the executor, as an asynchronous
// completion would: after a write that completed at once, so other
// connections run before this one goes on (and the upstream's answer is
// usually there by the time it is read).
inline awaitable<void> yield_once(beast::tcp_stream& stream) {
  return asio::post(stream.get_executor(), asio::use_awaitable);
}

// Writes all of `buffers`: first without waiting; if the socket does not take
// everything, `before_wait()` runs (arm the stream's timeout, start watching
// for a hang-up, ...) and the rest goes through an asynchronous write. Either
// way the caller is suspended once. The client and upstream write paths both
// use it.
template <class Buffers, class BeforeWait>
awaitable<error_code> write_now_or_wait(beast::tcp_stream& stream, Buffers buffers,
                                        BeforeWait before_wait) {
  error_code ec;
  const size_t sent = write_now(stream.socket(), buffers, ec);
  if (ec) co_return ec;
  if (sent == asio::buffer_size(buffers)) {
    co_await yield_once(stream);
    co_return ec;
  }
  before_wait();
  co_return co_await write_rest(stream, buffers, sent);
}

}  // namespace switchyard
