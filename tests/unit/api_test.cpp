#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/inbound.h"
#include "api/json_access.h"
#include "api/sse.h"
#include "providers/mock.h"
#include "server/auth.h"
#include "upstream/http_client.h"

using namespace switchyard;

TEST(Inbound, ParsesChatRequest) {
  auto r = parse_inbound(ApiRoute::kChatCompletions,
                         R"({"model":"m","stream":true,"stream_options":{"include_usage":true},
                             "messages":[{"role":"user","content":"hi"}],"mock_response":"x"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->model, "m");
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_EQ(*r->mock_response, "x");
}

TEST(Inbound, RejectsBadBodiesWithParam) {
  struct Case {
    ApiRoute route;
    const char* body;
    const char* code;
    const char* param;
  };
  const Case cases[] = {
      {ApiRoute::kChatCompletions, "{not json", "invalid_json", nullptr},
      {ApiRoute::kChatCompletions, "[1,2]", "invalid_json", nullptr},
      {ApiRoute::kChatCompletions, R"({"messages":[]})", "missing_required_parameter", "model"},
      {ApiRoute::kChatCompletions, R"({"model":5,"messages":[]})", "missing_required_parameter",
       "model"},
      {ApiRoute::kChatCompletions, R"({"model":"m"})", "missing_required_parameter", "messages"},
      {ApiRoute::kChatCompletions, R"({"model":"m","messages":[],"stream":"yes"})", "invalid_type",
       "stream"},
      {ApiRoute::kEmbeddings, R"({"model":"m"})", "missing_required_parameter", "input"},
      {ApiRoute::kChatCompletions, R"({"model":"m","messages":[],"timeout":"5"})", "invalid_value",
       "timeout"},
      {ApiRoute::kChatCompletions, R"({"model":"m","messages":[],"timeout":0})", "invalid_value",
       "timeout"},
      {ApiRoute::kChatCompletions, R"({"model":"m","messages":[],"stream_timeout":-1})",
       "invalid_value", "stream_timeout"},
      {ApiRoute::kChatCompletions, R"({"model":"m","messages":[],"timeout":90000})",
       "invalid_value", "timeout"},
      {ApiRoute::kCompletions, R"({"model":"m"})", "missing_required_parameter", "prompt"},
  };
  for (const auto& c : cases) {
    auto r = parse_inbound(c.route, c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
    EXPECT_EQ(r.error().code.value_or(""), c.code) << c.body;
    if (c.param) {
      EXPECT_EQ(r.error().param.value_or(""), c.param) << c.body;
    }
  }
}

TEST(Inbound, StripsGatewayOnlyFields) {
  auto r = parse_inbound(ApiRoute::kChatCompletions,
                         R"({"model":"m","messages":[],"mock_response":"x","metadata":{},
                             "litellm_call_id":"c","fallbacks":[],"temperature":1})");
  ASSERT_TRUE(r);
  strip_gateway_fields(r->body);
  EXPECT_EQ(boost::json::serialize(r->body), R"({"model":"m","messages":[],"temperature":1})");
}

// strip_gateway_fields() first checks whether any gateway-only key is there
// at all: each one alone must still be removed, and look-alike keys kept.
TEST(Inbound, StripsEachGatewayFieldAloneAndKeepsLookAlikes) {
  for (const char* name :
       {"mock_response", "mock_testing_fallbacks", "mock_timeout", "caching", "cache", "fallbacks",
        "context_window_fallbacks", "content_policy_fallbacks", "num_retries", "metadata",
        "user_config", "tags", "timeout", "stream_timeout", "litellm_session_id", "litellm_"}) {
    boost::json::object body = {{"model", "m"}, {"messages", boost::json::array()}};
    body[name] = 1;
    body["temperature"] = 1;
    strip_gateway_fields(body);
    EXPECT_EQ(boost::json::serialize(body), R"({"model":"m","messages":[],"temperature":1})")
        << name;
  }
  boost::json::object kept = {{"model", "m"}, {"tag", 1},      {"metadata_x", 2},
                              {"cach", 3},    {"litellm", 4},  {"xlitellm_a", 5},
                              {"Timeout", 6}, {"timeouts", 7}, {"", 8}};
  const std::string before = boost::json::serialize(kept);
  strip_gateway_fields(kept);
  EXPECT_EQ(boost::json::serialize(kept), before);
}

// The fields inbound_from_object() reads are found wherever they sit in the
// body, and a body without any control field goes on byte for byte.
TEST(Inbound, ReadsControlFieldsInAnyOrder) {
  auto r = parse_inbound(ApiRoute::kChatCompletions,
                         R"({"num_retries":2,"temperature":0,"cache":{"no-cache":true},
                             "stream":false,"messages":[],"mock_response":"hi","model":"m",
                             "timeout":2,"stream_options":{"include_usage":true}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->model, "m");
  EXPECT_FALSE(r->stream);
  EXPECT_TRUE(r->include_usage);
  ASSERT_TRUE(r->num_retries);
  EXPECT_EQ(*r->num_retries, 2);
  ASSERT_TRUE(r->cache_control);
  EXPECT_TRUE(r->cache_control->contains("no-cache"));
  EXPECT_EQ(r->mock_response.value_or(""), "hi");
  ASSERT_TRUE(r->timeout);
  EXPECT_EQ(r->timeout->count(), 2000);
  EXPECT_EQ(boost::json::serialize(r->body),
            R"({"model":"m","temperature":0,"stream_options":{"include_usage":true},)"
            R"("stream":false,"messages":[]})");

  const std::string plain =
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":5,"user":"u"})";
  auto p = parse_inbound(ApiRoute::kChatCompletions, plain);
  ASSERT_TRUE(p);
  EXPECT_EQ(boost::json::serialize(p->body), plain);
  EXPECT_FALSE(p->num_retries);
  EXPECT_FALSE(p->mock_response);
  EXPECT_FALSE(p->cache_control);

  auto e = parse_inbound(ApiRoute::kEmbeddings, R"({"input":"x","model":"m"})");
  ASSERT_TRUE(e);
  auto c = parse_inbound(ApiRoute::kCompletions, R"({"prompt":"x","model":"m"})");
  ASSERT_TRUE(c);
}

TEST(Inbound, PerRequestTimeoutsAreReadAndNotForwarded) {
  auto r = parse_inbound(ApiRoute::kChatCompletions,
                         R"({"model":"m","messages":[],"timeout":1.5,"stream_timeout":0.25,
                             "temperature":1})");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->timeout);
  EXPECT_EQ(r->timeout->count(), 1500);
  ASSERT_TRUE(r->stream_timeout);
  EXPECT_EQ(r->stream_timeout->count(), 250);
  EXPECT_EQ(boost::json::serialize(r->body), R"({"model":"m","messages":[],"temperature":1})");

  auto unset =
      parse_inbound(ApiRoute::kChatCompletions, R"({"model":"m","messages":[],"timeout":null})");
  ASSERT_TRUE(unset);
  EXPECT_FALSE(unset->timeout);
  EXPECT_FALSE(unset->stream_timeout);
  EXPECT_FALSE(unset->body.contains("timeout"));
}

TEST(Sse, ObserverFindsUsageAndDoneAcrossSplitReads) {
  const std::string stream =
      "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5,"
      "\"total_tokens\":8}}\r\n\r\n"
      "data: [DONE]\n\n";
  // Feed in every possible split point: results must not depend on framing.
  for (size_t split = 0; split <= stream.size(); ++split) {
    SseObserver observer;
    observer.feed(std::string_view(stream).substr(0, split));
    observer.feed(std::string_view(stream).substr(split));
    EXPECT_TRUE(observer.saw_done()) << split;
    EXPECT_EQ(observer.usage().prompt_tokens, 3) << split;
    EXPECT_EQ(observer.usage().total_tokens, 8) << split;
    EXPECT_EQ(observer.events(), 3u) << split;
  }
}

TEST(Auth, PresentedKeyFromEitherHeader) {
  EXPECT_EQ(*presented_key("Bearer sk-1", ""), "sk-1");
  EXPECT_EQ(*presented_key("bearer   sk-2 ", ""), "sk-2");
  EXPECT_EQ(*presented_key("", "sk-3"), "sk-3");
  EXPECT_EQ(*presented_key("Basic abc", "sk-4"), "sk-4");
  EXPECT_FALSE(presented_key("Bearer ", ""));
  EXPECT_FALSE(presented_key("", ""));
}

TEST(Auth, DigestComparison) {
  EXPECT_TRUE(digests_equal(digest_key("sk-a"), digest_key("sk-a")));
  EXPECT_FALSE(digests_equal(digest_key("sk-a"), digest_key("sk-b")));
  EXPECT_FALSE(digests_equal(digest_key("sk-a"), digest_key("sk-a ")));
}

TEST(Endpoint, ParsesApiBase) {
  auto e = parse_endpoint("https://api.openai.com/v1/");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->host, "api.openai.com");
  EXPECT_EQ(e->port, "443");
  EXPECT_EQ(e->base_path, "/v1");
  auto local = parse_endpoint("http://127.0.0.1:8000");
  ASSERT_TRUE(local);
  EXPECT_FALSE(local->tls);
  EXPECT_EQ(local->port, "8000");
  EXPECT_EQ(local->base_path, "");
  EXPECT_FALSE(parse_endpoint("ftp://x/y"));
  EXPECT_FALSE(parse_endpoint("not a url"));
}

TEST(Mock, DeterministicChatAndStreamingShape) {
  auto req = parse_inbound(ApiRoute::kChatCompletions,
                           R"({"model":"m","messages":[{"role":"user","content":"12345678"}]})");
  ASSERT_TRUE(req);
  auto a = mock_answer(*req, "mock-id", std::nullopt, 0, "call-1");
  auto b = mock_answer(*req, "mock-id", std::nullopt, 0, "call-2");
  auto content = [](const std::string& body) {
    return std::string(
        boost::json::parse(body).at("choices").at(0).at("message").at("content").as_string());
  };
  EXPECT_EQ(content(a.body), content(b.body));
  EXPECT_EQ(a.usage.prompt_tokens, 2);  // 8 chars / 4

  auto custom = mock_answer(*req, "mock-id", std::string("exact text"), 0, "c");
  EXPECT_EQ(content(custom.body), "exact text");

  auto sreq = parse_inbound(ApiRoute::kChatCompletions,
                            R"({"model":"m","stream":true,"stream_options":{"include_usage":true},
                                "messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(sreq);
  auto s = mock_answer(*sreq, "mock-id", std::string("one two three four"), 2, "c");
  // 2 content chunks + finish chunk + usage chunk + [DONE]
  ASSERT_EQ(s.events.size(), 5u);
  EXPECT_EQ(s.events.back(), "data: [DONE]\n\n");
  std::string joined;
  for (size_t i = 0; i < 2; ++i) {
    auto json = boost::json::parse(s.events[i].substr(6));
    joined += json.at("choices").at(0).at("delta").at("content").as_string();
  }
  EXPECT_EQ(joined, "one two three four");
  SseObserver observer;
  for (const auto& e : s.events) observer.feed(e);
  EXPECT_TRUE(observer.saw_done());
  EXPECT_EQ(observer.usage().completion_tokens, s.usage.completion_tokens);
}

TEST(Mock, EmbeddingsFloatAndBase64) {
  auto req = parse_inbound(ApiRoute::kEmbeddings, R"({"model":"e","input":["a","b"]})");
  ASSERT_TRUE(req);
  auto answer = mock_answer(*req, "e", std::nullopt, 0, "c");
  auto body = boost::json::parse(answer.body);
  ASSERT_EQ(body.at("data").as_array().size(), 2u);
  EXPECT_EQ(body.at("data").at(0).at("embedding").as_array().size(), 16u);
  EXPECT_NE(boost::json::serialize(body.at("data").at(0).at("embedding")),
            boost::json::serialize(body.at("data").at(1).at("embedding")));

  auto b64 = parse_inbound(ApiRoute::kEmbeddings,
                           R"({"model":"e","input":"a","encoding_format":"base64"})");
  auto encoded = boost::json::parse(mock_answer(*b64, "e", std::nullopt, 0, "c").body);
  // 16 float32 = 64 bytes -> 88 base64 characters.
  EXPECT_EQ(encoded.at("data").at(0).at("embedding").as_string().size(), 88u);
}

TEST(JsonAccess, KeyPathsForErrorParams) {
  EXPECT_EQ(json_access::at("messages", 2), "messages[2]");
  EXPECT_EQ(json_access::join(json_access::at("messages", 2), "content"), "messages[2].content");
  EXPECT_EQ(json_access::join(json_access::at(json_access::join("messages[0]", "tool_calls"), 1),
                              "function"),
            "messages[0].tool_calls[1].function");
}
