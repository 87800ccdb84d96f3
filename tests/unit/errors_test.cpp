#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/error.h"

using namespace switchyard;

TEST(ErrorMapping, StatusAndTypeTable) {
  struct Case {
    ErrorKind kind;
    int status;
    const char* type;
  };
  const Case cases[] = {
      {ErrorKind::kInvalidRequest, 400, "invalid_request_error"},
      {ErrorKind::kAuthentication, 401, "authentication_error"},
      {ErrorKind::kNotFound, 404, "not_found_error"},
      {ErrorKind::kRequestTooLarge, 413, "invalid_request_error"},
      {ErrorKind::kUnprocessable, 422, "unprocessable_entity_error"},
      {ErrorKind::kRateLimited, 429, "rate_limit_error"},
      {ErrorKind::kUpstreamUnreachable, 502, "upstream_error"},
      {ErrorKind::kUpstreamInvalid, 502, "upstream_error"},
      {ErrorKind::kUnavailable, 503, "service_unavailable_error"},
      {ErrorKind::kUpstreamTimeout, 504, "timeout_error"},
  };
  for (const auto& c : cases) {
    Error e = Error::make(c.kind, "m");
    EXPECT_EQ(http_status(e), c.status);
    EXPECT_STREQ(error_type(e), c.type);
  }
}

TEST(ErrorMapping, UpstreamStatusPassesThrough) {
  Error e;
  e.kind = ErrorKind::kUpstreamStatus;
  e.upstream_status = 429;
  EXPECT_EQ(http_status(e), 429);
  EXPECT_STREQ(error_type(e), "rate_limit_error");
  e.upstream_status = 503;
  EXPECT_EQ(http_status(e), 503);
  EXPECT_STREQ(error_type(e), "api_error");
  e.upstream_status = 200;  // nonsense: never pass a success status as an error
  EXPECT_EQ(http_status(e), 502);
}

TEST(ErrorMapping, BodyIsOpenAIShape) {
  auto body = boost::json::parse(error_body(
      Error::make(ErrorKind::kInvalidRequest, "bad \"thing\"", "invalid_json", "model")));
  const auto& inner = body.at("error").as_object();
  EXPECT_EQ(inner.at("message").as_string(), "bad \"thing\"");
  EXPECT_EQ(inner.at("type").as_string(), "invalid_request_error");
  EXPECT_EQ(inner.at("param").as_string(), "model");
  EXPECT_EQ(inner.at("code").as_string(), "invalid_json");
  EXPECT_EQ(inner.size(), 4u);

  auto no_param = boost::json::parse(error_body(Error::make(ErrorKind::kInternal, "x")));
  EXPECT_TRUE(no_param.at("error").at("param").is_null());
  EXPECT_TRUE(no_param.at("error").at("code").is_null());
}
