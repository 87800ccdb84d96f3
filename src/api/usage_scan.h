#pragma once
// Reads the "usage" of an OpenAI-style response body without building a JSON
// DOM. The gateway forwards an OpenAI-compatible answer unchanged and needs
// only its token counts; a full parse into boost::json values cost ~10k
// instructions per request (callgrind), most of it building objects that are
// thrown away.
#include <string_view>

#include "api/inbound.h"

namespace switchyard {

// True if `text` is exactly one valid JSON object; then `usage` holds what its
// top-level "usage" object says (the same values usage_from() reads from a
// parsed DOM, including the last-key-wins rule for duplicate keys).
bool scan_response_usage(std::string_view text, TokenUsage& usage);

}  // namespace switchyard
