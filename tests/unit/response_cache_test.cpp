// Response cache pieces: key normalisation, controls, the local store, and
// a stream rebuilt into one answer then replayed as SSE.
#include "store/response_cache.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace switchyard::store {
namespace {

boost::json::object obj(std::string_view text) { return boost::json::parse(text).as_object(); }

std::string key_of(std::string_view body, std::string_view scope = "") {
  return cache_key("ns", ApiRoute::kChatCompletions, "group", scope, obj(body), std::nullopt);
}

TEST(CacheKey, IgnoresKeyOrderAndDeliveryFields) {
  const auto a = key_of(R"({"messages":[{"role":"user","content":"hi"}],"temperature":0})");
  EXPECT_EQ(a, key_of(R"({"temperature":0,"messages":[{"content":"hi","role":"user"}]})"));
  EXPECT_EQ(a, key_of(R"({"temperature":0,"messages":[{"content":"hi","role":"user"}],
                          "stream":true,"stream_options":{"include_usage":true},"user":"u1",
                          "model":"alias"})"));
  EXPECT_EQ(a.size(), 64u);
}

TEST(CacheKey, ChangesWithWhatChangesTheAnswer) {
  const auto a = key_of(R"({"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_NE(a, key_of(R"({"messages":[{"role":"user","content":"hi!"}]})"));
  EXPECT_NE(a, key_of(R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":5})"));
  EXPECT_NE(a, key_of(R"({"messages":[{"role":"user","content":"hi"}]})", "key-hash"));
  EXPECT_NE(a, cache_key("ns", ApiRoute::kChatCompletions, "other-group", "",
                         obj(R"({"messages":[{"role":"user","content":"hi"}]})"), std::nullopt));
  EXPECT_NE(a, cache_key("ns2", ApiRoute::kChatCompletions, "group", "",
                         obj(R"({"messages":[{"role":"user","content":"hi"}]})"), std::nullopt));
}

TEST(CacheControls, ReadsLiteLLMSpelling) {
  auto c = cache_controls(obj(R"({"no-cache":true,"no-store":true,"ttl":30})"));
  EXPECT_TRUE(c.no_cache);
  EXPECT_TRUE(c.no_store);
  EXPECT_EQ(c.ttl_seconds, 30);
  auto none = cache_controls(std::nullopt);
  EXPECT_FALSE(none.no_cache || none.no_store || none.ttl_seconds);
  EXPECT_FALSE(cache_controls(obj(R"({"ttl":-4})")).ttl_seconds);
}

TEST(LocalCache, ExpiresAndEvictsOldestFirst) {
  LocalCache cache(2);
  const auto now = Clock::now();
  cache.set("a", "A", now + std::chrono::seconds(10));
  cache.set("b", "B", now + std::chrono::seconds(1));
  EXPECT_EQ(cache.get("a", now), "A");
  EXPECT_FALSE(cache.get("b", now + std::chrono::seconds(2)));
  cache.set("c", "C", now + std::chrono::seconds(10));
  EXPECT_FALSE(cache.get("a", now));  // evicted: the oldest of three
  EXPECT_EQ(cache.get("c", now), "C");
}

TEST(StreamRecorder, RebuildsAChatCompletionAndReplaysIt) {
  StreamRecorder rec;
  const std::string stream =
      "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\","
      "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n"
      "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\","
      "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n"
      "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\","
      "\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}"
      "\n\ndata: [DONE]\n\n";
  // Fed in awkward pieces, as the network delivers it.
  for (size_t i = 0; i < stream.size(); i += 7) rec.feed(std::string_view(stream).substr(i, 7));
  auto answer = rec.complete();
  ASSERT_TRUE(answer);
  auto a = boost::json::parse(*answer).as_object();
  EXPECT_EQ(a["object"], "chat.completion");
  EXPECT_EQ(a["choices"].as_array()[0].as_object()["message"].as_object()["content"], "Hello");
  EXPECT_EQ(a["choices"].as_array()[0].as_object()["finish_reason"], "stop");
  EXPECT_EQ(a["usage"].as_object()["total_tokens"], 5);

  auto events = replay_as_sse(*answer, true);
  ASSERT_EQ(events.size(), 4u);  // content, finish, usage, [DONE]
  EXPECT_EQ(events.back(), "data: [DONE]\n\n");
  StreamRecorder again;
  for (const auto& e : events) again.feed(e);
  EXPECT_EQ(again.complete(), answer);
}

TEST(StreamRecorder, MergesToolCallDeltas) {
  StreamRecorder rec;
  rec.feed(
      "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"t1\",\"type\":"
      "\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n"
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
      "\"function\":{\"arguments\":\":1}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n");
  auto answer = rec.complete();
  ASSERT_TRUE(answer);
  auto msg = boost::json::parse(*answer).at("choices").at(0).at("message").as_object();
  EXPECT_TRUE(msg["content"].is_null());
  EXPECT_EQ(msg["tool_calls"].at(0).at("function").at("arguments"), "{\"a\":1}");
  EXPECT_EQ(msg["tool_calls"].at(0).at("id"), "t1");
}

TEST(StreamRecorder, RefusesUnfinishedOrFailedStreams) {
  StreamRecorder unfinished;
  unfinished.feed(
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n");
  EXPECT_FALSE(unfinished.complete());
  StreamRecorder failed;
  failed.feed(
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},"
      "\"finish_reason\":\"stop\"}]}\n\n");
  failed.feed("data: {\"error\":{\"message\":\"Upstream stream interrupted\"}}\n\n");
  EXPECT_FALSE(failed.complete());
}

}  // namespace
}  // namespace switchyard::store
