#pragma once
// HTTP/1.1 client for upstream providers: one ConnectionPool per worker thread
// (no locking: only that thread's io_context touches it), keep-alive reuse per
// host, TLS verified against the system store with SNI, connect and
// per-operation deadlines. An UpstreamCall owns one connection for the length
// of one request and gives the body back piece by piece so streams are never
// buffered whole.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/asio.h"
#include "core/error.h"

namespace switchyard {

struct UpstreamEndpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string base_path;  // without trailing slash, e.g. "/v1"
  std::string pool_key() const { return (tls ? "https://" : "http://") + host + ":" + port; }
  // Host header value: the port only when it is not the scheme's default.
  std::string host_header() const {
    const bool default_port = (tls && port == "443") || (!tls && port == "80");
    return default_port ? host : host + ":" + port;
  }
};

// Parses api_base ("https://api.openai.com/v1").
Result<UpstreamEndpoint> parse_endpoint(const std::string& url);

class UpstreamConnection;

class ConnectionPool {
 public:
  ConnectionPool(asio::io_context& io, ssl::context& tls, std::chrono::milliseconds connect_timeout,
                 size_t max_idle_per_host);
  ~ConnectionPool();

  // A kept-alive idle connection to `endpoint`, or a newly connected one
  // (`before_connect` runs first, if set).
  awaitable<Result<std::unique_ptr<UpstreamConnection>>> acquire(
      const UpstreamEndpoint& endpoint, Clock::time_point deadline, bool allow_reuse,
      const std::function<void()>& before_connect = {});
  // Returns a connection whose last response was read completely.
  void release(std::unique_ptr<UpstreamConnection> connection);
  size_t idle_count() const;

 private:
  asio::io_context& io_;
  ssl::context& tls_;
  std::chrono::milliseconds connect_timeout_;
  size_t max_idle_per_host_;
  tcp::resolver resolver_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
};

struct UpstreamRequest {
  http::verb method = http::verb::post;
  std::string target;  // path + query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The request line and header block of `request` for `host_header`, ending
// with the blank line: what Beast wrote for a message built with
// `set(name, value)` per header, `prepare_payload()` and `keep_alive(true)`,
// built directly (Beast's serializer walked a buffer sequence of one entry
// per header on every write step: ~18k instructions per request, callgrind).
// A later header replaces an earlier one of the same name (case-insensitive)
// and `host_header` is the default Host. Framing and connection management
// are the client's: caller-supplied content-length, transfer-encoding and
// connection headers are dropped, and headers containing CR or LF are
// skipped rather than allowed to split the head.
void append_request_head(std::string& out, const UpstreamRequest& request,
                         std::string_view host_header);

enum class UpstreamFailure { kNone, kConnect, kReset, kTimeout, kInvalid, kCancelled };
const char* upstream_failure_name(UpstreamFailure failure);

// One request/response exchange on one pooled connection.
class UpstreamCall {
 public:
  UpstreamCall(ConnectionPool& pool, UpstreamEndpoint endpoint);
  ~UpstreamCall();

  // Sends the request and reads the response head. Retries once on a fresh
  // connection when a reused keep-alive connection turns out to be dead.
  awaitable<UpstreamFailure> start(const UpstreamRequest& request, Clock::time_point deadline);

  int status() const;
  std::string header(std::string_view name) const;
  bool body_done() const;

  // Appends the next piece of body to `out`; kNone with body_done() at the end.
  awaitable<UpstreamFailure> read_some(std::string& out, Clock::time_point deadline);
  // Reads the rest of the body (bounded by `limit` bytes).
  awaitable<UpstreamFailure> read_all(std::string& out, Clock::time_point deadline, size_t limit);

  // Runs `hook` whenever the call is about to wait for the upstream (connect,
  // a write the socket cannot take at once, a read of bytes not there yet);
  // not when everything is already at hand. The hook must be idempotent.
  void before_wait(std::function<void()> hook) { before_wait_ = std::move(hook); }

  // Aborts the exchange (client went away): closes the socket, so the
  // upstream sees the request cancelled and any pending operation ends.
  void cancel();
  // Hands the connection back to the pool if the response ended cleanly.
  void finish();

 private:
  awaitable<UpstreamFailure> attempt(const UpstreamRequest& request, Clock::time_point deadline,
                                     bool allow_reuse, bool& was_reused, bool& sent_any);
  ConnectionPool& pool_;
  UpstreamEndpoint endpoint_;
  std::unique_ptr<UpstreamConnection> connection_;
  // How much room the next body read gets (body bytes go straight into the
  // caller's string).
  size_t body_piece_size() const;
  std::unique_ptr<http::response_parser<http::buffer_body>> parser_;
  std::string head_;  // the serialised request head (and body, over TLS)
  std::function<void()> before_wait_;
  void about_to_wait(Clock::time_point deadline);
  bool cancelled_ = false;
};

// Builds the TLS context used for upstream calls: system trust store, peer
// verification on.
std::unique_ptr<ssl::context> make_client_tls_context();

}  // namespace switchyard
