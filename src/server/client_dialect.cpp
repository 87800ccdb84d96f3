#include "server/client_dialect.h"

#include <boost/json.hpp>

#include "providers/anthropic/translate_response.h"

namespace switchyard {

Result<std::string> AnthropicClientEncoder::body(std::string_view openai_json) const {
  boost::json::error_code ec;
  auto parsed = boost::json::parse(openai_json, ec);
  if (ec || !parsed.is_object()) {
    return Error::make(ErrorKind::kUpstreamInvalid, "Upstream answer is not a JSON object",
                       "upstream_invalid_response");
  }
  auto converted = anthropic::openai_to_anthropic_response(parsed.as_object(), model_, id_);
  if (!converted) return converted.error();
  return boost::json::serialize(*converted);
}

std::pair<int, std::string> AnthropicClientEncoder::error(const Error& error) const {
  auto translated = anthropic::anthropic_error_from(error);
  return {translated.status, boost::json::serialize(translated.body)};
}

}  // namespace switchyard
