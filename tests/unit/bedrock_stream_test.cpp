// AWS event stream decoding and Bedrock ConverseStream -> OpenAI chunk
// translation. Frames are built byte-exactly here by a small encoder with its
// own (bit-by-bit) CRC32, independent of the decoder under test; one frame is
// also a fixed vector produced with Python's zlib and checked with botocore's
// event stream parser. Streams are fed split at every byte offset, byte by
// byte and in random pieces, and must give identical output.
//
// Golden streams: tests/golden/bedrock/converse_stream/NAME.events.json (the
// events Bedrock sends) -> NAME.out.sse, options in NAME.options.json.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "golden.h"
#include "providers/bedrock/converse_stream.h"
#include "providers/bedrock/event_stream.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace switchyard;
using namespace switchyard::bedrock;

namespace {

// ---------------------------------------------------------------------------
// Test-side encoder.

uint32_t ref_crc32(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFU;
  for (char ch : data) {
    crc ^= static_cast<unsigned char>(ch);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320U & (0U - (crc & 1U)));
  }
  return ~crc;
}

std::string be(uint64_t v, int bytes) {
  std::string s;
  for (int i = bytes - 1; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

struct Header {
  std::string name;
  uint8_t type;
  std::string value;  // encoded value bytes
};

Header str_header(std::string name, std::string_view value) {
  return {std::move(name), 7, be(value.size(), 2) + std::string(value)};
}

std::string frame(const std::vector<Header>& headers, std::string_view payload) {
  std::string hb;
  for (const auto& h : headers) {
    hb += static_cast<char>(h.name.size());
    hb += h.name;
    hb += static_cast<char>(h.type);
    hb += h.value;
  }
  std::string m = be(16 + hb.size() + payload.size(), 4) + be(hb.size(), 4);
  m += be(ref_crc32(m), 4);
  m += hb;
  m += payload;
  m += be(ref_crc32(m), 4);
  return m;
}

std::string event_frame(std::string_view event_type, std::string_view payload) {
  return frame(
      {str_header(":event-type", event_type), str_header(":content-type", "application/json"),
       str_header(":message-type", "event")},
      payload);
}

std::string exception_frame(std::string_view exception_type, std::string_view payload) {
  return frame(
      {str_header(":exception-type", exception_type),
       str_header(":content-type", "application/json"), str_header(":message-type", "exception")},
      payload);
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

// All header types; produced with Python's struct + zlib.crc32 and decoded by
// botocore.eventstream.EventStreamBuffer to the values asserted below.
constexpr std::string_view kAllTypesHex =
    "0000009a000000838a25324209626f6f6c2d74727565000a626f6f6c2d66616c736501046279746502fb0573"
    "686f727403fffe03696e7404075bcd15046c6f6e6705fffffee08e04fb350562797465730600030001ff0673"
    "7472696e6707000668c3a96c6c6f0974696d657374616d70080000018bcfe568000475756964090001020304"
    "05060708090a0b0c0d0e0f7b226b223a317da026ec64";

std::vector<EventStreamMessage> decode_all(EventStreamDecoder& d, std::string_view bytes,
                                           bool* ok = nullptr) {
  std::vector<EventStreamMessage> out;
  bool r = d.feed(bytes, [&](EventStreamMessage&& m) { out.push_back(std::move(m)); });
  if (ok != nullptr) *ok = r;
  return out;
}

// A flat, comparable rendering of decoded messages.
std::string render(const std::vector<EventStreamMessage>& msgs) {
  std::string s;
  for (const auto& m : msgs) {
    s += "{";
    for (const auto& [name, v] : m.headers) {
      s += name + "=" + std::to_string(static_cast<int>(v.type)) + ":" + std::to_string(v.integer) +
           ":" + v.bytes + ";";
    }
    s += "|" + m.payload + "}";
  }
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------
// CRC32 and the decoder.

TEST(BedrockEventStream, Crc32KnownAnswers) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926U);  // the standard CRC-32 check value
  EXPECT_EQ(crc32(""), 0U);
  EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339U);
  // Incremental use equals one pass.
  EXPECT_EQ(crc32("56789", crc32("1234")), 0xCBF43926U);
  EXPECT_EQ(ref_crc32("123456789"), 0xCBF43926U);
}

TEST(BedrockEventStream, EmptyMessageVector) {
  // The smallest message: no headers, no payload. Its two CRCs are the values
  // the AWS SDK test suites use for this message.
  const std::string bytes = from_hex("000000100000000005c248eb7d98c8ff");
  EXPECT_EQ(frame({}, ""), bytes);
  EventStreamDecoder d;
  bool ok = false;
  auto msgs = decode_all(d, bytes, &ok);
  EXPECT_TRUE(ok);
  ASSERT_EQ(msgs.size(), 1U);
  EXPECT_TRUE(msgs[0].headers.empty());
  EXPECT_EQ(msgs[0].payload, "");
  EXPECT_FALSE(d.mid_message());
}

TEST(BedrockEventStream, AllHeaderTypesVector) {
  const std::string bytes = from_hex(kAllTypesHex);
  ASSERT_EQ(bytes.size(), 154U);
  // The test encoder writes the same bytes.
  EXPECT_EQ(frame({{"bool-true", 0, ""},
                   {"bool-false", 1, ""},
                   {"byte", 2, be(0xFB, 1)},
                   {"short", 3, be(0xFFFE, 2)},
                   {"int", 4, be(123456789, 4)},
                   {"long", 5, be(static_cast<uint64_t>(-1234567890123LL), 8)},
                   {"bytes", 6, be(3, 2) + std::string("\x00\x01\xff", 3)},
                   str_header("string", "h\xc3\xa9llo"),
                   {"timestamp", 8, be(1700000000000ULL, 8)},
                   {"uuid", 9, from_hex("000102030405060708090a0b0c0d0e0f")}},
                  "{\"k\":1}"),
            bytes);

  EventStreamDecoder d;
  auto msgs = decode_all(d, bytes);
  ASSERT_EQ(msgs.size(), 1U);
  const auto& m = msgs[0];
  EXPECT_EQ(m.headers.size(), 10U);
  ASSERT_NE(m.header("bool-true"), nullptr);
  EXPECT_EQ(m.header("bool-true")->type, HeaderType::kBoolTrue);
  EXPECT_TRUE(m.header("bool-true")->as_bool());
  EXPECT_EQ(m.header("bool-false")->type, HeaderType::kBoolFalse);
  EXPECT_FALSE(m.header("bool-false")->as_bool());
  EXPECT_EQ(m.header("byte")->type, HeaderType::kByte);
  EXPECT_EQ(m.header("byte")->integer, -5);
  EXPECT_EQ(m.header("short")->type, HeaderType::kShort);
  EXPECT_EQ(m.header("short")->integer, -2);
  EXPECT_EQ(m.header("int")->type, HeaderType::kInt);
  EXPECT_EQ(m.header("int")->integer, 123456789);
  EXPECT_EQ(m.header("long")->type, HeaderType::kLong);
  EXPECT_EQ(m.header("long")->integer, -1234567890123LL);
  EXPECT_EQ(m.header("bytes")->type, HeaderType::kBytes);
  EXPECT_EQ(m.header("bytes")->bytes, std::string("\x00\x01\xff", 3));
  EXPECT_EQ(m.header("string")->type, HeaderType::kString);
  EXPECT_EQ(m.header_string("string"), "h\xc3\xa9llo");
  EXPECT_EQ(m.header("timestamp")->type, HeaderType::kTimestamp);
  EXPECT_EQ(m.header("timestamp")->integer, 1700000000000LL);
  EXPECT_EQ(m.header("uuid")->type, HeaderType::kUuid);
  EXPECT_EQ(m.header("uuid")->bytes, from_hex("000102030405060708090a0b0c0d0e0f"));
  EXPECT_EQ(m.header_string("uuid"), "");  // not a string header
  EXPECT_EQ(m.header("missing"), nullptr);
  EXPECT_EQ(m.payload, "{\"k\":1}");
}

TEST(BedrockEventStream, PositiveIntegersAreNotSignExtended) {
  const std::string bytes = frame({{"b", 2, be(0x7F, 1)},
                                   {"s", 3, be(0x7FFF, 2)},
                                   {"i", 4, be(0x80000000U, 4)},  // INT32_MIN
                                   {"l", 5, be(0x7FFFFFFFFFFFFFFFULL, 8)}},
                                  "");
  EventStreamDecoder d;
  auto msgs = decode_all(d, bytes);
  ASSERT_EQ(msgs.size(), 1U);
  EXPECT_EQ(msgs[0].header("b")->integer, 127);
  EXPECT_EQ(msgs[0].header("s")->integer, 32767);
  EXPECT_EQ(msgs[0].header("i")->integer, INT32_MIN);
  EXPECT_EQ(msgs[0].header("l")->integer, INT64_MAX);
}

TEST(BedrockEventStream, EverySplitGivesTheSameMessages) {
  std::string stream = from_hex(kAllTypesHex);
  stream += event_frame("messageStart", R"({"role":"assistant"})");
  stream += frame({}, "");
  stream += event_frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})");
  stream += exception_frame("throttlingException", R"({"message":"slow down"})");

  EventStreamDecoder whole;
  const std::string expected = render(decode_all(whole, stream));
  ASSERT_EQ(decode_all(whole, "").size(), 0U);
  {
    EventStreamDecoder d;
    EXPECT_EQ(render(decode_all(d, stream)).size(), expected.size());
  }
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    EventStreamDecoder d;
    std::vector<EventStreamMessage> msgs = decode_all(d, std::string_view(stream).substr(0, cut));
    auto rest = decode_all(d, std::string_view(stream).substr(cut));
    for (auto& m : rest) msgs.push_back(std::move(m));
    ASSERT_EQ(render(msgs), expected) << "split at " << cut;
    EXPECT_FALSE(d.mid_message());
    EXPECT_FALSE(d.failed());
  }
  EventStreamDecoder bytewise;
  std::vector<EventStreamMessage> msgs;
  for (char c : stream) {
    for (auto& m : decode_all(bytewise, std::string_view(&c, 1))) msgs.push_back(std::move(m));
  }
  EXPECT_EQ(render(msgs), expected);
  EXPECT_EQ(whole.buffered_bytes(), 0U);
}

TEST(BedrockEventStream, TruncatedFrameYieldsNothingUntilComplete) {
  const std::string f = event_frame("messageStop", R"({"stopReason":"end_turn"})");
  EventStreamDecoder d;
  for (size_t i = 0; i + 1 < f.size(); ++i) {
    bool ok = false;
    EXPECT_TRUE(decode_all(d, std::string_view(&f[i], 1), &ok).empty()) << "byte " << i;
    EXPECT_TRUE(ok);
    EXPECT_TRUE(d.mid_message());
  }
  EXPECT_EQ(d.buffered_bytes(), f.size() - 1);
  auto msgs = decode_all(d, std::string_view(&f.back(), 1));
  ASSERT_EQ(msgs.size(), 1U);
  EXPECT_EQ(msgs[0].header_string(":event-type"), "messageStop");
  EXPECT_EQ(msgs[0].payload, R"({"stopReason":"end_turn"})");
  EXPECT_FALSE(d.mid_message());
}

TEST(BedrockEventStream, PreludeCrcCorruptionIsAnError) {
  const std::string good = event_frame("messageStart", R"({"role":"assistant"})");
  std::string bad = event_frame("contentBlockStop", R"({"contentBlockIndex":0})");
  bad[9] = static_cast<char>(bad[9] ^ 0x01);  // inside prelude_crc
  EventStreamDecoder d;
  bool ok = true;
  auto msgs = decode_all(d, good + bad + good, &ok);
  EXPECT_FALSE(ok);
  EXPECT_TRUE(d.failed());
  EXPECT_NE(d.error().find("prelude CRC"), std::string::npos) << d.error();
  ASSERT_EQ(msgs.size(), 1U);  // the message before the corruption was delivered
  EXPECT_EQ(msgs[0].header_string(":event-type"), "messageStart");
  // Sticky: valid input after an error produces nothing.
  EXPECT_TRUE(decode_all(d, good, &ok).empty());
  EXPECT_FALSE(ok);
  EXPECT_EQ(d.buffered_bytes(), 0U);
}

TEST(BedrockEventStream, MessageCrcCorruptionIsAnError) {
  std::string f =
      event_frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"x"}})");
  for (size_t pos : {size_t{12}, f.size() - 10, f.size() - 1}) {  // a header, the payload, the CRC
    std::string bad = f;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x20);
    // Fed whole and split: same verdict.
    for (size_t cut : {size_t{0}, size_t{5}, bad.size() / 2, bad.size()}) {
      EventStreamDecoder d;
      bool ok1 = true;
      bool ok2 = true;
      auto a = decode_all(d, std::string_view(bad).substr(0, cut), &ok1);
      auto b = decode_all(d, std::string_view(bad).substr(cut), &ok2);
      EXPECT_TRUE(a.empty());
      EXPECT_TRUE(b.empty());
      EXPECT_FALSE(ok1 && ok2) << "pos " << pos << " cut " << cut;
      EXPECT_NE(d.error().find("message CRC"), std::string::npos) << d.error();
    }
  }
}

TEST(BedrockEventStream, ImpossibleLengthsAreErrorsWithoutBuffering) {
  auto prelude = [](uint32_t total, uint32_t headers) {
    std::string p = be(total, 4) + be(headers, 4);
    return p + be(ref_crc32(p), 4);
  };
  {
    // A valid prelude claiming a 1 GiB message: refused at once, nothing buffered.
    EventStreamDecoder d;
    bool ok = true;
    decode_all(d, prelude(1U << 30, 0) + std::string(1000, 'x'), &ok);
    EXPECT_FALSE(ok);
    EXPECT_EQ(d.buffered_bytes(), 0U);
    EXPECT_NE(d.error().find("exceeds"), std::string::npos) << d.error();
  }
  {
    // Same, arriving one byte at a time.
    EventStreamDecoder d;
    const std::string p = prelude(1U << 30, 0);
    bool ok = true;
    for (char c : p) decode_all(d, std::string_view(&c, 1), &ok);
    EXPECT_FALSE(ok);
    EXPECT_EQ(d.buffered_bytes(), 0U);
  }
  {
    // A configured smaller payload limit.
    EventStreamDecoder d(/*max_payload_bytes=*/64);
    bool ok = true;
    decode_all(d, event_frame("x", std::string(65, 'p')), &ok);
    EXPECT_FALSE(ok);
    EventStreamDecoder d2(/*max_payload_bytes=*/64);
    EXPECT_EQ(decode_all(d2, frame({}, std::string(64, 'p')), &ok).size(), 1U);
    EXPECT_TRUE(ok);
  }
  for (auto [total, headers] :
       {std::pair<uint32_t, uint32_t>{15, 0}, {0, 0}, {20, 5}, {100, 200000}}) {
    EventStreamDecoder d;
    bool ok = true;
    decode_all(d, prelude(total, headers) + std::string(200, '\0'), &ok);
    EXPECT_FALSE(ok) << total << "/" << headers;
    EXPECT_EQ(d.buffered_bytes(), 0U);
  }
}

TEST(BedrockEventStream, MalformedHeadersAreErrors) {
  const std::vector<std::vector<Header>> cases = {
      {{"", 7, be(1, 2) + "x"}},                     // empty name
      {{"t", 10, ""}},                               // unknown type 10
      {{"s", 7, be(50, 2) + "short"}},               // string runs past the headers
      {{"i", 4, be(1, 2)}},                          // int with two bytes
      {{"u", 9, std::string(15, 'u')}},              // uuid with 15 bytes
      {{"b", 6, be(0, 1)}},                          // bytes length cut
      {str_header("a", "1"), str_header("a", "2")},  // repeated header
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    EventStreamDecoder d;
    bool ok = true;
    auto msgs = decode_all(d, frame(cases[i], "{}"), &ok);
    EXPECT_FALSE(ok) << "case " << i;
    EXPECT_TRUE(msgs.empty()) << "case " << i;
  }
}

TEST(BedrockEventStream, RandomGarbageNeverCrashesAndStaysBounded) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 300; ++round) {
    std::string bytes;
    const size_t n = rng() % 2048;
    for (size_t i = 0; i < n; ++i) bytes += static_cast<char>(rng() & 0xFF);
    if (round % 3 == 0) bytes.insert(0, event_frame("messageStart", "{}"));
    EventStreamDecoder d;
    size_t pos = 0;
    while (pos < bytes.size()) {
      size_t len = 1 + rng() % 97;
      decode_all(d, std::string_view(bytes).substr(pos, len));
      pos += len;
      ASSERT_LE(d.buffered_bytes(), EventStreamDecoder::kDefaultMaxPayloadBytes +
                                        EventStreamDecoder::kDefaultMaxHeaderBytes + 16);
    }
  }
}

// ---------------------------------------------------------------------------
// ConverseStreamTranslator.

namespace {

constexpr int64_t kCreated = 1700000000;

std::string run_translator(const std::vector<std::string_view>& pieces, bool include_usage,
                           ConverseStreamTranslator** keep = nullptr) {
  static thread_local std::unique_ptr<ConverseStreamTranslator> last;
  last = std::make_unique<ConverseStreamTranslator>("bedrock-claude", "chatcmpl-bedrock",
                                                    include_usage, kCreated);
  std::string out;
  for (auto p : pieces) last->feed(p, out);
  last->finish(out);
  if (keep != nullptr) *keep = last.get();
  return out;
}

std::string chunk(std::string_view delta_json, std::string_view finish = "null") {
  return std::string(
             "data: {\"id\":\"chatcmpl-bedrock\",\"object\":\"chat.completion.chunk\","
             "\"created\":1700000000,\"model\":\"bedrock-claude\",\"choices\":[{\"index\":"
             "0,\"delta\":") +
         std::string(delta_json) + ",\"logprobs\":null,\"finish_reason\":" + std::string(finish) +
         "}]}\n\n";
}

// The AWS documentation's ConverseStream walk-through, as Bedrock frames it.
std::string text_stream() {
  std::string s;
  s += event_frame("messageStart", R"({"p":"abcd","role":"assistant"})");
  s += event_frame("contentBlockDelta",
                   R"({"contentBlockIndex":0,"delta":{"text":"Here is"},"p":"abcdefgh"})");
  s += event_frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":" a song."}})");
  s += event_frame("contentBlockStop", R"({"contentBlockIndex":0,"p":"ab"})");
  s += event_frame("messageStop", R"({"p":"abc","stopReason":"end_turn"})");
  s += event_frame(
      "metadata",
      R"({"metrics":{"latencyMs":412},"p":"a","usage":{"inputTokens":23,"outputTokens":7,"totalTokens":30}})");
  return s;
}

}  // namespace

TEST(BedrockConverseStream, TextStreamExactBytes) {
  ConverseStreamTranslator* t = nullptr;
  const std::string out = run_translator({text_stream()}, /*include_usage=*/true, &t);
  const std::string expected =
      chunk(R"({"role":"assistant","content":""})") + chunk(R"({"content":"Here is"})") +
      chunk(R"({"content":" a song."})") + chunk("{}", "\"stop\"") +
      "data: {\"id\":\"chatcmpl-bedrock\",\"object\":\"chat.completion.chunk\",\"created\":"
      "1700000000,\"model\":\"bedrock-claude\",\"choices\":[],\"usage\":{\"prompt_tokens\":23,"
      "\"completion_tokens\":7,\"total_tokens\":30,\"prompt_tokens_details\":{\"cached_tokens\":0}}"
      "}\n\n"
      "data: [DONE]\n\n";
  EXPECT_EQ(out, expected);
  EXPECT_TRUE(t->ended_cleanly());
  EXPECT_FALSE(t->saw_error());
  EXPECT_EQ(t->finish_reason(), "stop");
  EXPECT_EQ(t->token_usage().prompt_tokens, 23);
  EXPECT_EQ(t->token_usage().completion_tokens, 7);
  EXPECT_EQ(t->token_usage().total_tokens, 30);
}

TEST(BedrockConverseStream, NoUsageChunkUnlessAsked) {
  ConverseStreamTranslator* t = nullptr;
  const std::string out = run_translator({text_stream()}, /*include_usage=*/false, &t);
  EXPECT_EQ(out, chunk(R"({"role":"assistant","content":""})") + chunk(R"({"content":"Here is"})") +
                     chunk(R"({"content":" a song."})") + chunk("{}", "\"stop\"") +
                     "data: [DONE]\n\n");
  // Usage is still known to the gateway for spend tracking.
  EXPECT_EQ(t->token_usage().total_tokens, 30);
}

TEST(BedrockConverseStream, EverySplitGivesIdenticalOutput) {
  std::string stream = text_stream();
  const std::string expected = run_translator({stream}, true);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    std::string_view sv(stream);
    ASSERT_EQ(run_translator({sv.substr(0, cut), sv.substr(cut)}, true), expected) << cut;
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < stream.size(); ++i) bytes.push_back(std::string_view(stream).substr(i, 1));
  EXPECT_EQ(run_translator(bytes, true), expected);
}

TEST(BedrockConverseStream, ToolUseStream) {
  std::string s;
  s += event_frame("messageStart", R"({"role":"assistant"})");
  s += event_frame("contentBlockDelta",
                   R"({"contentBlockIndex":0,"delta":{"text":"Let me check."}})");
  s += event_frame("contentBlockStop", R"({"contentBlockIndex":0})");
  s += event_frame(
      "contentBlockStart",
      R"({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","name":"top_song"}}})");
  s += event_frame("contentBlockDelta",
                   R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"sign\": "}}})");
  s += event_frame("contentBlockDelta",
                   R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"WZPZ\"}"}}})");
  s += event_frame("contentBlockStop", R"({"contentBlockIndex":1})");
  s += event_frame(
      "contentBlockStart",
      R"({"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"tooluse_2","name":"top_song"}}})");
  s +=
      event_frame("contentBlockDelta",
                  R"({"contentBlockIndex":2,"delta":{"toolUse":{"input":"{\"sign\":\"WKRP\"}"}}})");
  s += event_frame("contentBlockStop", R"({"contentBlockIndex":2})");
  s += event_frame("messageStop", R"({"stopReason":"tool_use"})");
  s += event_frame(
      "metadata",
      R"({"usage":{"inputTokens":5,"outputTokens":6,"totalTokens":11},"metrics":{"latencyMs":1}})");
  ConverseStreamTranslator* t = nullptr;
  const std::string out = run_translator({s}, false, &t);
  EXPECT_EQ(
      out,
      chunk(R"({"role":"assistant","content":""})") + chunk(R"({"content":"Let me check."})") +
          chunk(
              R"({"tool_calls":[{"index":0,"id":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","type":"function","function":{"name":"top_song","arguments":""}}]})") +
          chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"sign\": "}}]})") +
          chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"\"WZPZ\"}"}}]})") +
          chunk(
              R"({"tool_calls":[{"index":1,"id":"tooluse_2","type":"function","function":{"name":"top_song","arguments":""}}]})") +
          chunk(R"({"tool_calls":[{"index":1,"function":{"arguments":"{\"sign\":\"WKRP\"}"}}]})") +
          chunk("{}", "\"tool_calls\"") + "data: [DONE]\n\n");
  EXPECT_EQ(t->finish_reason(), "tool_calls");
  EXPECT_TRUE(t->ended_cleanly());
}

TEST(BedrockConverseStream, ExceptionEndsTheStreamWithAnError) {
  std::string s;
  s += event_frame("messageStart", R"({"role":"assistant"})");
  s += event_frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hel"}})");
  s += exception_frame("throttlingException",
                       R"({"message":"Too many requests, please wait before trying again."})");
  s += event_frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"lo"}})");
  ConverseStreamTranslator* t = nullptr;
  const std::string out = run_translator({s}, true, &t);
  EXPECT_EQ(out, chunk(R"({"role":"assistant","content":""})") + chunk(R"({"content":"Hel"})") +
                     "data: {\"error\":{\"message\":\"Too many requests, please wait before "
                     "trying again.\",\"type\":\"rate_limit_error\",\"param\":null,\"code\":"
                     "\"ThrottlingException\"}}\n\n");
  EXPECT_FALSE(t->ended_cleanly());
  EXPECT_TRUE(t->saw_error());
  ASSERT_TRUE(t->error().has_value());
  EXPECT_EQ(t->error()->status, 429);
  EXPECT_EQ(t->error()->error_type, "ThrottlingException");
  EXPECT_TRUE(t->started());
}

TEST(BedrockConverseStream, ExceptionTypesMapToStatuses) {
  struct Case {
    const char* exception;
    int status;
    const char* type;
  };
  for (const Case& c : {Case{"internalServerException", 500, "api_error"},
                        Case{"modelStreamErrorException", 424, "api_error"},
                        Case{"validationException", 400, "invalid_request_error"},
                        Case{"throttlingException", 429, "rate_limit_error"},
                        Case{"serviceUnavailableException", 503, "service_unavailable_error"},
                        Case{"somethingNewException", 502, "api_error"}}) {
    ConverseStreamTranslator* t = nullptr;
    const std::string out =
        run_translator({exception_frame(c.exception, R"({"message":"m"})")}, false, &t);
    ASSERT_TRUE(t->error().has_value()) << c.exception;
    EXPECT_EQ(t->error()->status, c.status) << c.exception;
    json::value v = json::parse(out.substr(6));
    EXPECT_EQ(v.at("error").at("type").as_string(), c.type) << c.exception;
    EXPECT_EQ(v.at("error").at("message").as_string(), "m");
    EXPECT_EQ(out.find("[DONE]"), std::string::npos);
    EXPECT_FALSE(t->started());  // only the error: the caller may still answer with a status
  }
}

TEST(BedrockConverseStream, GenericErrorMessage) {
  const std::string f =
      frame({str_header(":message-type", "error"), str_header(":error-code", "InternalFailure"),
             str_header(":error-message", "boom")},
            "");
  ConverseStreamTranslator* t = nullptr;
  const std::string out = run_translator({f}, false, &t);
  EXPECT_EQ(out,
            "data: {\"error\":{\"message\":\"boom\",\"type\":\"api_error\",\"param\":null,"
            "\"code\":\"InternalFailure\"}}\n\n");
  EXPECT_EQ(t->error()->status, 500);
}

TEST(BedrockConverseStream, CorruptFrameEndsWithAnError) {
  std::string s = text_stream();
  s[s.size() - 3] = static_cast<char>(s[s.size() - 3] ^ 0xFF);  // metadata frame's CRC
  ConverseStreamTranslator* t = nullptr;
  const std::string out = run_translator({s}, true, &t);
  EXPECT_NE(out.find(chunk("{}", "\"stop\"")), std::string::npos);
  EXPECT_EQ(out.find("[DONE]"), std::string::npos);
  EXPECT_NE(out.find("\"code\":\"invalid_event_stream\""), std::string::npos) << out;
  EXPECT_TRUE(t->saw_error());
  EXPECT_FALSE(t->ended_cleanly());
  EXPECT_EQ(t->error()->status, 502);
}

TEST(BedrockConverseStream, TruncatedStreamEndsWithAnErrorAtFinish) {
  const std::string s = text_stream();
  const size_t stop = s.find(event_frame("messageStop", R"({"p":"abc","stopReason":"end_turn"})"));
  ASSERT_NE(stop, std::string::npos);
  ConverseStreamTranslator* t = nullptr;
  const std::string out = run_translator({std::string_view(s).substr(0, stop + 7)}, true, &t);
  EXPECT_EQ(out, chunk(R"({"role":"assistant","content":""})") + chunk(R"({"content":"Here is"})") +
                     chunk(R"({"content":" a song."})") +
                     "data: {\"error\":{\"message\":\"Bedrock stream ended before messageStop "
                     "(the last event stream frame was truncated)\",\"type\":\"upstream_error\","
                     "\"param\":null,\"code\":\"upstream_stream_truncated\"}}\n\n");
  EXPECT_FALSE(t->ended_cleanly());
}

TEST(BedrockConverseStream, StopWithoutMetadataStillEndsCleanly) {
  const std::string s = text_stream();
  const size_t meta = s.find(event_frame(
      "metadata",
      R"({"metrics":{"latencyMs":412},"p":"a","usage":{"inputTokens":23,"outputTokens":7,"totalTokens":30}})"));
  ASSERT_NE(meta, std::string::npos);
  ConverseStreamTranslator* t = nullptr;
  const std::string out = run_translator({std::string_view(s).substr(0, meta)}, true, &t);
  EXPECT_EQ(out.substr(out.size() - 14), "data: [DONE]\n\n");
  EXPECT_EQ(out.find("\"usage\""), std::string::npos);  // nothing to report
  EXPECT_TRUE(t->ended_cleanly());
  EXPECT_FALSE(t->token_usage().known());
}

TEST(BedrockConverseStream, InvalidPayloadJsonIsAnError) {
  ConverseStreamTranslator* t = nullptr;
  const std::string out =
      run_translator({event_frame("contentBlockDelta", "{not json")}, false, &t);
  EXPECT_TRUE(t->saw_error());
  EXPECT_NE(out.find("invalid_event_stream"), std::string::npos);
}

TEST(BedrockConverseStream, NothingAfterTheEnd) {
  ConverseStreamTranslator t("m", "id", false, kCreated);
  std::string out;
  t.feed(text_stream(), out);
  const std::string first = out;
  t.feed(event_frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"late"}})"),
         out);
  t.feed("garbage that is not a frame", out);
  t.finish(out);
  t.finish(out);
  EXPECT_EQ(out, first);
  EXPECT_TRUE(t.ended_cleanly());
  EXPECT_FALSE(t.saw_error());
}

// ---------------------------------------------------------------------------
// Golden streams.

namespace {

const fs::path kGolden = golden::root("bedrock");

using golden::read_file;

// NAME.events.json: [{"event": "messageStart", "payload": {...}}, or
// {"exception": "throttlingException", "payload": {...}}, ...] -> frames.
std::string frames_from_json(const json::array& events) {
  std::string bytes;
  for (const auto& ev : events) {
    const auto& o = ev.as_object();
    const std::string payload = json::serialize(o.at("payload"));
    if (const auto* e = o.if_contains("event")) {
      bytes += event_frame(std::string(e->as_string()), payload);
    } else {
      bytes += exception_frame(std::string(o.at("exception").as_string()), payload);
    }
  }
  return bytes;
}

std::vector<std::string> split_data_lines(const std::string& sse) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < sse.size()) {
    size_t end = sse.find("\n\n", pos);
    if (end == std::string::npos) {
      ADD_FAILURE() << "unterminated event at " << pos;
      break;
    }
    std::string block = sse.substr(pos, end - pos);
    EXPECT_EQ(block.rfind("data: ", 0), 0U) << block;
    out.push_back(block.substr(6));
    pos = end + 2;
  }
  return out;
}

class BedrockGoldenStream : public testing::TestWithParam<std::string> {};

std::vector<std::string> stream_cases() {
  return golden::case_names(kGolden / "converse_stream", ".events.json");
}

}  // namespace

TEST(BedrockGoldenStreamFiles, CasesPresent) { EXPECT_GE(stream_cases().size(), 4U); }

TEST_P(BedrockGoldenStream, Matches) {
  const fs::path dir = kGolden / "converse_stream";
  const std::string name = GetParam();
  const json::array events = json::parse(read_file(dir / (name + ".events.json"))).as_array();
  json::object options;
  if (fs::exists(dir / (name + ".options.json"))) {
    options = json::parse(read_file(dir / (name + ".options.json"))).as_object();
  }
  const bool include_usage =
      options.contains("include_usage") && options.at("include_usage").as_bool();
  const std::string bytes = frames_from_json(events);
  ConverseStreamTranslator* t = nullptr;
  const std::string actual = run_translator({bytes}, include_usage, &t);
  const std::string expected = read_file(dir / (name + ".out.sse"));

  auto a = split_data_lines(actual);
  auto e = split_data_lines(expected);
  bool same = a.size() == e.size();
  for (size_t i = 0; same && i < a.size(); ++i) {
    if (a[i] == "[DONE]" || e[i] == "[DONE]") {
      same = a[i] == e[i];
    } else {
      same = json::parse(a[i]) == json::parse(e[i]);
    }
  }
  if (!same) {
    const char* flag = std::getenv("SWITCHYARD_GOLDEN_ACTUAL");
    if (flag != nullptr && std::string(flag) == "1") {
      std::ofstream(dir / (name + ".actual.sse"), std::ios::binary) << actual;
    }
  }
  EXPECT_TRUE(same) << "actual:\n" << actual << "\nexpected:\n" << expected;

  if (const auto* expect = options.if_contains("expect")) {
    const auto& x = expect->as_object();
    if (x.contains("ended_cleanly")) {
      EXPECT_EQ(t->ended_cleanly(), x.at("ended_cleanly").as_bool());
    }
    if (x.contains("saw_error")) {
      EXPECT_EQ(t->saw_error(), x.at("saw_error").as_bool());
    }
    if (x.contains("finish_reason")) {
      EXPECT_EQ(t->finish_reason(), x.at("finish_reason").as_string());
    }
    if (x.contains("error_status")) {
      ASSERT_TRUE(t->error().has_value());
      EXPECT_EQ(t->error()->status, x.at("error_status").as_int64());
    }
    if (x.contains("total_tokens")) {
      EXPECT_EQ(t->token_usage().total_tokens, x.at("total_tokens").as_int64());
    }
  }

  // Split anywhere, byte by byte, random pieces: byte-identical output.
  std::string_view sv(bytes);
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    ASSERT_EQ(run_translator({sv.substr(0, cut), sv.substr(cut)}, include_usage), actual) << cut;
  }
  std::vector<std::string_view> ones;
  for (size_t i = 0; i < bytes.size(); ++i) ones.push_back(sv.substr(i, 1));
  EXPECT_EQ(run_translator(ones, include_usage), actual);
  std::mt19937 rng(42);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string_view> pieces;
    size_t pos = 0;
    while (pos < bytes.size()) {
      size_t len = 1 + rng() % 64;
      pieces.push_back(sv.substr(pos, len));
      pos += std::min(len, bytes.size() - pos);
    }
    ASSERT_EQ(run_translator(pieces, include_usage), actual) << "round " << round;
  }
}

INSTANTIATE_TEST_SUITE_P(Bedrock, BedrockGoldenStream, testing::ValuesIn(stream_cases()),
                         golden::param_name);
