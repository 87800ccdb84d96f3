#pragma once
// One error type for the whole request path, and the single table that maps it
// to an HTTP status and the OpenAI error JSON shape
// {"error":{"message","type","param","code"}}.
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace switchyard {

enum class ErrorKind {
  kInvalidRequest,      // 400: malformed JSON, missing field, unknown model
  kAuthentication,      // 401: missing or wrong key
  kPermissionDenied,    // 403
  kNotFound,            // 404: unknown route or model id
  kMethodNotAllowed,    // 405
  kRequestTooLarge,     // 413
  kUnprocessable,       // 422: well-formed, but the thing it names cannot be used
  kRateLimited,         // 429 produced by the gateway itself
  kInternal,            // 500: a gateway bug; never leaks details
  kNotImplemented,      // 501: provider/feature recognised but not available yet
  kUpstreamUnreachable, // 502: connect failure, reset before a response
  kUpstreamInvalid,     // 502: upstream answered something that is not HTTP/JSON we can use
  kUnavailable,         // 503: draining or no healthy deployment
  kUpstreamTimeout,     // 504
  kUpstreamStatus,      // upstream HTTP error passed through with its own status
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
  std::optional<std::string> param;
  std::optional<std::string> code;
  int upstream_status = 0;          // only for kUpstreamStatus
  std::string retry_after;          // forwarded `retry-after` header, if any
  std::string upstream_body_error;  // serialized upstream {"error":{...}} to pass through

  static Error make(ErrorKind kind, std::string message, std::optional<std::string> code = {},
                    std::optional<std::string> param = {}) {
    Error e;
    e.kind = kind;
    e.message = std::move(message);
    e.code = std::move(code);
    e.param = std::move(param);
    return e;
  }
};

int http_status(const Error& error);
const char* error_type(const Error& error);
// Serialized OpenAI-shaped error object: {"error":{...}}.
std::string error_body(const Error& error);

// Minimal expected-like result: either a value or an Error.
template <typename T>
class Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : data_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(data_); }
  const T& value() const { return std::get<0>(data_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(data_); }

 private:
  std::variant<T, Error> data_;
};

}  // namespace switchyard
