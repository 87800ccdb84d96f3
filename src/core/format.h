#pragma once
// Number and time formatting for the request path (access log, headers,
// spend rows, ids). snprintf went through the locale-aware printf machinery
// and cost ~7% of all instructions per request (callgrind); these write the
// same text with std::to_chars and plain digit loops.
#include <charconv>
#include <cstdint>
#include <string>

namespace switchyard {

// "12.345": fixed notation with 3 decimals (milliseconds with µs precision).
void append_fixed3(std::string& out, double value);
// Shortest text that reads back as the same double ("0.1", "2.5e-06").
void append_shortest(std::string& out, double value);
void append_int(std::string& out, int64_t value);
// "2026-11-27T22:18:52.123Z" (UTC, milliseconds) for a Unix time in ms.
void append_iso8601_ms(std::string& out, int64_t unix_ms);
// A random version-4 UUID, lower-case hex ("xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx").
std::string random_uuid();
// A version-7 UUID (RFC 9562): 48 bits of Unix milliseconds, then 74 random
// bits. Ids made later sort later, so the B-tree indexes keyed on them (spend
// logs' request_id) grow at their right edge instead of touching a random
// page per insert.
std::string time_ordered_uuid();
std::string time_ordered_uuid(int64_t unix_ms);

}  // namespace switchyard
