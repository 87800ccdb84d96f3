// The upstream request head is built by hand (append_request_head) instead
// of by Beast's serializer. These tests hold it to what Beast wrote for the
// same request (set() per header, prepare_payload(), keep_alive(true)) and
// to the cases where it deliberately differs (framing headers, CR/LF).
#include <gtest/gtest.h>

#include <sstream>

#include "upstream/http_client.h"

using namespace switchyard;

namespace {

// What the previous code sent, serialised by Beast.
std::string beast_wire(const UpstreamRequest& request, const std::string& host) {
  http::request<http::string_body> req{request.method, request.target, 11};
  req.set(http::field::host, host);
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.body() = request.body;
  req.prepare_payload();
  req.keep_alive(true);
  std::ostringstream os;
  os << req;
  return os.str();
}

std::string our_wire(const UpstreamRequest& request, const std::string& host) {
  std::string out;
  append_request_head(out, request, host);
  return out + request.body;
}

// Parses a serialised request back (the upstream's view of it).
http::request<http::string_body> parse(const std::string& wire) {
  http::request_parser<http::string_body> parser;
  parser.eager(true);
  error_code ec;
  const size_t used = parser.put(asio::buffer(wire), ec);
  EXPECT_FALSE(ec) << ec.message() << " in:\n" << wire;
  EXPECT_TRUE(parser.is_done()) << wire;
  EXPECT_EQ(used, wire.size()) << wire;
  return parser.release();
}

UpstreamRequest chat_request() {
  UpstreamRequest r;
  r.method = http::verb::post;
  r.target = "/v1/chat/completions?api-version=1";
  r.headers = {{"content-type", "application/json"},
               {"accept", "application/json"},
               {"authorization", "Bearer sk-upstream"},
               {"x-extra", "one"}};
  r.body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
  return r;
}

}  // namespace

TEST(UpstreamHead, SameBytesAsBeastForAnOrdinaryRequest) {
  const auto r = chat_request();
  EXPECT_EQ(our_wire(r, "api.example.com"), beast_wire(r, "api.example.com"));
}

TEST(UpstreamHead, LaterHeaderReplacesEarlierOfTheSameName) {
  auto r = chat_request();
  r.headers.emplace_back("Accept", "text/event-stream");  // e.g. a stream's accept
  r.headers.emplace_back("X-EXTRA", "two");
  EXPECT_EQ(our_wire(r, "h:8080"), beast_wire(r, "h:8080"));
  auto req = parse(our_wire(r, "h:8080"));
  EXPECT_EQ(req[http::field::accept], "text/event-stream");
  EXPECT_EQ(req["x-extra"], "two");
  EXPECT_EQ(std::distance(req.begin(), req.end()), 6);  // Host, 4 headers, Content-Length
}

TEST(UpstreamHead, ConfiguredHostReplacesTheDefault) {
  auto r = chat_request();
  r.headers.emplace_back("host", "virtual.example.com");
  EXPECT_EQ(our_wire(r, "10.0.0.1:8080"), beast_wire(r, "10.0.0.1:8080"));
  EXPECT_EQ(parse(our_wire(r, "10.0.0.1:8080"))[http::field::host], "virtual.example.com");
}

TEST(UpstreamHead, ContentLengthFollowsTheBody) {
  auto r = chat_request();
  r.body = std::string(70000, 'x');
  EXPECT_EQ(our_wire(r, "h"), beast_wire(r, "h"));
  EXPECT_EQ(parse(our_wire(r, "h")).body().size(), 70000u);
  r.body.clear();  // a POST with no body still says Content-Length: 0
  EXPECT_EQ(our_wire(r, "h"), beast_wire(r, "h"));
  EXPECT_EQ(parse(our_wire(r, "h"))[http::field::content_length], "0");
}

TEST(UpstreamHead, GetWithoutBodyHasNoContentLength) {
  UpstreamRequest r;
  r.method = http::verb::get;
  r.target = "/bucket/config.yaml";
  r.headers = {{"authorization", "AWS4-HMAC-SHA256 Credential=x"}, {"if-none-match", "\"e1\""}};
  const auto wire = our_wire(r, "s3.amazonaws.com");
  EXPECT_EQ(wire, beast_wire(r, "s3.amazonaws.com"));
  EXPECT_EQ(wire.find("Content-Length"), std::string::npos);
  EXPECT_EQ(parse(wire).method(), http::verb::get);
}

TEST(UpstreamHead, CallerFramingHeadersAreDropped) {
  auto r = chat_request();
  r.headers.emplace_back("Content-Length", "5");
  r.headers.emplace_back("transfer-encoding", "chunked");
  r.headers.emplace_back("Connection", "close");
  const auto wire = our_wire(r, "h");
  auto req = parse(wire);
  EXPECT_EQ(req[http::field::content_length], std::to_string(r.body.size()));
  EXPECT_EQ(req.count(http::field::transfer_encoding), 0u);
  EXPECT_EQ(req.count(http::field::connection), 0u);
  EXPECT_TRUE(req.keep_alive());
  EXPECT_EQ(req.body(), r.body);
}

TEST(UpstreamHead, HeadersWithLineBreaksAreSkipped) {
  auto r = chat_request();
  r.headers.emplace_back("x-injected", "a\r\nx-evil: 1");
  r.headers.emplace_back("x-bad\nname", "v");
  const auto wire = our_wire(r, "h");
  auto req = parse(wire);
  EXPECT_EQ(req.count("x-injected"), 0u);
  EXPECT_EQ(req.count("x-evil"), 0u);
  EXPECT_EQ(req["x-extra"], "one");
  EXPECT_EQ(req.body(), r.body);
}
