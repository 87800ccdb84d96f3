#include "server/client_connection.h"

#include <sys/socket.h>

#include <charconv>
#include <chrono>

#include "core/try_io.h"

namespace switchyard {
namespace {
// A client that stops reading for this long is treated as gone.
constexpr auto kClientWriteTimeout = std::chrono::seconds(60);

// The "<hex size>\r\n" line that opens a chunk of `size` bytes, in `line`.
std::string_view chunk_size_line(char (&line)[24], size_t size) {
  const int len = std::snprintf(line, sizeof line, "%zx\r\n", size);
  return {line, static_cast<size_t>(len)};
}
}  // namespace

// Tried at once first; the write timeout is armed only if the client's socket
// cannot take the bytes now (core/try_io.h).
template <class Buffers>
awaitable<bool> ClientConnection::write(const Buffers& buffers) {
  bool waited = false;
  const error_code ec = co_await write_now_or_wait(stream_, buffers, [&] {
    waited = true;
    stream_.expires_after(kClientWriteTimeout);
  });
  if (waited) stream_.expires_never();
  if (ec) failed_ = true;
  co_return !ec;
}

void ClientConnection::append_head(std::string& out, int status, const HeaderList& headers,
                                   bool keep_alive) {
  // Appends of known length (no strlen per piece), room reserved once.
  const std::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
  size_t size = 48 + reason.size();
  for (const auto& [name, value] : headers) size += name.size() + value.size() + 4;
  out.reserve(out.size() + size);
  char code[16];
  const auto code_end = std::to_chars(code, code + sizeof code, status).ptr;
  out.append("HTTP/1.1 ", 9).append(code, static_cast<size_t>(code_end - code)).append(" ", 1);
  out.append(reason).append("\r\n", 2);
  for (const auto& [name, value] : headers) {
    out.append(name).append(": ", 2).append(value).append("\r\n", 2);
  }
  if (!keep_alive) out.append("connection: close\r\n", 19);
}

awaitable<bool> ClientConnection::send(int status, std::string_view content_type,
                                       std::string_view body, const HeaderList& headers,
                                       bool keep_alive) {
  scratch_.clear();
  append_head(scratch_, status, headers, keep_alive);
  char length[24];
  const auto length_end = std::to_chars(length, length + sizeof length, body.size()).ptr;
  scratch_.append("content-type: ", 14).append(content_type);
  scratch_.append("\r\ncontent-length: ", 18);
  scratch_.append(length, static_cast<size_t>(length_end - length)).append("\r\n\r\n", 4);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(scratch_), asio::buffer(body)};
  co_return co_await write(buffers);
}

awaitable<bool> ClientConnection::begin_stream(int status, const HeaderList& headers,
                                               bool keep_alive, std::string_view first_chunk) {
  scratch_.clear();
  append_head(scratch_, status, headers, keep_alive);
  scratch_ +=
      "content-type: text/event-stream\r\ncache-control: no-cache\r\n"
      "x-accel-buffering: no\r\ntransfer-encoding: chunked\r\n\r\n";
  streaming_ = true;
  if (first_chunk.empty()) co_return co_await write(asio::buffer(scratch_));
  char size_line[24];
  scratch_.append(chunk_size_line(size_line, first_chunk.size()));
  std::array<asio::const_buffer, 3> buffers{asio::buffer(scratch_), asio::buffer(first_chunk),
                                            asio::buffer("\r\n", 2)};
  co_return co_await write(buffers);
}

awaitable<bool> ClientConnection::stream_chunk(std::string_view data) {
  if (data.empty()) co_return !failed_;
  if (failed_) co_return false;
  char size_line[24];
  std::array<asio::const_buffer, 3> buffers{asio::buffer(chunk_size_line(size_line, data.size())),
                                            asio::buffer(data), asio::buffer("\r\n", 2)};
  co_return co_await write(buffers);
}

awaitable<bool> ClientConnection::end_stream() {
  if (failed_) co_return false;
  const bool ok = co_await write(asio::buffer("0\r\n\r\n", 5));
  streaming_ = false;
  co_return ok;
}

struct ClientHangupWatch::State {
  tcp::socket& socket;
  std::function<void()> on_hangup;
  bool active = true;  // false once the watch is destroyed or has fired
};

namespace {

void arm_hangup_watch(std::shared_ptr<ClientHangupWatch::State> state) {
  tcp::socket& socket = state->socket;
  socket.async_wait(tcp::socket::wait_read, [state = std::move(state)](const error_code& ec) {
    // Cancelled because the answer finished first, or finished meanwhile:
    // the socket may be gone, so touch nothing.
    if (ec || !state->active) return;
    char probe;
    const ssize_t n = ::recv(state->socket.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return;  // the client pipelined its next request: still there
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      arm_hangup_watch(state);  // spurious wake-up
      return;
    }
    state->active = false;  // orderly close (0) or reset (< 0)
    state->on_hangup();
  });
}

}  // namespace

ClientHangupWatch::ClientHangupWatch(tcp::socket& socket, std::function<void()> on_hangup)
    : socket_(socket), on_hangup_(std::move(on_hangup)) {}

void ClientHangupWatch::arm() {
  if (state_) return;
  state_ = std::make_shared<State>(State{socket_, std::move(on_hangup_)});
  arm_hangup_watch(state_);
}

ClientHangupWatch::~ClientHangupWatch() {
  if (!state_ || !state_->active) return;
  state_->active = false;
  // Nothing else is pending on the socket between requests, so this only
  // withdraws the watch (its handler then runs with operation_aborted).
  error_code ignored;
  state_->socket.cancel(ignored);
}

}  // namespace switchyard
