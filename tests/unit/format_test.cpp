#include "core/format.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <random>
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

// append_fixed3 has an integer fast path; it must print exactly what
// std::to_chars(fixed, 3) prints, near-ties and odd values included.
TEST(Format, FixedThreeDecimalsMatchesToChars) {
  auto reference = [](double v) {
    char buf[400];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 3);
    return ec == std::errc() ? std::string(buf, end) : std::string();
  };
  std::vector<double> values = {0.0,         -0.0,        0.0005, 0.0015,       0.0025, 1.0005,
                                999999.9995, 999999.9999, 1e6,    1e6 + 0.0005, 1e12,   -1.5,
                                -0.0004,     5e-324,      1e-7,   0.9999995,    2.675,  123.4565};
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> wide(0, 1e6);
  std::uniform_real_distribution<double> narrow(0, 100);
  for (int i = 0; i < 20000; ++i) {
    values.push_back(wide(rng));
    values.push_back(narrow(rng));
    // Values whose thousandfold lands on or right next to a .5 tie.
    const double tie = (static_cast<double>(rng() % 100000000) + 0.5) / 1000;
    values.push_back(tie);
    values.push_back(std::nextafter(tie, 0.0));
    values.push_back(std::nextafter(tie, 1e9));
  }
  for (double v : values) {
    std::string s;
    append_fixed3(s, v);
    ASSERT_EQ(s, reference(v)) << std::hexfloat << v;
  }
  std::string s = "x";
  append_fixed3(s, std::numeric_limits<double>::quiet_NaN());
  std::string expected = "x";
  expected += reference(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(s, expected);
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

// append_json_string skips 8 plain bytes at a time; every byte that needs an
// escape must still get it, wherever it sits in the word.
TEST(JsonString, WordAtATimeScanMatchesBytewiseEscaping) {
  auto reference = [](std::string_view text) {
    std::string out = "\"";
    for (char ch : text) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"') {
        out += "\\\"";
      } else if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      } else {
        out += ch;
      }
    }
    return out + "\"";
  };
  // Bytes around each boundary the word test uses, plus high (UTF-8) bytes.
  const std::string alphabet =
      std::string("\x00\x01\x1f\x20\x21\x22\x23\x5b\x5c\x5d\x7f\x80\x9f\xa2\xdc\xff", 16) +
      "abcXYZ09";
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const size_t len = rng() % 40;
    std::string text;
    for (size_t j = 0; j < len; ++j) {
      // Mostly plain text with a rare special byte, so whole plain words occur.
      text += (rng() % 8 == 0) ? alphabet[rng() % alphabet.size()]
                               : static_cast<char>('a' + rng() % 26);
    }
    std::string out = "x";
    append_json_string(out, text);
    std::string expected = "x";
    expected += reference(text);
    ASSERT_EQ(out, expected) << i;
  }
  // One special byte at every position of a 24-byte plain string.
  for (char special : {'"', '\\', '\n', '\x01', '\x1f'}) {
    for (size_t pos = 0; pos < 24; ++pos) {
      std::string text(24, 'k');
      text[pos] = special;
      EXPECT_EQ(json_string(text), reference(text)) << pos;
    }
  }
}
