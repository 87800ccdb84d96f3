#pragma once
// Bedrock Converse response and error translation to OpenAI Chat Completions.
// Pure functions; safe on any thread. Mapping tables: docs/providers.md
// ("Bedrock").
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace switchyard::bedrock {

// Converse response body -> OpenAI chat.completion. Converse replies carry no
// id, so `id` is the gateway's (e.g. "chatcmpl-..."); `model` is what the
// client asked for. `created` defaults to the current time. A reply with no
// output message gives an empty assistant message (content "").
boost::json::object converse_to_openai_response(const boost::json::object& converse,
                                                const std::string& model, const std::string& id,
                                                std::optional<int64_t> created = std::nullopt);

// An error in OpenAI shape with the HTTP status to send to the client.
struct TranslatedError {
  int status = 502;
  std::string error_type;    // normalized Bedrock exception name, e.g. "ThrottlingException"
  boost::json::object body;  // {"error":{"message","type","param":null,"code"}}
};

// A Bedrock error reply -> OpenAI error. `error_type_header` is the
// x-amzn-ErrorType response header (may be empty: then the body's __type or
// code is used); `raw_body` is the upstream body (usually {"message": "..."},
// but it may not be JSON at all). The status is `upstream_status` when it is
// 4xx/5xx, else the status AWS documents for the exception, else 502.
// `code` is the exception name, except "context_length_exceeded" for a
// ValidationException about an over-long prompt (so context-window
// fallbacks can recognise it).
TranslatedError bedrock_error_to_openai(std::string_view error_type_header,
                                        std::string_view raw_body, int upstream_status);

// The same as an Error (kUpstreamStatus, upstream_body_error set) for the
// proxy's error path: http_status() and error_body() then give the values above.
Error bedrock_upstream_error(std::string_view error_type_header, std::string_view raw_body,
                             int upstream_status, std::string retry_after = {});

// Builds the OpenAI error for an exception with a known name and message
// (event-stream exceptions); status from the AWS table, else 502.
TranslatedError bedrock_exception_to_openai(std::string_view error_type, std::string_view message,
                                            int upstream_status = 0);

}  // namespace switchyard::bedrock
