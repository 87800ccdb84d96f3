#pragma once
// Writes HTTP/1.1 responses to one client socket: whole responses with
// Content-Length, or chunked SSE streams written piece by piece as they
// arrive. Owned by the session coroutine; one worker thread.
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
  awaitable<bool> begin_stream(int status, const HeaderList& headers, bool keep_alive);
  awaitable<bool> stream_chunk(std::string_view data);
  awaitable<bool> end_stream();

  bool streaming() const { return streaming_; }
  bool failed() const { return failed_; }
  tcp::socket& socket() { return stream_.socket(); }

 private:
  void append_head(std::string& out, int status, const HeaderList& headers, bool keep_alive);
  beast::tcp_stream& stream_;
  bool streaming_ = false;
  bool failed_ = false;
  std::string scratch_;
};

// Waits until the client closes its side (or resets) while a request is
// being answered; returns then. Pipelined bytes are not treated as a close.
awaitable<void> wait_for_client_close(tcp::socket& socket);

}  // namespace switchyard
