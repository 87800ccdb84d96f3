#pragma once
// One parser for the UTC timestamps clients and cloud APIs send:
// "2026-11-27", "2026-11-27T22:00:00Z", "2026-11-27 22:00:00.123+00:00".
#include <cstdint>
#include <optional>
#include <string_view>

namespace switchyard {

// Milliseconds since the epoch; nullopt for anything else (other zones
// included). `date_only` is set when the text was a bare date.
std::optional<int64_t> parse_utc_time_ms(std::string_view text, bool* date_only = nullptr);

}  // namespace switchyard
