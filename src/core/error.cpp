#include "core/error.h"

#include <boost/json.hpp>

namespace switchyard {

int http_status(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kInvalidRequest: return 400;
    case ErrorKind::kAuthentication: return 401;
    case ErrorKind::kPermissionDenied: return 403;
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kMethodNotAllowed: return 405;
    case ErrorKind::kRequestTooLarge: return 413;
    case ErrorKind::kUnprocessable: return 422;
    case ErrorKind::kRateLimited: return 429;
    case ErrorKind::kInternal: return 500;
    case ErrorKind::kNotImplemented: return 501;
    case ErrorKind::kUpstreamUnreachable: return 502;
    case ErrorKind::kUpstreamInvalid: return 502;
    case ErrorKind::kUnavailable: return 503;
    case ErrorKind::kUpstreamTimeout: return 504;
    case ErrorKind::kUpstreamStatus:
      return (error.upstream_status >= 400 && error.upstream_status <= 599) ? error.upstream_status
                                                                            : 502;
  }
  return 500;
}

const char* error_type(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kInvalidRequest: return "invalid_request_error";
    case ErrorKind::kAuthentication: return "authentication_error";
    case ErrorKind::kPermissionDenied: return "permission_error";
    case ErrorKind::kNotFound: return "not_found_error";
    case ErrorKind::kMethodNotAllowed: return "invalid_request_error";
    case ErrorKind::kRequestTooLarge: return "invalid_request_error";
    case ErrorKind::kUnprocessable: return "unprocessable_entity_error";
    case ErrorKind::kRateLimited: return "rate_limit_error";
    case ErrorKind::kInternal: return "internal_error";
    case ErrorKind::kNotImplemented: return "not_implemented_error";
    case ErrorKind::kUpstreamUnreachable: return "upstream_error";
    case ErrorKind::kUpstreamInvalid: return "upstream_error";
    case ErrorKind::kUnavailable: return "service_unavailable_error";
    case ErrorKind::kUpstreamTimeout: return "timeout_error";
    case ErrorKind::kUpstreamStatus: {
      int s = http_status(error);
      if (s == 400) return "invalid_request_error";
      if (s == 401) return "authentication_error";
      if (s == 403) return "permission_error";
      if (s == 404) return "not_found_error";
      if (s == 429) return "rate_limit_error";
      if (s >= 500) return "api_error";
      return "upstream_error";
    }
  }
  return "internal_error";
}

std::string error_body(const Error& error) {
  // An upstream that already answered in OpenAI shape keeps its own words.
  if (error.kind == ErrorKind::kUpstreamStatus && !error.upstream_body_error.empty()) {
    return error.upstream_body_error;
  }
  boost::json::object inner;
  inner["message"] = error.message;
  inner["type"] = error_type(error);
  inner["param"] = error.param ? boost::json::value(*error.param) : boost::json::value(nullptr);
  inner["code"] = error.code ? boost::json::value(*error.code) : boost::json::value(nullptr);
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

}  // namespace switchyard
