// core/http_fields.h: header_value() must answer as Beast's fields[name]:
// case-insensitive names, the first of repeated fields, empty when absent.
#include "core/http_fields.h"

#include <gtest/gtest.h>

#include <string>

using namespace switchyard;

namespace {

http::request<http::string_body> parse_request(const std::string& text) {
  http::request_parser<http::string_body> parser;
  parser.eager(true);
  error_code ec;
  parser.put(asio::buffer(text), ec);
  EXPECT_FALSE(ec) << ec.message();
  return parser.release();
}

}  // namespace

TEST(HttpFields, SameAnswersAsBeastLookups) {
  const auto req = parse_request(
      "POST /v1/chat/completions HTTP/1.1\r\n"
      "Host: x\r\n"
      "AUTHORIZATION: Bearer first\r\n"
      "x-api-key: k\r\n"
      "Authorization: Bearer second\r\n"
      "X-Request-Id: abc\r\n"
      "x-request-i: short\r\n"
      "x-request-idx: long\r\n"
      "Empty:\r\n"
      "Content-Length: 0\r\n\r\n");
  for (const char* name :
       {"authorization", "Authorization", "x-api-key", "X-API-KEY", "x-request-id", "x-request-i",
        "x-request-idx", "empty", "missing", "host", "content-length", "", "anthropic-version"}) {
    EXPECT_EQ(header_value(req, name), std::string_view(req[name])) << name;
  }
  EXPECT_EQ(header_value(req, "authorization"), "Bearer first");
  EXPECT_EQ(header_value(req, "x-request-id"), "abc");
  EXPECT_EQ(header_value(req, "missing"), "");
  EXPECT_EQ(header_value(req, "empty"), "");

  http::response<http::string_body> res;
  res.insert("Content-Type", "application/json");
  res.insert("content-type", "text/plain");
  res.insert("Retry-After", "3");
  EXPECT_EQ(header_value(res, "content-type"), "application/json");
  EXPECT_EQ(header_value(res, "content-type"), std::string_view(res["content-type"]));
  EXPECT_EQ(header_value(res, "retry-after"), "3");
  EXPECT_EQ(header_value(res, "x-amzn-errortype"), "");
}
