// Golden-file tests for the OpenAI <-> Anthropic translators. Inputs are the
// providers' documented examples (tests/golden/anthropic/README.md); each
// NAME.in.* has a NAME.out.* (or NAME.error.json) compared as parsed JSON.
// Streams are also fed split at every byte offset, byte by byte, in random
// pieces (fixed seed) and with CRLF line ends, and must give the same bytes.
//
// SWITCHYARD_GOLDEN_ACTUAL=1 writes NAME.actual.* beside a failing case so the
// difference can be reviewed; expected files are never written by the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "golden.h"
#include "providers/anthropic/stream_translator.h"
#include "providers/anthropic/translate_request.h"
#include "providers/anthropic/translate_response.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace switchyard;
using namespace switchyard::anthropic;

namespace {

const fs::path kRoot = golden::root("anthropic");
constexpr int64_t kCreated = 1700000000;

using golden::maybe_write_actual;
using golden::param_name;
using golden::read_file;
using golden::read_json;

json::object read_options(const fs::path& dir, const std::string& name) {
  fs::path p = dir / (name + ".options.json");
  if (!fs::exists(p)) return {};
  return read_json(p).as_object();
}

std::vector<std::string> case_names(const std::string& dir, const std::string& in_suffix) {
  return golden::case_names(kRoot / dir, in_suffix);
}

// One event of a translator's output: "event:" name (may be empty) and data.
struct Event {
  std::string name;
  std::string data;
};

// Deliberately independent of SseEventParser: the translators write a fixed
// framing ("[event: X\n]data: Y\n\n"), so a plain split is enough.
std::vector<Event> split_events(const std::string& text) {
  std::vector<Event> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) {
      ADD_FAILURE() << "unterminated event at offset " << pos;
      break;
    }
    std::string block = text.substr(pos, end - pos);
    Event e;
    std::istringstream lines(block);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("event: ", 0) == 0) e.name = line.substr(7);
      if (line.rfind("data: ", 0) == 0) e.data = line.substr(6);
    }
    out.push_back(std::move(e));
    pos = end + 2;
  }
  return out;
}

void expect_same_events(const std::string& actual, const std::string& expected) {
  auto a = split_events(actual);
  auto e = split_events(expected);
  ASSERT_EQ(a.size(), e.size()) << "actual:\n" << actual;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, e[i].name) << "event " << i;
    if (e[i].data == "[DONE]" || a[i].data == "[DONE]") {
      EXPECT_EQ(a[i].data, e[i].data) << "event " << i;
      continue;
    }
    json::error_code ec1, ec2;
    auto av = json::parse(a[i].data, ec1);
    auto ev = json::parse(e[i].data, ec2);
    ASSERT_FALSE(ec1) << "event " << i << " is not JSON: " << a[i].data;
    ASSERT_FALSE(ec2) << "expected event " << i << " is not JSON: " << e[i].data;
    EXPECT_EQ(av, ev) << "event " << i << "\n  actual:   " << a[i].data
                      << "\n  expected: " << e[i].data;
  }
}

// Runs a translator over `input` cut into the given pieces.
template <typename Make>
std::string run_stream(Make make, const std::string& input, const std::vector<size_t>& cuts) {
  auto t = make();
  std::string out;
  size_t prev = 0;
  for (size_t cut : cuts) {
    t.feed(std::string_view(input).substr(prev, cut - prev), out);
    prev = cut;
  }
  t.feed(std::string_view(input).substr(prev), out);
  t.finish(out);
  return out;
}

std::string to_crlf(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// The split-invariance checks shared by both stream directions.
template <typename Make>
void expect_split_invariant(Make make, const std::string& input) {
  const std::string whole = run_stream(make, input, {});
  for (size_t k = 0; k <= input.size(); ++k) {
    std::string out = run_stream(make, input, {k});
    if (out != whole) {
      ADD_FAILURE() << "output differs when split at offset " << k;
      return;
    }
  }
  std::vector<size_t> every_byte;
  for (size_t k = 1; k < input.size(); ++k) every_byte.push_back(k);
  EXPECT_EQ(run_stream(make, input, every_byte), whole) << "byte-by-byte";

  std::mt19937 rng(20240601);
  for (int round = 0; round < 200; ++round) {
    std::uniform_int_distribution<size_t> count(1, 40);
    std::uniform_int_distribution<size_t> offset(0, input.size());
    std::vector<size_t> cuts(count(rng));
    for (auto& c : cuts) c = offset(rng);
    std::sort(cuts.begin(), cuts.end());
    std::string out = run_stream(make, input, cuts);
    if (out != whole) {
      ADD_FAILURE() << "output differs for random split round " << round;
      return;
    }
  }
  const std::string crlf = to_crlf(input);
  EXPECT_EQ(run_stream(make, crlf, {}), whole) << "CRLF line ends";
  for (size_t k = 0; k <= crlf.size(); k += 7) {
    if (run_stream(make, crlf, {k}) != whole) {
      ADD_FAILURE() << "CRLF output differs when split at offset " << k;
      return;
    }
  }
}

void expect_error(const Error& err, const json::object& expected) {
  EXPECT_EQ(http_status(err), expected.at("status").as_int64());
  EXPECT_STREQ(error_type(err), expected.at("type").as_string().c_str());
  ASSERT_TRUE(err.param.has_value()) << err.message;
  EXPECT_EQ(*err.param, expected.at("param").as_string()) << err.message;
  ASSERT_TRUE(err.code.has_value()) << err.message;
  EXPECT_EQ(*err.code, expected.at("code").as_string()) << err.message;
  EXPECT_FALSE(err.message.empty());
}

// ---------------------------------------------------------------------------

class OpenAIToAnthropicRequestGolden : public testing::TestWithParam<std::string> {};
TEST_P(OpenAIToAnthropicRequestGolden, Matches) {
  const fs::path dir = kRoot / "openai_to_anthropic_request";
  const std::string name = GetParam();
  auto in = read_json(dir / (name + ".in.json"));
  auto opts = read_options(dir, name);
  std::optional<int64_t> default_max;
  if (auto* d = opts.if_contains("default_max_tokens")) default_max = d->as_int64();
  auto got = openai_to_anthropic_request(in.as_object(), "claude-opus-4-1-20250805", default_max);
  ASSERT_TRUE(got.ok()) << got.error().message;
  auto expected = read_json(dir / (name + ".out.json"));
  EXPECT_EQ(json::value(*got), expected) << json::serialize(*got);
  if (json::value(*got) != expected)
    maybe_write_actual(dir / (name + ".actual.json"), json::serialize(*got));
}
INSTANTIATE_TEST_SUITE_P(Anthropic, OpenAIToAnthropicRequestGolden,
                         testing::ValuesIn(case_names("openai_to_anthropic_request", ".in.json")),
                         param_name);

class OpenAIToAnthropicRequestErrorGolden : public testing::TestWithParam<std::string> {};
TEST_P(OpenAIToAnthropicRequestErrorGolden, Rejects) {
  const fs::path dir = kRoot / "openai_to_anthropic_request_errors";
  auto in = read_json(dir / (GetParam() + ".in.json"));
  auto got = openai_to_anthropic_request(in.as_object(), "claude-opus-4-1-20250805", std::nullopt);
  ASSERT_FALSE(got.ok()) << json::serialize(got.value());
  expect_error(got.error(), read_json(dir / (GetParam() + ".error.json")).as_object());
}
INSTANTIATE_TEST_SUITE_P(Anthropic, OpenAIToAnthropicRequestErrorGolden,
                         testing::ValuesIn(case_names("openai_to_anthropic_request_errors",
                                                      ".in.json")),
                         param_name);

class AnthropicToOpenAIResponseGolden : public testing::TestWithParam<std::string> {};
TEST_P(AnthropicToOpenAIResponseGolden, Matches) {
  const fs::path dir = kRoot / "anthropic_to_openai_response";
  const std::string name = GetParam();
  auto in = read_json(dir / (name + ".in.json"));
  auto got = anthropic_to_openai_response(in.as_object(), "claude-opus", "chatcmpl-hint", kCreated);
  auto expected = read_json(dir / (name + ".out.json"));
  EXPECT_EQ(json::value(got), expected) << json::serialize(got);
  if (json::value(got) != expected)
    maybe_write_actual(dir / (name + ".actual.json"), json::serialize(got));
}
INSTANTIATE_TEST_SUITE_P(Anthropic, AnthropicToOpenAIResponseGolden,
                         testing::ValuesIn(case_names("anthropic_to_openai_response", ".in.json")),
                         param_name);

class AnthropicToOpenAIStreamGolden : public testing::TestWithParam<std::string> {};
TEST_P(AnthropicToOpenAIStreamGolden, Matches) {
  const fs::path dir = kRoot / "anthropic_to_openai_stream";
  const std::string name = GetParam();
  const std::string input = read_file(dir / (name + ".in.sse"));
  auto opts = read_options(dir, name);
  bool include_usage = false;
  if (auto* u = opts.if_contains("include_usage")) include_usage = u->as_bool();
  auto make = [&] {
    return AnthropicToOpenAIStream("claude-opus", "chatcmpl-hint", include_usage, kCreated);
  };
  auto t = make();
  std::string out;
  t.feed(input, out);
  t.finish(out);
  expect_same_events(out, read_file(dir / (name + ".out.sse")));
  if (HasFailure()) maybe_write_actual(dir / (name + ".actual.sse"), out);

  if (auto* e = opts.if_contains("expect")) {
    const auto& ex = e->as_object();
    EXPECT_EQ(t.ended_cleanly(), ex.at("ended_cleanly").as_bool());
    EXPECT_EQ(t.saw_error(), ex.at("saw_error").as_bool());
    if (auto* fr = ex.if_contains("finish_reason")) {
      ASSERT_TRUE(t.finish_reason().has_value());
      EXPECT_EQ(*t.finish_reason(), fr->as_string());
    }
    if (auto* p = ex.if_contains("prompt_tokens")) {
      EXPECT_EQ(t.usage().prompt_tokens, p->as_int64());
    }
    if (auto* c = ex.if_contains("completion_tokens")) {
      EXPECT_EQ(t.usage().completion_tokens, c->as_int64());
      EXPECT_EQ(t.usage().total_tokens, t.usage().prompt_tokens + c->as_int64());
    }
  }
  expect_split_invariant(make, input);
}
INSTANTIATE_TEST_SUITE_P(Anthropic, AnthropicToOpenAIStreamGolden,
                         testing::ValuesIn(case_names("anthropic_to_openai_stream", ".in.sse")),
                         param_name);

class AnthropicToOpenAIRequestGolden : public testing::TestWithParam<std::string> {};
TEST_P(AnthropicToOpenAIRequestGolden, Matches) {
  const fs::path dir = kRoot / "anthropic_to_openai_request";
  const std::string name = GetParam();
  auto in = read_json(dir / (name + ".in.json"));
  auto got = anthropic_to_openai_request(in.as_object(), "gpt-4.1");
  ASSERT_TRUE(got.ok()) << got.error().message;
  auto expected = read_json(dir / (name + ".out.json"));
  EXPECT_EQ(json::value(*got), expected) << json::serialize(*got);
  if (json::value(*got) != expected)
    maybe_write_actual(dir / (name + ".actual.json"), json::serialize(*got));
}
INSTANTIATE_TEST_SUITE_P(Anthropic, AnthropicToOpenAIRequestGolden,
                         testing::ValuesIn(case_names("anthropic_to_openai_request", ".in.json")),
                         param_name);

class AnthropicToOpenAIRequestErrorGolden : public testing::TestWithParam<std::string> {};
TEST_P(AnthropicToOpenAIRequestErrorGolden, Rejects) {
  const fs::path dir = kRoot / "anthropic_to_openai_request_errors";
  auto in = read_json(dir / (GetParam() + ".in.json"));
  auto got = anthropic_to_openai_request(in.as_object(), "gpt-4.1");
  ASSERT_FALSE(got.ok()) << json::serialize(got.value());
  expect_error(got.error(), read_json(dir / (GetParam() + ".error.json")).as_object());
}
INSTANTIATE_TEST_SUITE_P(Anthropic, AnthropicToOpenAIRequestErrorGolden,
                         testing::ValuesIn(case_names("anthropic_to_openai_request_errors",
                                                      ".in.json")),
                         param_name);

class OpenAIToAnthropicResponseGolden : public testing::TestWithParam<std::string> {};
TEST_P(OpenAIToAnthropicResponseGolden, Matches) {
  const fs::path dir = kRoot / "openai_to_anthropic_response";
  const std::string name = GetParam();
  auto in = read_json(dir / (name + ".in.json"));
  auto got = openai_to_anthropic_response(in.as_object(), "claude-via-openai", "msg_hint");
  ASSERT_TRUE(got.ok()) << got.error().message;
  auto expected = read_json(dir / (name + ".out.json"));
  EXPECT_EQ(json::value(*got), expected) << json::serialize(*got);
  if (json::value(*got) != expected)
    maybe_write_actual(dir / (name + ".actual.json"), json::serialize(*got));
}
INSTANTIATE_TEST_SUITE_P(Anthropic, OpenAIToAnthropicResponseGolden,
                         testing::ValuesIn(case_names("openai_to_anthropic_response", ".in.json")),
                         param_name);

class OpenAIToAnthropicStreamGolden : public testing::TestWithParam<std::string> {};
TEST_P(OpenAIToAnthropicStreamGolden, Matches) {
  const fs::path dir = kRoot / "openai_to_anthropic_stream";
  const std::string name = GetParam();
  const std::string input = read_file(dir / (name + ".in.sse"));
  auto opts = read_options(dir, name);
  auto make = [] { return OpenAIToAnthropicStream("claude-via-openai", "msg_hint"); };
  auto t = make();
  std::string out;
  t.feed(input, out);
  t.finish(out);
  expect_same_events(out, read_file(dir / (name + ".out.sse")));
  if (HasFailure()) maybe_write_actual(dir / (name + ".actual.sse"), out);
  if (auto* e = opts.if_contains("expect")) {
    const auto& ex = e->as_object();
    EXPECT_EQ(t.ended_cleanly(), ex.at("ended_cleanly").as_bool());
    EXPECT_EQ(t.saw_error(), ex.at("saw_error").as_bool());
    if (auto* s = ex.if_contains("stop_reason")) {
      ASSERT_TRUE(t.stop_reason().has_value());
      EXPECT_EQ(*t.stop_reason(), s->as_string());
    }
    if (auto* p = ex.if_contains("prompt_tokens")) {
      EXPECT_EQ(t.usage().prompt_tokens, p->as_int64());
    }
    if (auto* c = ex.if_contains("completion_tokens")) {
      EXPECT_EQ(t.usage().completion_tokens, c->as_int64());
    }
  }
  expect_split_invariant(make, input);
}
INSTANTIATE_TEST_SUITE_P(Anthropic, OpenAIToAnthropicStreamGolden,
                         testing::ValuesIn(case_names("openai_to_anthropic_stream", ".in.sse")),
                         param_name);

// A missing or renamed golden directory must fail, not silently run nothing;
// every input needs its expected file.
TEST(AnthropicGolden, EveryDirectoryHasCompleteCases) {
  struct Dir {
    const char* name;
    const char* in;
    const char* out;
    size_t min_cases;
  };
  const Dir dirs[] = {
      {"openai_to_anthropic_request", ".in.json", ".out.json", 10},
      {"openai_to_anthropic_request_errors", ".in.json", ".error.json", 20},
      {"anthropic_to_openai_response", ".in.json", ".out.json", 6},
      {"anthropic_to_openai_stream", ".in.sse", ".out.sse", 6},
      {"anthropic_to_openai_request", ".in.json", ".out.json", 7},
      {"anthropic_to_openai_request_errors", ".in.json", ".error.json", 7},
      {"openai_to_anthropic_response", ".in.json", ".out.json", 4},
      {"openai_to_anthropic_stream", ".in.sse", ".out.sse", 4},
  };
  for (const auto& d : dirs) {
    auto names = case_names(d.name, d.in);
    EXPECT_GE(names.size(), d.min_cases) << d.name;
    for (const auto& n : names) {
      EXPECT_TRUE(fs::exists(kRoot / d.name / (n + d.out))) << d.name << "/" << n << d.out;
    }
  }
}

}  // namespace
