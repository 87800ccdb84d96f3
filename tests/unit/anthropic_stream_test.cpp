// Unit tests for the SSE parser and the two stream translators beyond the
// golden files: framing edge cases, truncated streams, ids, usage, and a
// round trip through both translators.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "providers/anthropic/stream_translator.h"

using namespace switchyard::anthropic;
namespace json = boost::json;

namespace {

using Events = std::vector<std::pair<std::string, std::string>>;

Events parse_all(const std::vector<std::string>& pieces, bool finish = true) {
  SseEventParser p;
  Events out;
  auto on = [&](std::string_view name, std::string_view data) {
    out.emplace_back(std::string(name), std::string(data));
  };
  for (const auto& piece : pieces) p.feed(piece, on);
  if (finish) p.finish(on);
  return out;
}

// "data: {...}\n\n" payloads of an OpenAI chunk stream, parsed.
std::vector<json::value> data_payloads(const std::string& sse) {
  std::vector<json::value> out;
  size_t pos = 0;
  while ((pos = sse.find("data: ", pos)) != std::string::npos) {
    size_t end = sse.find("\n\n", pos);
    std::string data = sse.substr(pos + 6, end - pos - 6);
    out.push_back(data == "[DONE]" ? json::value("[DONE]") : json::parse(data));
    pos = end;
  }
  return out;
}

std::string anthropic_event(const std::string& type, const std::string& json_body) {
  return "event: " + type + "\ndata: " + json_body + "\n\n";
}

const std::string kStart = anthropic_event(
    "message_start",
    R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"output_tokens":1}}})");

// --- SseEventParser --------------------------------------------------------

TEST(AnthropicSseParser, EventNameSurvivesCrLfSplitBetweenCrAndLf) {
  auto events = parse_all({"event: message_stop\r", "\ndata: {}\r", "\n\r", "\n"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].first, "message_stop");
  EXPECT_EQ(events[0].second, "{}");
}

TEST(AnthropicSseParser, CrOnlyLineEnds) {
  auto events = parse_all({"event: a\rdata: 1\r\revent: b\rdata: 2\r\r"});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(events[1], (std::pair<std::string, std::string>{"b", "2"}));
}

TEST(AnthropicSseParser, MultiLineDataCommentsAndOddFields) {
  auto events =
      parse_all({": keep-alive\n", "id: 7\nretry: 10\nnoise\ndata:first\ndata: second\n\n"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].first, "");
  EXPECT_EQ(events[0].second, "first\nsecond");
}

TEST(AnthropicSseParser, BlankLinesWithoutDataDispatchNothing) {
  EXPECT_TRUE(parse_all({"\n\n\r\n", "event: ping\n\n"}).empty());
}

TEST(AnthropicSseParser, UnterminatedEventOnlyOnFinish) {
  EXPECT_TRUE(parse_all({"data: {\"a\":1}"}, /*finish=*/false).empty());
  auto events = parse_all({"data: {\"a\":1}"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].second, "{\"a\":1}");
  auto events2 = parse_all({"data: x\n"});  // line ended, blank line missing
  ASSERT_EQ(events2.size(), 1u);
  EXPECT_EQ(events2[0].second, "x");
}

TEST(AnthropicSseParser, SplitInsideMultibyteUtf8) {
  const std::string s = "data: {\"t\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\"}\n\n";
  for (size_t k = 0; k <= s.size(); ++k) {
    auto events = parse_all({s.substr(0, k), s.substr(k)});
    ASSERT_EQ(events.size(), 1u) << k;
    EXPECT_EQ(json::parse(events[0].second).at("t").as_string(), "caf\xC3\xA9 \xF0\x9F\x98\x80");
  }
}

// --- AnthropicToOpenAIStream ----------------------------------------------

TEST(AnthropicOutboundStream, TruncatedStreamIsNotClean) {
  AnthropicToOpenAIStream t("m", "hint", true, 1);
  std::string out = t.feed(
      kStart +
      anthropic_event(
          "content_block_start",
          R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
      anthropic_event(
          "content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})"));
  t.finish(out);
  EXPECT_FALSE(t.ended_cleanly());
  EXPECT_FALSE(t.saw_error());
  EXPECT_EQ(out.find("[DONE]"), std::string::npos);
  EXPECT_EQ(out.find("\"usage\""), std::string::npos);  // usage chunk only at message_stop
  // Usage so far: prompt = input + cache creation + cache read.
  EXPECT_EQ(t.usage().prompt_tokens, 115);
  EXPECT_EQ(t.usage().completion_tokens, 1);
  EXPECT_EQ(t.id(), "msg_1");
}

TEST(AnthropicOutboundStream, CacheTokensInUsageChunk) {
  AnthropicToOpenAIStream t("m", "hint", true, 1);
  std::string out = t.feed(
      kStart +
      anthropic_event(
          "message_delta",
          R"({"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":7}})") +
      anthropic_event("message_stop", R"({"type":"message_stop"})"));
  auto payloads = data_payloads(out);
  ASSERT_EQ(payloads.size(), 4u);  // role, finish, usage, [DONE]
  EXPECT_EQ(payloads[1].at("choices").at(0).at("finish_reason"), "length");
  const auto& usage = payloads[2].at("usage");
  EXPECT_EQ(usage.at("prompt_tokens"), 115);
  EXPECT_EQ(usage.at("completion_tokens"), 7);
  EXPECT_EQ(usage.at("total_tokens"), 122);
  EXPECT_EQ(usage.at("prompt_tokens_details").at("cached_tokens"), 100);
  EXPECT_EQ(usage.at("cache_creation_input_tokens"), 5);
  EXPECT_EQ(usage.at("cache_read_input_tokens"), 100);
  EXPECT_TRUE(payloads[2].at("choices").as_array().empty());
  EXPECT_EQ(payloads[3], "[DONE]");
  EXPECT_TRUE(t.ended_cleanly());
  EXPECT_EQ(t.finish_reason(), std::optional<std::string>("length"));
}

TEST(AnthropicOutboundStream, NoUsageChunkWithoutIncludeUsage) {
  AnthropicToOpenAIStream t("m", "hint", false, 1);
  std::string out = t.feed(kStart + anthropic_event("message_stop", R"({"type":"message_stop"})"));
  EXPECT_EQ(out.find("\"usage\""), std::string::npos);
  auto payloads = data_payloads(out);
  ASSERT_EQ(payloads.size(), 3u);
  // message_stop without a message_delta still finishes the choice.
  EXPECT_EQ(payloads[1].at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_EQ(payloads[2], "[DONE]");
  EXPECT_EQ(t.usage().prompt_tokens, 115);  // still exposed to the gateway
}

TEST(AnthropicOutboundStream, ParallelToolUseGetsSeparateIndexesAndWholeInputAtStop) {
  AnthropicToOpenAIStream t("m", "hint", false, 1);
  std::string in = kStart;
  in += anthropic_event(
      "content_block_start",
      R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_a","name":"f","input":{}}})");
  in += anthropic_event(
      "content_block_delta",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"x\":1}"}})");
  in += anthropic_event("content_block_stop", R"({"type":"content_block_stop","index":0})");
  // No deltas at all: the input given with the start is sent at the stop.
  in += anthropic_event(
      "content_block_start",
      R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_b","name":"g","input":{"y":[1,2]}}})");
  in += anthropic_event("content_block_stop", R"({"type":"content_block_stop","index":1})");
  in += anthropic_event(
      "content_block_start",
      R"({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_c","name":"h","input":{}}})");
  in += anthropic_event("content_block_stop", R"({"type":"content_block_stop","index":2})");
  in += anthropic_event(
      "message_delta",
      R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":3}})");
  in += anthropic_event("message_stop", R"({"type":"message_stop"})");
  auto payloads = data_payloads(t.feed(in));
  ASSERT_EQ(payloads.size(), 9u);
  auto call = [&](size_t i) {
    return payloads[i].at("choices").at(0).at("delta").at("tool_calls").at(0);
  };
  EXPECT_EQ(call(1).at("index"), 0);
  EXPECT_EQ(call(1).at("id"), "toolu_a");
  EXPECT_EQ(call(1).at("function").at("name"), "f");
  EXPECT_EQ(call(2).at("function").at("arguments"), "{\"x\":1}");
  EXPECT_EQ(call(3).at("index"), 1);
  EXPECT_EQ(call(3).at("id"), "toolu_b");
  EXPECT_EQ(call(4).at("index"), 1);
  EXPECT_EQ(json::parse(call(4).at("function").at("arguments").as_string()),
            json::parse(R"({"y":[1,2]})"));
  EXPECT_EQ(call(5).at("index"), 2);
  EXPECT_EQ(call(6).at("function").at("arguments"), "{}");
  EXPECT_EQ(payloads[7].at("choices").at(0).at("finish_reason"), "tool_calls");
}

TEST(AnthropicOutboundStream, GarbageAndUnknownEventsAreIgnoredAndStopEndsIt) {
  AnthropicToOpenAIStream t("m", "hint", false, 1);
  std::string out = t.feed(
      "data: not json\n\n" + kStart +
      anthropic_event("brand_new_event", R"({"type":"brand_new_event","x":1})") +
      anthropic_event("message_stop", R"({"type":"message_stop"})") +
      anthropic_event(
          "content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"late"}})"));
  auto payloads = data_payloads(out);
  ASSERT_EQ(payloads.size(), 3u);
  EXPECT_EQ(out.find("late"), std::string::npos);
  EXPECT_TRUE(t.ended_cleanly());
}

TEST(AnthropicOutboundStream, RedactedThinkingIsForwardedAsThinkingBlock) {
  AnthropicToOpenAIStream t("m", "hint", false, 1);
  auto payloads = data_payloads(t.feed(
      kStart +
      anthropic_event(
          "content_block_start",
          R"({"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"abc"}})")));
  ASSERT_EQ(payloads.size(), 2u);
  const auto& tb = payloads[1].at("choices").at(0).at("delta").at("thinking_blocks").at(0);
  EXPECT_EQ(tb.at("type"), "redacted_thinking");
  EXPECT_EQ(tb.at("data"), "abc");
}

TEST(AnthropicOutboundStream, ErrorEventKeepsTypeAndEndsStream) {
  AnthropicToOpenAIStream t("m", "hint", true, 1);
  std::string out =
      t.feed(kStart +
             anthropic_event(
                 "error",
                 R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})") +
             anthropic_event("message_stop", R"({"type":"message_stop"})"));
  auto payloads = data_payloads(out);
  ASSERT_EQ(payloads.size(), 2u);
  EXPECT_EQ(payloads[1].at("error").at("type"), "rate_limit_error");
  EXPECT_EQ(payloads[1].at("error").at("message"), "slow down");
  EXPECT_TRUE(t.saw_error());
  EXPECT_FALSE(t.ended_cleanly());
}

TEST(AnthropicOutboundStream, IdHintUsedWithoutMessageStart) {
  AnthropicToOpenAIStream t("m", "chatcmpl-x", false, 1);
  auto payloads = data_payloads(t.feed(anthropic_event(
      "content_block_delta",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}})")));
  ASSERT_EQ(payloads.size(), 2u);
  EXPECT_EQ(payloads[0].at("id"), "chatcmpl-x");
  EXPECT_EQ(payloads[0].at("choices").at(0).at("delta").at("role"), "assistant");
  EXPECT_EQ(payloads[1].at("choices").at(0).at("delta").at("content"), "hi");
}

// --- OpenAIToAnthropicStream ----------------------------------------------

std::string openai_chunk(const std::string& delta, const char* finish = nullptr) {
  std::string f = finish ? std::string("\"") + finish + "\"" : "null";
  return "data: "
         "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
         "\"x\",\"choices\":[{\"index\":0,\"delta\":" +
         delta + ",\"finish_reason\":" + f + "}]}\n\n";
}

std::vector<std::pair<std::string, json::value>> anthropic_events(const std::string& sse) {
  std::vector<std::pair<std::string, json::value>> out;
  size_t pos = 0;
  while ((pos = sse.find("event: ", pos)) != std::string::npos) {
    size_t nl = sse.find('\n', pos);
    size_t end = sse.find("\n\n", nl);
    std::string name = sse.substr(pos + 7, nl - pos - 7);
    std::string data = sse.substr(nl + 7, end - nl - 7);
    out.emplace_back(name, json::parse(data));
    pos = end;
  }
  return out;
}

TEST(AnthropicInboundStream, MissingDoneCompletesOnFinishWhenFinishReasonSeen) {
  OpenAIToAnthropicStream t("claude", "msg_hint");
  std::string out = t.feed(openai_chunk(R"({"content":"Hi"})") + openai_chunk("{}", "stop"));
  EXPECT_EQ(out.find("message_stop"), std::string::npos);
  t.finish(out);
  EXPECT_TRUE(t.ended_cleanly());
  auto events = anthropic_events(out);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].second.at("message").at("id"), "chatcmpl-1");
  EXPECT_EQ(events[4].first, "message_delta");
  EXPECT_EQ(events[4].second.at("delta").at("stop_reason"), "end_turn");
  EXPECT_EQ(events[5].first, "message_stop");
}

TEST(AnthropicInboundStream, CutOffStreamIsNotClean) {
  OpenAIToAnthropicStream t("claude", "msg_hint");
  std::string out = t.feed(openai_chunk(R"({"content":"Hi"})"));
  t.finish(out);
  EXPECT_FALSE(t.ended_cleanly());
  EXPECT_EQ(out.find("message_delta"), std::string::npos);
}

TEST(AnthropicInboundStream, ToolCallWithoutIdGetsOneAndInterleavedArgsKeepTheirBlock) {
  OpenAIToAnthropicStream t("claude", "msg_hint");
  std::string out = t.feed(
      openai_chunk(
          R"({"tool_calls":[{"index":0,"function":{"name":"a","arguments":"{\"p\":"}}]})") +
      openai_chunk(
          R"({"tool_calls":[{"index":1,"id":"call_b","function":{"name":"b","arguments":"{}"}}]})") +
      openai_chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]})") +
      openai_chunk("{}", "tool_calls") + "data: [DONE]\n\n");
  auto events = anthropic_events(out);
  // start, block0 start, delta0, stop0, block1 start, delta1, delta0 (late), stop1, message_delta,
  // stop
  ASSERT_EQ(events.size(), 10u);
  EXPECT_EQ(events[1].second.at("content_block").at("id"), "toolu_chatcmpl-1_0");
  EXPECT_EQ(events[1].second.at("content_block").at("name"), "a");
  EXPECT_EQ(events[4].second.at("content_block").at("id"), "call_b");
  EXPECT_EQ(events[6].first, "content_block_delta");
  EXPECT_EQ(events[6].second.at("index"), 0);
  EXPECT_EQ(events[6].second.at("delta").at("partial_json"), "1}");
  EXPECT_EQ(events[8].second.at("delta").at("stop_reason"), "tool_use");
}

TEST(AnthropicInboundStream, ContentFilterBecomesRefusal) {
  OpenAIToAnthropicStream t("claude", "msg_hint");
  auto events = anthropic_events(t.feed(openai_chunk("{}", "content_filter") + "data: [DONE]\n\n"));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].second.at("delta").at("stop_reason"), "refusal");
}

// Anthropic stream -> OpenAI chunks -> Anthropic stream keeps text, tool ids,
// names, the concatenated tool input and the stop reason.
TEST(AnthropicStreamRoundTrip, TextAndToolSurviveBothTranslators) {
  std::string in = kStart;
  in += anthropic_event(
      "content_block_start",
      R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
  in += anthropic_event(
      "content_block_delta",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me look."}})");
  in += anthropic_event("content_block_stop", R"({"type":"content_block_stop","index":0})");
  in += anthropic_event(
      "content_block_start",
      R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_9","name":"search","input":{}}})");
  in += anthropic_event(
      "content_block_delta",
      R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\": \"ca"}})");
  in += anthropic_event(
      "content_block_delta",
      R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ts\"}"}})");
  in += anthropic_event("content_block_stop", R"({"type":"content_block_stop","index":1})");
  in += anthropic_event(
      "message_delta",
      R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":12}})");
  in += anthropic_event("message_stop", R"({"type":"message_stop"})");

  AnthropicToOpenAIStream a2o("gpt", "hint", true, 1);
  std::string chunks = a2o.feed(in);
  OpenAIToAnthropicStream o2a("claude", "hint");
  std::string back = o2a.feed(chunks);
  o2a.finish(back);
  ASSERT_TRUE(o2a.ended_cleanly());
  auto events = anthropic_events(back);
  std::string text, input, tool_id, tool_name;
  for (const auto& [name, ev] : events) {
    if (name == "content_block_start" && ev.at("content_block").at("type") == "tool_use") {
      tool_id = ev.at("content_block").at("id").as_string();
      tool_name = ev.at("content_block").at("name").as_string();
    }
    if (name == "content_block_delta" && ev.at("delta").at("type") == "text_delta") {
      text += ev.at("delta").at("text").as_string();
    }
    if (name == "content_block_delta" && ev.at("delta").at("type") == "input_json_delta") {
      input += ev.at("delta").at("partial_json").as_string();
    }
  }
  EXPECT_EQ(text, "Let me look.");
  EXPECT_EQ(tool_id, "toolu_9");
  EXPECT_EQ(tool_name, "search");
  EXPECT_EQ(json::parse(input), json::parse(R"({"q":"cats"})"));
  EXPECT_EQ(*o2a.stop_reason(), "tool_use");
  // Usage: 115 prompt tokens of which 100 cache reads.
  const auto& delta = events[events.size() - 2].second;
  EXPECT_EQ(delta.at("usage").at("output_tokens"), 12);
  EXPECT_EQ(delta.at("usage").at("cache_read_input_tokens"), 100);
  EXPECT_EQ(delta.at("usage").at("input_tokens"), 15);
}

}  // namespace
