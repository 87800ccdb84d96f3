#pragma once
// OpenAI Chat Completions request -> Amazon Bedrock Runtime Converse /
// ConverseStream request. Pure functions: no I/O, no clock, no state; safe on
// any thread. What is translated, rejected (400) and dropped is listed in
// docs/providers.md ("Bedrock").
#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "core/error.h"

namespace switchyard::bedrock {

// Request path for a Bedrock model, inference-profile id or ARN:
// "/model/{id}/converse" or "/model/{id}/converse-stream", the id encoded as
// one path segment (":" -> %3A, "/" -> %2F). This is the path as sent on the
// wire; SigV4 signs it encoded once more (SigV4Request::double_encode_path).
std::string converse_path(std::string_view model_id, bool stream);

// OpenAI /v1/chat/completions body -> Converse body (the same body serves
// Converse and ConverseStream; `model` and `stream` travel in the path).
// Errors are kInvalidRequest (400) with `param` naming the offending field,
// e.g. "messages[2].tool_calls[0].function.arguments", and `code` one of
// unsupported_value / unsupported_parameter / invalid_value / invalid_type /
// missing_required_parameter. Gateway-only fields (LiteLLM control fields)
// must be stripped before.
Result<boost::json::object> openai_to_converse_request(const boost::json::object& openai_body);

}  // namespace switchyard::bedrock
