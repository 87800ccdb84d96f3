// switchyard-bench-upstream: a deliberately small, fast mock of an
// OpenAI-compatible chat completions server, used as the upstream in
// bench/run.sh.
//
// Single-threaded Boost.Asio with C++20 coroutines, HTTP/1.1 keep-alive.
// Request parsing is minimal on purpose: request line, a handful of headers
// (Content-Length, Transfer-Encoding: chunked, Connection, Expect) and the
// body. Pipelined requests are handled in order.
//
//   POST .../chat/completions            -> ~600 B chat.completion JSON
//   POST .../chat/completions + "stream": true
//                                        -> SSE chat.completion.chunk events,
//                                           then "data: [DONE]"
//   GET  .../models                      -> model list
//   GET  /health                         -> {"status":"ok"}
//   anything else                        -> 404 JSON error
//
// Flags:
//   --host ADDR             bind address (default 127.0.0.1)
//   --port N                0 = ephemeral (default 0); prints "listening <port>"
//   --delay-ms N            fixed delay before answering (timer, not sleep)
//   --stream-chunks N       number of content chunks for stream=true (default 8)
//   --chunk-interval-ms M   delay between stream chunks (default 0)

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <string_view>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  unsigned delay_ms = 0;
  unsigned stream_chunks = 8;
  unsigned chunk_interval_ms = 0;
};

Options g_opt;
std::uint64_t g_counter = 0;  // single-threaded: no atomics needed

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// ---------------------------------------------------------------------------
// Small string helpers

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Finds `"key"` followed by optional whitespace and ':' and returns the view
// positioned just after the colon and any whitespace. Good enough for the
// flat request bodies benchmarks send; not a JSON parser.
bool find_json_key(std::string_view body, std::string_view key, std::string_view& rest) {
  std::size_t pos = 0;
  while (true) {
    pos = body.find(key, pos);
    if (pos == std::string_view::npos) return false;
    std::size_t after = pos + key.size();
    if (pos > 0 && body[pos - 1] == '"' && after < body.size() && body[after] == '"') {
      std::size_t i = after + 1;
      while (i < body.size() && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r')) ++i;
      if (i < body.size() && body[i] == ':') {
        ++i;
        while (i < body.size() && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r')) ++i;
        rest = body.substr(i);
        return true;
      }
    }
    pos = after;
  }
}

bool json_bool_true(std::string_view body, std::string_view key) {
  std::string_view rest;
  return find_json_key(body, key, rest) && rest.starts_with("true");
}

// Returns the model name from the request, restricted to a safe charset so it
// can be echoed without escaping. Falls back to "bench-model".
std::string_view request_model(std::string_view body) {
  std::string_view rest;
  if (find_json_key(body, "model", rest) && rest.starts_with('"')) {
    rest.remove_prefix(1);
    std::size_t end = 0;
    while (end < rest.size() && end < 128) {
      char c = rest[end];
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                c == '_' || c == '.' || c == '/' || c == ':';
      if (!ok) break;
      ++end;
    }
    if (end > 0 && end < rest.size() && rest[end] == '"') return rest.substr(0, end);
  }
  return "bench-model";
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

void append_hex(std::string& out, std::size_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  out.append(buf, p);
}

void append_id(std::string& out, std::uint64_t n) {
  // chatcmpl- + 24 zero-padded digits: fixed length keeps the body size stable.
  char buf[48];
  std::snprintf(buf, sizeof buf, "chatcmpl-%024llu", static_cast<unsigned long long>(n));
  out.append(buf);
}

// ---------------------------------------------------------------------------
// Response bodies

constexpr std::string_view kContent =
    "This is a canned reply from the Switchyard benchmark upstream. It is roughly the size of a short "
    "real answer, so the proxy under test has a realistic body to parse, rewrite and copy back to the "
    "client. Nothing here is generated; only the id, timestamp and model vary between responses.";

std::string completion_body(std::string_view model) {
  std::string b;
  b.reserve(640);
  b += R"({"id":")";
  append_id(b, ++g_counter);
  b += R"(","object":"chat.completion","created":)";
  append_uint(b, static_cast<std::uint64_t>(std::time(nullptr)));
  b += R"(,"model":")";
  b += model;
  b += R"(","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":")";
  b += kContent;
  b += R"(","refusal":null},"logprobs":null,"finish_reason":"stop"}],)";
  b += R"("usage":{"prompt_tokens":24,"completion_tokens":40,"total_tokens":64}})";
  return b;
}

// One SSE event (without the HTTP chunk framing).
std::string chunk_event(std::string_view id, std::uint64_t created, std::string_view model, std::string_view delta,
                        std::string_view finish_reason, bool with_usage_field) {
  std::string e;
  e.reserve(320);
  e += R"(data: {"id":")";
  e += id;
  e += R"(","object":"chat.completion.chunk","created":)";
  append_uint(e, created);
  e += R"(,"model":")";
  e += model;
  e += R"(","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":)";
  e += delta;
  e += R"(,"logprobs":null,"finish_reason":)";
  e += finish_reason;
  e += "}]";
  if (with_usage_field) e += R"(,"usage":null)";
  e += "}\n\n";
  return e;
}

std::string usage_event(std::string_view id, std::uint64_t created, std::string_view model, unsigned chunks) {
  std::string e;
  e += R"(data: {"id":")";
  e += id;
  e += R"(","object":"chat.completion.chunk","created":)";
  append_uint(e, created);
  e += R"(,"model":")";
  e += model;
  e += R"(","system_fingerprint":"fp_bench","choices":[],"usage":{"prompt_tokens":24,"completion_tokens":)";
  append_uint(e, chunks);
  e += R"(,"total_tokens":)";
  append_uint(e, 24 + chunks);
  e += "}}\n\n";
  return e;
}

void append_http_chunk(std::string& out, std::string_view data) {
  append_hex(out, data.size());
  out += "\r\n";
  out += data;
  out += "\r\n";
}

void append_response(std::string& out, int status, std::string_view reason, std::string_view content_type,
                     std::string_view body, bool keep_alive) {
  out += "HTTP/1.1 ";
  append_uint(out, static_cast<std::uint64_t>(status));
  out += ' ';
  out += reason;
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: ";
  append_uint(out, body.size());
  out += keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
  out += body;
}

// ---------------------------------------------------------------------------
// Request parsing

struct Request {
  std::string_view method;
  std::string_view target;
  bool keep_alive = true;
  bool chunked = false;
  bool expect_continue = false;
  std::size_t content_length = 0;
  std::size_t header_bytes = 0;  // including the terminating blank line
};

enum class ParseResult { ok, need_more, bad };

ParseResult parse_head(std::string_view buf, Request& req) {
  std::size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) return buf.size() > 64 * 1024 ? ParseResult::bad : ParseResult::need_more;
  req = Request{};
  req.header_bytes = end + 4;
  std::string_view head = buf.substr(0, end);

  std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return ParseResult::bad;
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return ParseResult::bad;
  req.method = line.substr(0, sp1);
  req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  req.keep_alive = version != "HTTP/1.0";

  std::size_t pos = (eol == std::string_view::npos) ? head.size() : eol + 2;
  while (pos < head.size()) {
    std::size_t next = head.find("\r\n", pos);
    if (next == std::string_view::npos) next = head.size();
    std::string_view h = head.substr(pos, next - pos);
    pos = next + 2;
    std::size_t colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = h.substr(0, colon);
    std::string_view value = trim(h.substr(colon + 1));
    if (iequals(name, "content-length")) {
      std::size_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || p != value.data() + value.size()) return ParseResult::bad;
      req.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      req.chunked = icontains(value, "chunked");
    } else if (iequals(name, "connection")) {
      if (icontains(value, "close")) req.keep_alive = false;
      else if (icontains(value, "keep-alive")) req.keep_alive = true;
    } else if (iequals(name, "expect")) {
      req.expect_continue = icontains(value, "100-continue");
    }
  }
  return ParseResult::ok;
}

// Decodes a chunked body starting at buf[0]. On success sets `consumed` to the
// number of bytes used (including trailers) and appends the payload to `out`.
ParseResult parse_chunked(std::string_view buf, std::string& out, std::size_t& consumed) {
  out.clear();
  std::size_t pos = 0;
  while (true) {
    std::size_t eol = buf.find("\r\n", pos);
    if (eol == std::string_view::npos) return ParseResult::need_more;
    std::string_view size_line = buf.substr(pos, eol - pos);
    std::size_t semi = size_line.find(';');
    if (semi != std::string_view::npos) size_line = size_line.substr(0, semi);
    size_line = trim(size_line);
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(size_line.data(), size_line.data() + size_line.size(), n, 16);
    if (ec != std::errc{} || size_line.empty()) return ParseResult::bad;
    pos = eol + 2;
    if (n == 0) {
      // Skip trailers up to the empty line.
      while (true) {
        std::size_t t = buf.find("\r\n", pos);
        if (t == std::string_view::npos) return ParseResult::need_more;
        bool empty = (t == pos);
        pos = t + 2;
        if (empty) {
          consumed = pos;
          return ParseResult::ok;
        }
      }
    }
    if (buf.size() < pos + n + 2) return ParseResult::need_more;
    out.append(buf.substr(pos, n));
    pos += n + 2;
  }
}

// ---------------------------------------------------------------------------
// Connection handling

asio::awaitable<bool> write_all(tcp::socket& sock, std::string_view data) {
  auto [ec, n] = co_await asio::async_write(sock, asio::buffer(data.data(), data.size()), kNoThrow);
  co_return !ec;
}

asio::awaitable<bool> wait_ms(asio::steady_timer& timer, unsigned ms) {
  if (ms == 0) co_return true;
  timer.expires_after(std::chrono::milliseconds(ms));
  auto [ec] = co_await timer.async_wait(kNoThrow);
  co_return !ec;
}

asio::awaitable<bool> send_stream(tcp::socket& sock, asio::steady_timer& timer, std::string_view model,
                                  bool include_usage, bool keep_alive, std::string& out) {
  std::string id;
  append_id(id, ++g_counter);
  auto created = static_cast<std::uint64_t>(std::time(nullptr));

  out.clear();
  out += "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
         "Transfer-Encoding: chunked\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";

  const unsigned n = g_opt.stream_chunks;
  // First event carries the role, as OpenAI does.
  append_http_chunk(out, chunk_event(id, created, model, R"({"role":"assistant","content":"","refusal":null})",
                                     "null", include_usage));
  for (unsigned i = 0; i < n; ++i) {
    if (g_opt.chunk_interval_ms > 0) {
      if (!co_await write_all(sock, out)) co_return false;
      out.clear();
      if (!co_await wait_ms(timer, g_opt.chunk_interval_ms)) co_return false;
    }
    std::string delta = R"({"content":"tok)";
    append_uint(delta, i);
    delta += R"( "})";
    append_http_chunk(out, chunk_event(id, created, model, delta, "null", include_usage));
  }
  append_http_chunk(out, chunk_event(id, created, model, "{}", R"("stop")", include_usage));
  if (include_usage) append_http_chunk(out, usage_event(id, created, model, n));
  append_http_chunk(out, "data: [DONE]\n\n");
  out += "0\r\n\r\n";
  co_return co_await write_all(sock, out);
}

asio::awaitable<void> session(tcp::socket sock) {
  sock.set_option(tcp::no_delay(true));
  asio::steady_timer timer(sock.get_executor());
  std::string buf;        // unconsumed input is buf[start, buf.size())
  std::size_t start = 0;
  std::string out;
  std::string chunked_body;
  out.reserve(1024);
  buf.reserve(8192);
  std::array<char, 16384> rd;

  auto read_more = [&]() -> asio::awaitable<bool> {
    if (start > 0 && start == buf.size()) {
      buf.clear();
      start = 0;
    } else if (start > 32 * 1024) {
      buf.erase(0, start);
      start = 0;
    }
    auto [ec, n] = co_await sock.async_read_some(asio::buffer(rd), kNoThrow);
    if (ec) co_return false;
    buf.append(rd.data(), n);
    co_return true;
  };

  while (true) {
    Request req;
    ParseResult pr;
    while ((pr = parse_head(std::string_view(buf).substr(start), req)) == ParseResult::need_more)
      if (!co_await read_more()) co_return;
    if (pr == ParseResult::bad) {
      out.clear();
      append_response(out, 400, "Bad Request", "application/json",
                      R"({"error":{"message":"bad request","type":"invalid_request_error"}})", false);
      co_await write_all(sock, out);
      co_return;
    }
    // Copy what we need from the head before the buffer may be reallocated.
    std::string method(req.method);
    std::string target(req.target);
    if (auto q = target.find('?'); q != std::string::npos) target.resize(q);

    if (req.expect_continue) {
      if (!co_await write_all(sock, "HTTP/1.1 100 Continue\r\n\r\n")) co_return;
    }

    std::string_view body;
    std::size_t body_start = start + req.header_bytes;
    if (req.chunked) {
      std::size_t consumed = 0;
      while (true) {
        pr = parse_chunked(std::string_view(buf).substr(body_start), chunked_body, consumed);
        if (pr != ParseResult::need_more) break;
        if (!co_await read_more()) co_return;
        body_start = start + req.header_bytes;  // read_more may compact; recompute
      }
      if (pr == ParseResult::bad) co_return;
      body = chunked_body;
      start = body_start + consumed;
    } else {
      if (req.content_length > 64 * 1024 * 1024) co_return;
      while (buf.size() - body_start < req.content_length) {
        if (!co_await read_more()) co_return;
        body_start = start + req.header_bytes;
      }
      body = std::string_view(buf).substr(body_start, req.content_length);
      start = body_start + req.content_length;
    }
    // `body` stays valid until the next read_more(); the handlers below do not
    // read, and the model name is copied before any await.

    bool is_chat = method == "POST" && target.ends_with("/chat/completions");
    out.clear();
    if (is_chat) {
      std::string model(request_model(body));
      bool stream = json_bool_true(body, "stream");
      bool include_usage = stream && json_bool_true(body, "include_usage");
      if (g_opt.delay_ms > 0 && !co_await wait_ms(timer, g_opt.delay_ms)) co_return;
      if (stream) {
        if (!co_await send_stream(sock, timer, model, include_usage, req.keep_alive, out)) co_return;
        if (!req.keep_alive) break;
        continue;
      }
      append_response(out, 200, "OK", "application/json", completion_body(model), req.keep_alive);
    } else if (method == "GET" && target == "/health") {
      append_response(out, 200, "OK", "application/json", R"({"status":"ok"})", req.keep_alive);
    } else if (method == "GET" && target.ends_with("/models")) {
      append_response(out, 200, "OK", "application/json",
                      R"({"object":"list","data":[{"id":"bench-model","object":"model","created":1700000000,)"
                      R"("owned_by":"switchyard-bench"}]})",
                      req.keep_alive);
    } else {
      append_response(out, 404, "Not Found", "application/json",
                      R"({"error":{"message":"not found","type":"invalid_request_error","code":"not_found"}})",
                      req.keep_alive);
    }
    if (!co_await write_all(sock, out)) co_return;
    if (!req.keep_alive) break;
  }
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> listener(tcp::acceptor acceptor) {
  auto ex = co_await asio::this_coro::executor;
  while (true) {
    auto [ec, sock] = co_await acceptor.async_accept(kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      asio::steady_timer t(ex, 10ms);
      co_await t.async_wait(kNoThrow);
      continue;
    }
    asio::co_spawn(ex, session(std::move(sock)), asio::detached);
  }
}

[[noreturn]] void usage(const char* argv0, int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: %s [--host ADDR] [--port N] [--delay-ms N] [--stream-chunks N] [--chunk-interval-ms M]\n",
               argv0);
  std::exit(code);
}

unsigned parse_uint(const char* argv0, std::string_view flag, const char* s) {
  unsigned v = 0;
  std::string_view sv(s);
  auto [p, ec] = std::from_chars(sv.data(), sv.data() + sv.size(), v);
  if (ec != std::errc{} || p != sv.data() + sv.size()) {
    std::fprintf(stderr, "%s: invalid value for %.*s: %s\n", argv0, static_cast<int>(flag.size()), flag.data(), s);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a(argv[i]);
    if (a == "-h" || a == "--help") usage(argv[0], 0);
    if (i + 1 >= argc) usage(argv[0], 2);
    const char* v = argv[++i];
    if (a == "--host") g_opt.host = v;
    else if (a == "--port") {
      unsigned p = parse_uint(argv[0], a, v);
      if (p > 65535) usage(argv[0], 2);
      g_opt.port = static_cast<unsigned short>(p);
    } else if (a == "--delay-ms") g_opt.delay_ms = parse_uint(argv[0], a, v);
    else if (a == "--stream-chunks") g_opt.stream_chunks = parse_uint(argv[0], a, v);
    else if (a == "--chunk-interval-ms") g_opt.chunk_interval_ms = parse_uint(argv[0], a, v);
    else usage(argv[0], 2);
  }

  try {
    asio::io_context ioc(1);  // one thread: lets Asio skip most locking
    tcp::endpoint ep(asio::ip::make_address(g_opt.host), g_opt.port);
    tcp::acceptor acceptor(ioc);
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(4096);
    std::cout << "listening " << acceptor.local_endpoint().port() << std::endl;

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) { ioc.stop(); });

    asio::co_spawn(ioc, listener(std::move(acceptor)), asio::detached);
    ioc.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "switchyard-bench-upstream: %s\n", e.what());
    return 1;
  }
  return 0;
}
