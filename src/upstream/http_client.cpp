#include "upstream/http_client.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <charconv>

#include "core/http_fields.h"
#include "core/read_buffer.h"
#include "core/try_io.h"
#include "telemetry/log.h"

namespace switchyard {

namespace {
constexpr auto kProbeAfterIdle = std::chrono::milliseconds(1000);
}  // namespace

// One TCP (optionally TLS) connection to one upstream host. Owned by the
// pool while idle, by an UpstreamCall while in use; one worker thread only.
class UpstreamConnection {
 public:
  std::string pool_key;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool reused = false;
  Clock::time_point idle_since{};

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  // Runs `op(stream)` on whichever stream this connection has.
  template <typename Op>
  auto with_stream(Op&& op) -> decltype(op(*plain)) {
    if (secure) co_return co_await op(*secure);
    co_return co_await op(*plain);
  }

  // A kept-alive socket the peer has closed reads as EOF (or has stray bytes):
  // either way it is not safe to send a new request on it. Servers close idle
  // keep-alive connections after seconds (uvicorn 5 s, nginx 75 s), so one
  // idle for less than kProbeAfterIdle is taken as it is: the probe was one
  // syscall per request under load, and a connection that fails anyway with
  // no response byte is retried on a fresh one (UpstreamCall::start).
  bool looks_alive(Clock::time_point now) {
    auto& socket = lowest().socket();
    if (!socket.is_open()) return false;
    if (now - idle_since < kProbeAfterIdle) return true;
    char probe;
    ssize_t n = ::recv(socket.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return false;                                   // orderly close
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;  // nothing pending: fine
    return false;                                               // unexpected bytes
  }
};

const char* upstream_failure_name(UpstreamFailure failure) {
  switch (failure) {
    case UpstreamFailure::kNone:
      return "none";
    case UpstreamFailure::kConnect:
      return "connect";
    case UpstreamFailure::kReset:
      return "reset";
    case UpstreamFailure::kTimeout:
      return "timeout";
    case UpstreamFailure::kInvalid:
      return "invalid_response";
    case UpstreamFailure::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

Result<UpstreamEndpoint> parse_endpoint(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return Error::make(ErrorKind::kInvalidRequest, "api_base is not a valid URL: " + url);
  }
  UpstreamEndpoint e;
  const auto scheme = parsed->scheme();
  if (scheme == "https") {
    e.tls = true;
  } else if (scheme != "http") {
    return Error::make(ErrorKind::kInvalidRequest,
                       "api_base must start with http:// or https://: " + url);
  }
  e.host = std::string(parsed->host_address());
  if (e.host.empty())
    return Error::make(ErrorKind::kInvalidRequest, "api_base has no host: " + url);
  e.port = parsed->has_port() ? std::string(parsed->port()) : (e.tls ? "443" : "80");
  e.base_path = std::string(parsed->encoded_path());
  while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
  return e;
}

std::unique_ptr<ssl::context> make_client_tls_context() {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  ctx->set_default_verify_paths();
  ctx->set_verify_mode(ssl::verify_peer);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  return ctx;
}

ConnectionPool::ConnectionPool(asio::io_context& io, ssl::context& tls,
                               std::chrono::milliseconds connect_timeout, size_t max_idle_per_host)
    : io_(io),
      tls_(tls),
      connect_timeout_(connect_timeout),
      max_idle_per_host_(max_idle_per_host),
      resolver_(io) {}

ConnectionPool::~ConnectionPool() = default;

size_t ConnectionPool::idle_count() const {
  size_t n = 0;
  for (const auto& [key, list] : idle_) n += list.size();
  return n;
}

awaitable<Result<std::unique_ptr<UpstreamConnection>>> ConnectionPool::acquire(
    const UpstreamEndpoint& endpoint, Clock::time_point deadline, bool allow_reuse,
    const std::function<void()>& before_connect) {
  const std::string key = endpoint.pool_key();
  if (allow_reuse) {
    auto it = idle_.find(key);
    const auto now = Clock::now();
    while (it != idle_.end() && !it->second.empty()) {
      auto connection = std::move(it->second.back());
      it->second.pop_back();
      if (connection->looks_alive(now)) {
        connection->reused = true;
        co_return std::move(connection);
      }
    }
  }

  if (before_connect) before_connect();
  auto [resolve_ec, results] =
      co_await resolver_.async_resolve(endpoint.host, endpoint.port, use_nothrow);
  if (resolve_ec) {
    co_return Error::make(
        ErrorKind::kUpstreamUnreachable,
        "cannot resolve upstream host " + endpoint.host + ": " + resolve_ec.message(),
        "upstream_unreachable");
  }
  auto connection = std::make_unique<UpstreamConnection>();
  connection->pool_key = key;
  prepare_read_buffer(connection->buffer);
  beast::tcp_stream stream(io_);
  const auto connect_deadline = std::min(deadline, Clock::now() + connect_timeout_);
  stream.expires_at(connect_deadline);
  auto [connect_ec, connected] = co_await stream.async_connect(results, use_nothrow);
  if (connect_ec) {
    const bool timed_out = connect_ec == beast::error::timeout;
    co_return Error::make(timed_out ? ErrorKind::kUpstreamTimeout : ErrorKind::kUpstreamUnreachable,
                          "cannot connect to upstream " + endpoint.host + ":" + endpoint.port +
                              ": " + connect_ec.message(),
                          timed_out ? "upstream_timeout" : "upstream_unreachable");
  }
  stream.socket().set_option(tcp::no_delay(true));
  // Reads and writes are tried at once before waiting (core/try_io.h).
  error_code ignored;
  stream.socket().non_blocking(true, ignored);
  if (!endpoint.tls) {
    connection->plain.emplace(std::move(stream));
    co_return std::move(connection);
  }
  connection->secure.emplace(std::move(stream), tls_);
  auto& secure = *connection->secure;
  // SNI carries host names only (RFC 6066); IP literals are verified by SAN.
  error_code not_ip;
  asio::ip::make_address(endpoint.host, not_ip);
  if (not_ip && !SSL_set_tlsext_host_name(secure.native_handle(), endpoint.host.c_str())) {
    co_return Error::make(ErrorKind::kUpstreamUnreachable, "cannot set TLS SNI host name",
                          "upstream_unreachable");
  }
  secure.set_verify_callback(ssl::host_name_verification(endpoint.host));
  auto [hs_ec] = co_await secure.async_handshake(ssl::stream_base::client, use_nothrow);
  if (hs_ec) {
    const bool timed_out = hs_ec == beast::error::timeout;
    co_return Error::make(
        timed_out ? ErrorKind::kUpstreamTimeout : ErrorKind::kUpstreamUnreachable,
        "TLS handshake with upstream " + endpoint.host + " failed: " + hs_ec.message(),
        timed_out ? "upstream_timeout" : "upstream_unreachable");
  }
  co_return std::move(connection);
}

void ConnectionPool::release(std::unique_ptr<UpstreamConnection> connection) {
  auto& list = idle_[connection->pool_key];
  if (list.size() >= max_idle_per_host_) return;  // closes it
  // An idle connection should not keep what a large answer grew.
  trim_idle_read_buffer(connection->buffer);
  connection->lowest().expires_never();
  connection->idle_since = Clock::now();
  list.push_back(std::move(connection));
}

namespace {
bool header_safe(std::string_view text) {
  for (const char c : text) {
    if (c == '\r' || c == '\n') return false;
  }
  return true;
}

bool framing_header(std::string_view name) {
  return beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
         beast::iequals(name, "connection");
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ", 2).append(value).append("\r\n", 2);
}
}  // namespace

void append_request_head(std::string& out, const UpstreamRequest& request,
                         std::string_view host_header) {
  const auto& headers = request.headers;
  // Set semantics: only the last occurrence of a name is written.
  auto replaced_later = [&](size_t i) {
    for (size_t j = i + 1; j < headers.size(); ++j) {
      if (beast::iequals(headers[i].first, headers[j].first)) return true;
    }
    return false;
  };
  bool host_given = false;
  for (const auto& [name, value] : headers) {
    if (beast::iequals(name, "host") && header_safe(value)) host_given = true;
  }
  size_t size = request.target.size() + host_header.size() + 64;
  for (const auto& [name, value] : headers) size += name.size() + value.size() + 4;
  out.reserve(out.size() + size);
  out.append(http::to_string(request.method)).append(" ", 1).append(request.target);
  out.append(" HTTP/1.1\r\n", 11);
  if (!host_given) append_field(out, "Host", host_header);
  for (size_t i = 0; i < headers.size(); ++i) {
    const auto& [name, value] = headers[i];
    if (name.empty() || framing_header(name) || !header_safe(name) || !header_safe(value) ||
        replaced_later(i)) {
      continue;
    }
    append_field(out, name, value);
  }
  const auto method = request.method;
  if (!request.body.empty() || method == http::verb::post || method == http::verb::put ||
      method == http::verb::options) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, request.body.size()).ptr;
    append_field(out, "Content-Length",
                 std::string_view(digits, static_cast<size_t>(end - digits)));
  }
  out.append("\r\n", 2);
}

UpstreamCall::UpstreamCall(ConnectionPool& pool, UpstreamEndpoint endpoint)
    : pool_(pool), endpoint_(std::move(endpoint)) {}

UpstreamCall::~UpstreamCall() = default;

namespace {
UpstreamFailure classify(const error_code& ec, bool cancelled) {
  if (cancelled || ec == asio::error::operation_aborted) return UpstreamFailure::kCancelled;
  if (ec == beast::error::timeout) return UpstreamFailure::kTimeout;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated) {
    return UpstreamFailure::kReset;
  }
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category() ||
      ec == http::error::body_limit) {
    return UpstreamFailure::kInvalid;  // the bytes were not valid HTTP
  }
  return UpstreamFailure::kReset;
}
}  // namespace

awaitable<UpstreamFailure> UpstreamCall::attempt(const UpstreamRequest& request,
                                                 Clock::time_point deadline, bool allow_reuse,
                                                 bool& was_reused, bool& sent_any) {
  auto acquired = co_await pool_.acquire(endpoint_, deadline, allow_reuse, before_wait_);
  if (!acquired) {
    co_return acquired.error().kind == ErrorKind::kUpstreamTimeout ? UpstreamFailure::kTimeout
                                                                   : UpstreamFailure::kConnect;
  }
  connection_ = std::move(*acquired);
  was_reused = connection_->reused;
  if (cancelled_) co_return UpstreamFailure::kCancelled;

  head_.clear();
  append_request_head(head_, request, endpoint_.host_header());
  error_code write_ec;
  if (connection_->secure) {
    // One TLS record for head and body: an SSL stream writes only the first
    // buffer of a sequence per step.
    about_to_wait(deadline);
    head_ += request.body;
    std::tie(write_ec, std::ignore) =
        co_await asio::async_write(*connection_->secure, asio::buffer(head_), use_nothrow);
  } else {
    // Tried at once; the deadline timer is armed only if the socket cannot
    // take it all now.
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(request.body)};
    write_ec =
        co_await write_now_or_wait(*connection_->plain, buffers, [&] { about_to_wait(deadline); });
  }
  if (write_ec) co_return classify(write_ec, cancelled_);
  sent_any = true;

  parser_ = std::make_unique<http::response_parser<http::buffer_body>>();
  parser_->body_limit(boost::none);
  parser_->header_limit(64 * 1024);
  // Under load the answer is often there already when the coroutine resumes
  // after the write: then it is read and parsed here, without an
  // asynchronous operation, its timer or the client hang-up watch.
  error_code read_ec;
  if (connection_->plain && read_now(connection_->plain->socket(), connection_->buffer)) {
    read_ec = parse_buffered(*parser_, connection_->buffer, true);
  }
  if (!read_ec && !parser_->is_header_done()) {
    about_to_wait(deadline);
    std::tie(read_ec, std::ignore) = co_await connection_->with_stream(
        [&](auto& s) -> awaitable<std::tuple<error_code, size_t>> {
          co_return co_await http::async_read_header(s, connection_->buffer, *parser_, use_nothrow);
        });
  }
  if (read_ec) co_return classify(read_ec, cancelled_);
  reserve_for_body(connection_->buffer, parser_->content_length_remaining());
  co_return UpstreamFailure::kNone;
}

awaitable<UpstreamFailure> UpstreamCall::start(const UpstreamRequest& request,
                                               Clock::time_point deadline) {
  bool was_reused = false;
  bool sent_any = false;
  auto failure = co_await attempt(request, deadline, true, was_reused, sent_any);
  // A pooled connection the upstream had already closed fails right away
  // with reset/EOF and no response byte: safe to send once more, fresh.
  if (failure == UpstreamFailure::kReset && was_reused && !cancelled_) {
    connection_.reset();
    parser_.reset();
    failure = co_await attempt(request, deadline, false, was_reused, sent_any);
  }
  if (failure != UpstreamFailure::kNone) connection_.reset();
  co_return failure;
}

int UpstreamCall::status() const { return parser_ ? parser_->get().result_int() : 0; }

std::string UpstreamCall::header(std::string_view name) const {
  if (!parser_) return {};
  return std::string(header_value(parser_->get(), name));
}

bool UpstreamCall::body_done() const { return parser_ && parser_->is_done(); }

size_t UpstreamCall::body_piece_size() const {
  constexpr size_t kMaxPiece = size_t{16} * 1024;
  constexpr size_t kMinPiece = 1024;
  // Exactly what is left when the length is known; else what has arrived.
  if (auto remaining = parser_->content_length_remaining()) {
    return std::clamp<size_t>(static_cast<size_t>(*remaining), 1, kMaxPiece);
  }
  return std::clamp<size_t>(connection_->buffer.size(), kMinPiece, kMaxPiece);
}

awaitable<UpstreamFailure> UpstreamCall::read_some(std::string& out, Clock::time_point deadline) {
  if (!connection_ || !parser_) co_return UpstreamFailure::kReset;
  while (!parser_->is_done()) {
    // The body is parsed straight into `out`: no fixed read buffer per call
    // (it lived in the coroutine frame, 16 KiB for every request in flight).
    const size_t before = out.size();
    const size_t piece = body_piece_size();
    out.resize(before + piece);
    auto& body = parser_->get().body();
    body.data = out.data() + before;
    body.size = piece;
    error_code ec;
    if (connection_->buffer.size() > 0) {
      // Body bytes that came with the head (usually all of a short answer).
      ec = parse_buffered(*parser_, connection_->buffer, false);
    }
    // Nothing buffered, or only the start of a chunk header: read more.
    if (!ec && !parser_->is_done() && parser_->get().body().size == piece) {
      about_to_wait(deadline);
      std::tie(ec, std::ignore) = co_await connection_->with_stream(
          [&](auto& s) -> awaitable<std::tuple<error_code, size_t>> {
            co_return co_await http::async_read_some(s, connection_->buffer, *parser_, use_nothrow);
          });
    }
    const size_t produced = piece - parser_->get().body().size;
    out.resize(before + produced);
    if (ec && ec != http::error::need_buffer) {
      // EOF on a body without length or chunking is how HTTP/1.0 ends it.
      if (ec == http::error::end_of_stream && parser_->is_done()) break;
      connection_.reset();
      co_return classify(ec, cancelled_);
    }
    if (produced > 0) break;
  }
  co_return UpstreamFailure::kNone;
}

awaitable<UpstreamFailure> UpstreamCall::read_all(std::string& out, Clock::time_point deadline,
                                                  size_t limit) {
  while (!body_done()) {
    auto failure = co_await read_some(out, deadline);
    if (failure != UpstreamFailure::kNone) co_return failure;
    if (out.size() > limit) {
      connection_.reset();
      co_return UpstreamFailure::kInvalid;
    }
  }
  co_return UpstreamFailure::kNone;
}

void UpstreamCall::about_to_wait(Clock::time_point deadline) {
  connection_->lowest().expires_at(deadline);
  if (before_wait_) before_wait_();
}

void UpstreamCall::cancel() {
  cancelled_ = true;
  if (connection_) {
    error_code ignored;
    connection_->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    connection_->lowest().socket().close(ignored);
  }
}

void UpstreamCall::finish() {
  if (!connection_ || !parser_ || cancelled_) return;
  if (parser_->is_done() && parser_->keep_alive() && connection_->buffer.size() == 0) {
    pool_.release(std::move(connection_));
  }
  connection_.reset();
}

}  // namespace switchyard
