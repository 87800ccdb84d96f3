#include "core/format.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <set>

#include "telemetry/log.h"

using namespace switchyard;

TEST(Format, FixedThreeDecimals) {
  std::string s;
  append_fixed3(s, 0.1085);
  EXPECT_EQ(s, "0.108");  // nearest double to 0.1085 is just below it
  s.clear();
  append_fixed3(s, 12.3456);
  EXPECT_EQ(s, "12.346");
  s.clear();
  append_fixed3(s, 0);
  EXPECT_EQ(s, "0.000");
}

TEST(Format, ShortestRoundTrips) {
  for (double v : {0.1, 2.5e-06, 1.0 / 3.0, 123456789.125, 0.0}) {
    std::string s;
    append_shortest(s, v);
    EXPECT_EQ(std::stod(s), v) << s;
  }
  std::string s;
  append_shortest(s, 0.1);
  EXPECT_EQ(s, "0.1");
}

TEST(Format, IntegersAndTimes) {
  std::string s;
  append_int(s, -1);
  s += ' ';
  append_int(s, 9007199254740993);
  EXPECT_EQ(s, "-1 9007199254740993");
  s.clear();
  append_iso8601_ms(s, 1795817932123);  // 2026-11-27T22:18:52.123Z
  EXPECT_EQ(s, "2026-11-27T22:18:52.123Z");
  s.clear();
  append_iso8601_ms(s, 5);
  EXPECT_EQ(s, "1970-01-01T00:00:00.005Z");
}

TEST(Format, RandomUuidIsVersion4) {
  const std::regex shape("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = random_uuid();
    EXPECT_TRUE(std::regex_match(id, shape)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Format, TimeOrderedUuidIsVersion7AndSortsByTime) {
  const std::regex shape("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  // 2026-11-28T00:00:00Z = 1795824000000 ms: the first 12 hex digits are it.
  const std::string fixed = time_ordered_uuid(1795824000000);
  EXPECT_TRUE(std::regex_match(fixed, shape)) << fixed;
  EXPECT_EQ(fixed.substr(0, 8) + fixed.substr(9, 4), "01a21f739c00") << fixed;
  std::set<std::string> seen;
  std::string previous_ms_id;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = time_ordered_uuid(1795824000000 + i);
    EXPECT_TRUE(std::regex_match(id, shape)) << id;
    if (!previous_ms_id.empty()) {
      EXPECT_LT(previous_ms_id, id);  // later ms, larger id
    }
    previous_ms_id = id;
    seen.insert(time_ordered_uuid(1795824000000));  // same ms: still distinct
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_TRUE(std::regex_match(time_ordered_uuid(), shape));
}

TEST(JsonString, EscapesLikeJsonAndRoundTrips) {
  EXPECT_EQ(json_string(""), "\"\"");
  EXPECT_EQ(json_string("plain text"), "\"plain text\"");
  EXPECT_EQ(json_string("a\"b\\c\nd\re\tf"), "\"a\\\"b\\\\c\\nd\\re\\tf\"");
  EXPECT_EQ(json_string(std::string_view("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // UTF-8 passes through
  std::string all;
  for (int c = 1; c < 128; ++c) all.push_back(static_cast<char>(c));
  const auto parsed = boost::json::parse(json_string(all));
  EXPECT_EQ(parsed.as_string(), all);
  std::string appended = "x";
  append_json_string(appended, "q\"");
  EXPECT_EQ(appended, "x\"q\\\"\"");
}
