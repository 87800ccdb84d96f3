#include "api/usage_scan.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace switchyard {
namespace {

// What the DOM route (parse, then usage_from) says about the same text.
bool dom_usage(const std::string& text, TokenUsage& usage) {
  boost::json::error_code ec;
  auto value = boost::json::parse(text, ec);
  if (ec || !value.is_object()) return false;
  usage = usage_from(value.as_object());
  return true;
}

void expect_same_as_dom(const std::string& text) {
  TokenUsage scanned;
  TokenUsage parsed;
  const bool scan_ok = scan_response_usage(text, scanned);
  const bool dom_ok = dom_usage(text, parsed);
  ASSERT_EQ(scan_ok, dom_ok) << text;
  if (!dom_ok) return;
  EXPECT_EQ(scanned.prompt_tokens, parsed.prompt_tokens) << text;
  EXPECT_EQ(scanned.completion_tokens, parsed.completion_tokens) << text;
  EXPECT_EQ(scanned.total_tokens, parsed.total_tokens) << text;
}

TEST(UsageScan, ReadsAnOpenAIAnswer) {
  const std::string body = R"({"id":"chatcmpl-1","object":"chat.completion","created":1,
    "model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant",
    "content":"the word \"usage\": {\"prompt_tokens\": 999} in text"},"finish_reason":"stop"}],
    "usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18,
    "prompt_tokens_details":{"cached_tokens":3,"total_tokens":77}}})";
  TokenUsage usage;
  ASSERT_TRUE(scan_response_usage(body, usage));
  EXPECT_EQ(usage.prompt_tokens, 11);
  EXPECT_EQ(usage.completion_tokens, 7);
  EXPECT_EQ(usage.total_tokens, 18);
  expect_same_as_dom(body);
}

TEST(UsageScan, AgreesWithTheDomOnEdgeCases) {
  const std::vector<std::string> cases = {
      R"({})",
      R"({"usage":null})",
      R"({"usage":{"prompt_tokens":5}})",                        // total derived
      R"({"usage":{"prompt_tokens":5,"completion_tokens":2}})",  // total derived
      R"({"usage":{"prompt_tokens":1.9e1,"completion_tokens":18446744073709551615}})",
      R"({"usage":{"prompt_tokens":"5","total_tokens":[1]}})",  // not numbers
      R"({"usage":{"prompt_tokens":{"n":5},"total_tokens":9}})",
      R"({"usage":{"prompt_tokens":3},"usage":{"completion_tokens":4}})",  // last wins
      R"({"usage":{"prompt_tokens":3},"usage":7})",
      R"({"usage":{"prompt_tokens":3,"prompt_tokens":null}})",
      R"({"choices":[{"usage":{"prompt_tokens":42}}],"x":{"usage":{"total_tokens":1}}})",
      R"({"a_very_long_key_name_that_overflows_the_buffer":1,"usage":{"total_tokens":2}})",
      R"({"usage":{"completion_tokens_details_something_long":5,"total_tokens":6}})",
  };
  for (const auto& text : cases) expect_same_as_dom(text);
}

TEST(UsageScan, RejectsWhatIsNotOneJsonObject) {
  for (const std::string text : {"", "[]", "42", "\"s\"", "{", R"({"a":1} {"b":2})", R"({"a":})",
                                 "null", R"({"usage":{"prompt_tokens":1})"}) {
    TokenUsage usage;
    EXPECT_FALSE(scan_response_usage(text, usage)) << text;
    expect_same_as_dom(text);
  }
}

// Keys split across parser calls cannot happen with one write_some, but an
// escaped key arrives in parts: "prompt\u005ftokens" is prompt_tokens.
TEST(UsageScan, HandlesEscapedKeys) {
  expect_same_as_dom(R"({"usage":{"prompt\u005ftokens":8,"total_tokens":9}})");
  TokenUsage usage;
  ASSERT_TRUE(scan_response_usage(R"({"usage":{"prompt\u005ftokens":8}})", usage));
  EXPECT_EQ(usage.prompt_tokens, 8);
}

}  // namespace
}  // namespace switchyard
