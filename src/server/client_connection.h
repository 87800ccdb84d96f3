#pragma once
// Writes HTTP/1.1 responses to one client socket: whole responses with
// Content-Length, or chunked SSE streams written piece by piece as they
// arrive. Owned by the session coroutine; one worker thread.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/asio.h"

namespace switchyard {

using HeaderList = std::vector<std::pair<std::string_view, std::string>>;

class ClientConnection {
 public:
  explicit ClientConnection(beast::tcp_stream& stream) : stream_(stream) {}

  // false when the client is gone.
  awaitable<bool> send(int status, std::string_view content_type, std::string_view body,
                       const HeaderList& headers, bool keep_alive);
  // The response head, and `first_chunk` (if any) in the same write: one
  // syscall and one segment less before the client sees its first token.
  awaitable<bool> begin_stream(int status, const HeaderList& headers, bool keep_alive,
                               std::string_view first_chunk = {});
  awaitable<bool> stream_chunk(std::string_view data);
  awaitable<bool> end_stream();

  bool streaming() const { return streaming_; }
  bool failed() const { return failed_; }
  tcp::socket& socket() { return stream_.socket(); }

 private:
  template <class Buffers>
  awaitable<bool> write(const Buffers& buffers);
  void append_head(std::string& out, int status, const HeaderList& headers, bool keep_alive);
  beast::tcp_stream& stream_;
  bool streaming_ = false;
  bool failed_ = false;
  std::string scratch_;
};

// Watches a client socket for a hang-up while its request is answered and
// calls `on_hangup` once if the client closes or resets the connection before
// the watch is destroyed. Pipelined bytes are not a hang-up (watching stops).
// A callback on the reactor rather than a coroutine raced against the answer
// with `||`: that race cost ~10k instructions per request (two spawned
// coroutine frames and their cancellation slots; callgrind).
//
// The watch starts only when arm() is called, by whoever is about to wait
// (an upstream read that has to wait, a retry pause, a mock delay): arming
// is an async_wait that Asio registers with EPOLL_CTL_MOD, one syscall, and
// under load most answers arrive without any such wait. A hang-up before
// arm() is still seen once armed (the re-registration reports the pending
// end of stream).
class ClientHangupWatch {
 public:
  struct State;
  ClientHangupWatch(tcp::socket& socket, std::function<void()> on_hangup);
  ~ClientHangupWatch();
  ClientHangupWatch(const ClientHangupWatch&) = delete;
  ClientHangupWatch& operator=(const ClientHangupWatch&) = delete;

  void arm();  // starts watching; no-op when already armed

 private:
  tcp::socket& socket_;
  std::function<void()> on_hangup_;
  std::shared_ptr<State> state_;
};

}  // namespace switchyard
