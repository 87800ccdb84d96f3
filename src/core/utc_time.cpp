#include "core/utc_time.h"

#include <cstdio>
#include <ctime>
#include <string>

namespace switchyard {

std::optional<int64_t> parse_utc_time_ms(std::string_view text, bool* date_only) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const std::string t(text);
  int consumed = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3 || consumed != 10) {
    return std::nullopt;
  }
  if (date_only) *date_only = t.size() == 10;
  int64_t frac_ms = 0;
  if (t.size() > 10) {
    if (t[10] != 'T' && t[10] != ' ') return std::nullopt;
    int more = 0;
    if (std::sscanf(t.c_str() + 11, "%2d:%2d:%2d%n", &h, &mi, &s, &more) != 3) return std::nullopt;
    size_t pos = 11 + static_cast<size_t>(more);
    if (pos < t.size() && t[pos] == '.') {
      ++pos;
      int64_t scale = 100;
      while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
        frac_ms += (t[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
    }
    const std::string_view zone = std::string_view(t).substr(pos);
    if (!(zone.empty() || zone == "Z" || zone == "+00:00" || zone == "+0000")) return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + frac_ms;
}

}  // namespace switchyard
