// Unit tests for request/response/error translation details that the golden
// files do not pin down: defaults, tables, header handling, upstream garbage.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "core/error.h"
#include "providers/anthropic/common.h"
#include "providers/anthropic/translate_request.h"
#include "providers/anthropic/translate_response.h"

using namespace switchyard;
using namespace switchyard::anthropic;
namespace json = boost::json;

namespace {

json::object obj(const char* text) { return json::parse(text).as_object(); }

json::object to_anthropic(const char* body, std::optional<int64_t> default_max = std::nullopt) {
  auto r = openai_to_anthropic_request(obj(body), "claude-x", default_max);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : json::object{};
}

// --- OpenAI -> Anthropic request ------------------------------------------

TEST(AnthropicRequest, MaxTokensDefaultsAndPrecedence) {
  EXPECT_EQ(to_anthropic(R"({"messages":[{"role":"user","content":"a"}]})").at("max_tokens"), 4096);
  EXPECT_EQ(to_anthropic(R"({"messages":[{"role":"user","content":"a"}]})", 512).at("max_tokens"),
            512);
  EXPECT_EQ(to_anthropic(R"({"messages":[{"role":"user","content":"a"}],"max_tokens":77})", 512)
                .at("max_tokens"),
            77);
  EXPECT_EQ(
      to_anthropic(
          R"({"messages":[{"role":"user","content":"a"}],"max_tokens":77,"max_completion_tokens":88})")
          .at("max_tokens"),
      88);
  EXPECT_EQ(to_anthropic(R"({"messages":[{"role":"user","content":"a"}],"max_tokens":null})")
                .at("max_tokens"),
            4096);
}

TEST(AnthropicRequest, ToolChoiceVariants) {
  const char* tools =
      R"("tools":[{"type":"function","function":{"name":"f","strict":true,"parameters":{"type":"object"}}}])";
  auto with = [&](const std::string& extra) {
    std::string body =
        std::string(R"({"messages":[{"role":"user","content":"a"}],)") + tools + extra + "}";
    auto r = openai_to_anthropic_request(obj(body.c_str()), "c", std::nullopt);
    EXPECT_TRUE(r.ok());
    return *r;
  };
  EXPECT_EQ(with(R"(,"tool_choice":"none")").at("tool_choice"), json::parse(R"({"type":"none"})"));
  EXPECT_EQ(with(R"(,"tool_choice":{"type":"function","function":{"name":"f"}})").at("tool_choice"),
            json::parse(R"({"type":"tool","name":"f"})"));
  // Anthropic-shaped tool_choice passes as is.
  EXPECT_EQ(with(R"(,"tool_choice":{"type":"any"})").at("tool_choice"),
            json::parse(R"({"type":"any"})"));
  // parallel_tool_calls:false alone -> auto with parallel use disabled.
  EXPECT_EQ(with(R"(,"parallel_tool_calls":false)").at("tool_choice"),
            json::parse(R"({"type":"auto","disable_parallel_tool_use":true})"));
  // none has no disable_parallel_tool_use field.
  EXPECT_EQ(with(R"(,"tool_choice":"none","parallel_tool_calls":false)").at("tool_choice"),
            json::parse(R"({"type":"none"})"));
  EXPECT_FALSE(with(R"(,"parallel_tool_calls":true)").contains("tool_choice"));
  // strict is kept on the Anthropic tool; no parameters -> empty object schema.
  auto out = with("");
  EXPECT_EQ(out.at("tools").at(0).at("strict"), true);
  auto bare = to_anthropic(
      R"({"messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{"name":"g"}}]})");
  EXPECT_EQ(bare.at("tools").at(0).at("input_schema"),
            json::parse(R"({"type":"object","properties":{}})"));
}

TEST(AnthropicRequest, ToolChoiceWithoutToolsIsDropped) {
  auto out = to_anthropic(
      R"({"messages":[{"role":"user","content":"a"}],"tools":[],"tool_choice":"required","parallel_tool_calls":false})");
  EXPECT_FALSE(out.contains("tools"));
  EXPECT_FALSE(out.contains("tool_choice"));
}

TEST(AnthropicRequest, UnknownAndAnthropicOnlyFieldsPassThrough) {
  auto out = to_anthropic(
      R"({"messages":[{"role":"user","content":"a"}],"output_config":{"effort":"high"},"container":"c1",)"
      R"("metadata":{"user_id":"already"},"user":"ignored-because-metadata-has-one","anthropic_beta":["x"],"service_tier":"auto"})");
  EXPECT_EQ(out.at("output_config"), json::parse(R"({"effort":"high"})"));
  EXPECT_EQ(out.at("container"), "c1");
  EXPECT_EQ(out.at("metadata"), json::parse(R"({"user_id":"already"})"));
  EXPECT_EQ(out.at("service_tier"), "auto");
  EXPECT_FALSE(out.contains("anthropic_beta"));  // travels as a header instead
  EXPECT_FALSE(out.contains("user"));
}

TEST(AnthropicRequest, EmptyAssistantTurnIsSkippedAndNeighboursMerge) {
  auto out = to_anthropic(R"({"messages":[
      {"role":"user","content":"one"},
      {"role":"assistant","content":""},
      {"role":"user","content":[{"type":"text","text":"two"},{"type":"text","text":""}]}]})");
  const auto& msgs = out.at("messages").as_array();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].at("content"),
            json::parse(R"([{"type":"text","text":"one"},{"type":"text","text":"two"}])"));
}

TEST(AnthropicRequest, ImageDetailsAndMessageCacheControl) {
  auto out =
      to_anthropic(R"({"messages":[{"role":"user","cache_control":{"type":"ephemeral"},"content":[
      {"type":"image_url","image_url":"data:image/jpg;base64,AAAA"},
      {"type":"image_url","image_url":{"url":"HTTPS://example.com/a.png"},"cache_control":{"type":"ephemeral","ttl":"1h"}},
      {"type":"text","text":"what?"}]}]})");
  const auto& content = out.at("messages").at(0).at("content").as_array();
  ASSERT_EQ(content.size(), 3u);
  EXPECT_EQ(content[0].at("source").at("media_type"), "image/jpeg");  // image/jpg normalised
  EXPECT_EQ(content[1].at("source").at("type"), "url");
  EXPECT_EQ(content[1].at("cache_control").at("ttl"), "1h");
  EXPECT_EQ(content[2].at("cache_control"),
            json::parse(R"({"type":"ephemeral"})"));  // message level -> last block
}

TEST(AnthropicRequest, ToolArgumentsEdgeCases) {
  auto out =
      to_anthropic(R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[
      {"id":"1","type":"function","function":{"name":"f","arguments":"  "}},
      {"id":"2","function":{"name":"g","arguments":{"already":"object"}}},
      {"id":"3","type":"function","function":{"name":"h","arguments":null}}]}]})");
  const auto& blocks = out.at("messages").at(1).at("content").as_array();
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0].at("input"), json::object{});
  EXPECT_EQ(blocks[1].at("input"), json::parse(R"({"already":"object"})"));
  EXPECT_EQ(blocks[2].at("input"), json::object{});
}

TEST(AnthropicRequest, ErrorBodyNamesTheParam) {
  auto r = openai_to_anthropic_request(obj(R"({"messages":[{"role":"user","content":"a"}],"n":3})"),
                                       "c", std::nullopt);
  ASSERT_FALSE(r.ok());
  auto body = json::parse(error_body(r.error()));
  EXPECT_EQ(body.at("error").at("param"), "n");
  EXPECT_EQ(body.at("error").at("type"), "invalid_request_error");
  EXPECT_EQ(body.at("error").at("code"), "unsupported_value");
  EXPECT_NE(std::string(body.at("error").at("message").as_string()).find("'n'"), std::string::npos);
}

TEST(AnthropicRequest, HarmlessDefaultsAreAccepted) {
  auto out = to_anthropic(
      R"({"messages":[{"role":"user","content":"a"}],"n":1,"logprobs":false,"top_logprobs":0,
      "presence_penalty":0,"frequency_penalty":0.0,"logit_bias":{},"response_format":{"type":"text"},"modalities":["text"],
      "reasoning_effort":"none","verbosity":"medium","seed":1,"store":true,"prediction":{"type":"content","content":"x"},
      "stream_options":{"include_usage":true},"parallel_tool_calls":true,"audio":null,"functions":null})");
  EXPECT_EQ(out.size(), 3u) << json::serialize(out);  // model, messages, max_tokens
}

TEST(AnthropicRequestHeaders, DefaultsOverridesAndBetas) {
  auto h = anthropic_request_headers("sk-ant-1", "", "", nullptr);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0], (std::pair<std::string, std::string>{"content-type", "application/json"}));
  EXPECT_EQ(h[1], (std::pair<std::string, std::string>{"x-api-key", "sk-ant-1"}));
  EXPECT_EQ(h[2], (std::pair<std::string, std::string>{"anthropic-version", "2023-06-01"}));

  auto body = obj(R"({"anthropic_beta":["prompt-caching-2024-07-31","output-128k-2025-02-19"]})");
  auto h2 = anthropic_request_headers(
      "k", " 2024-01-01 ", "output-128k-2025-02-19, interleaved-thinking-2025-05-14", &body);
  ASSERT_EQ(h2.size(), 4u);
  EXPECT_EQ(h2[2].second, "2024-01-01");
  EXPECT_EQ(h2[3].first, "anthropic-beta");
  EXPECT_EQ(h2[3].second,
            "output-128k-2025-02-19,interleaved-thinking-2025-05-14,prompt-caching-2024-07-31");

  auto body_str = obj(R"({"anthropic_beta":"a,b"})");
  EXPECT_EQ(anthropic_request_headers("k", "", "", &body_str).back().second, "a,b");
}

// --- Anthropic -> OpenAI request (inbound) --------------------------------

TEST(AnthropicInboundRequest, ToolChoiceAndThinkingMapping) {
  auto translate = [](const char* extra) {
    std::string body =
        std::string(
            R"({"model":"claude","max_tokens":10,"messages":[{"role":"user","content":"a"}],)"
            R"("tools":[{"name":"f","input_schema":{"type":"object"}}])") +
        extra + "}";
    auto r = anthropic_to_openai_request(obj(body.c_str()), "");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return *r;
  };
  EXPECT_EQ(translate(R"(,"tool_choice":{"type":"auto","disable_parallel_tool_use":true})")
                .at("parallel_tool_calls"),
            false);
  EXPECT_EQ(translate(R"(,"tool_choice":{"type":"none"})").at("tool_choice"), "none");
  EXPECT_FALSE(translate(R"(,"tool_choice":{"type":"none"})").contains("parallel_tool_calls"));
  EXPECT_EQ(translate("").at("model"), "claude");  // kept when no model_id is given
  EXPECT_EQ(
      translate(R"(,"thinking":{"type":"enabled","budget_tokens":1024})").at("reasoning_effort"),
      "low");
  EXPECT_EQ(
      translate(R"(,"thinking":{"type":"enabled","budget_tokens":2048})").at("reasoning_effort"),
      "medium");
  EXPECT_EQ(
      translate(R"(,"thinking":{"type":"enabled","budget_tokens":4096})").at("reasoning_effort"),
      "high");
  EXPECT_FALSE(translate(R"(,"thinking":{"type":"disabled"})").contains("reasoning_effort"));
  EXPECT_FALSE(translate(R"(,"stream":false)").contains("stream_options"));
}

// --- Responses and errors --------------------------------------------------

TEST(AnthropicResponse, StopReasonTable) {
  EXPECT_STREQ(openai_finish_reason("end_turn"), "stop");
  EXPECT_STREQ(openai_finish_reason("stop_sequence"), "stop");
  EXPECT_STREQ(openai_finish_reason("pause_turn"), "stop");
  EXPECT_STREQ(openai_finish_reason("max_tokens"), "length");
  EXPECT_STREQ(openai_finish_reason("model_context_window_exceeded"), "length");
  EXPECT_STREQ(openai_finish_reason("tool_use"), "tool_calls");
  EXPECT_STREQ(openai_finish_reason("refusal"), "content_filter");
  EXPECT_STREQ(openai_finish_reason("something_new"), "stop");
  EXPECT_STREQ(anthropic_stop_reason("stop"), "end_turn");
  EXPECT_STREQ(anthropic_stop_reason("length"), "max_tokens");
  EXPECT_STREQ(anthropic_stop_reason("tool_calls"), "tool_use");
  EXPECT_STREQ(anthropic_stop_reason("function_call"), "tool_use");
  EXPECT_STREQ(anthropic_stop_reason("content_filter"), "refusal");
}

TEST(AnthropicResponse, RefusalMissingIdAndDefaultCreated) {
  auto out = anthropic_to_openai_response(
      obj(R"({"type":"message","content":[],"stop_reason":"refusal","usage":{"input_tokens":3,"output_tokens":0}})"),
      "group", "chatcmpl-hint");
  EXPECT_EQ(out.at("id"), "chatcmpl-hint");
  EXPECT_EQ(out.at("choices").at(0).at("finish_reason"), "content_filter");
  EXPECT_TRUE(out.at("choices").at(0).at("message").at("content").is_null());
  EXPECT_GT(out.at("created").as_int64(), 1700000000);
}

TEST(AnthropicErrors, AnthropicTypesToStatus) {
  const std::pair<const char*, int> table[] = {
      {"invalid_request_error", 400}, {"authentication_error", 401},
      {"billing_error", 402},         {"permission_error", 403},
      {"not_found_error", 404},       {"request_too_large", 413},
      {"rate_limit_error", 429},      {"api_error", 500},
      {"timeout_error", 504},         {"overloaded_error", 529}};
  for (const auto& [type, status] : table) {
    std::string body =
        std::string(R"({"type":"error","error":{"type":")") + type + R"(","message":"m"}})";
    auto e = anthropic_error_to_openai(obj(body.c_str()), 0);
    EXPECT_EQ(e.status, status) << type;
    EXPECT_EQ(e.body.at("error").at("type"), type);
    EXPECT_EQ(e.body.at("error").at("message"), "m");
    EXPECT_TRUE(e.body.at("error").at("param").is_null());
    EXPECT_EQ(e.body.at("error").as_object().size(), 4u);
  }
}

TEST(AnthropicErrors, UpstreamStatusWinsAndGarbageIsHandled) {
  auto e = anthropic_error_to_openai(
      obj(R"({"type":"error","error":{"type":"api_error","message":"x"}})"), 503);
  EXPECT_EQ(e.status, 503);
  auto g = anthropic_error_to_openai(std::string_view("<html>bad gateway</html>"), 502);
  EXPECT_EQ(g.status, 502);
  EXPECT_EQ(g.body.at("error").at("type"), "api_error");
  EXPECT_EQ(g.body.at("error").at("message"), "Anthropic returned HTTP 502");
  auto none = anthropic_error_to_openai(std::string_view(""), 0);
  EXPECT_EQ(none.status, 502);
}

TEST(AnthropicErrors, PromptTooLongIsContextLengthExceeded) {
  auto e = anthropic_error_to_openai(
      obj(R"({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}})"),
      400);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.body.at("error").at("code"), "context_length_exceeded");
}

TEST(AnthropicErrors, OpenAIErrorsToAnthropicShape) {
  const std::pair<int, const char*> table[] = {{400, "invalid_request_error"},
                                               {401, "authentication_error"},
                                               {403, "permission_error"},
                                               {404, "not_found_error"},
                                               {413, "request_too_large"},
                                               {429, "rate_limit_error"},
                                               {500, "api_error"},
                                               {502, "api_error"},
                                               {503, "overloaded_error"},
                                               {504, "timeout_error"},
                                               {422, "invalid_request_error"}};
  for (const auto& [status, type] : table) {
    auto e = openai_error_to_anthropic(obj(R"({"error":{"message":"boom","type":"x"}})"), status);
    EXPECT_EQ(e.status, status);
    EXPECT_EQ(e.body.at("type"), "error");
    EXPECT_EQ(e.body.at("error").at("type"), type) << status;
    EXPECT_EQ(e.body.at("error").at("message"), "boom");
  }
  auto vllm =
      openai_error_to_anthropic(obj(R"({"object":"error","message":"model not found"})"), 404);
  EXPECT_EQ(vllm.body.at("error").at("message"), "model not found");
}

TEST(AnthropicErrors, GatewayErrorsInAnthropicShape) {
  auto e = anthropic_error_from(Error::make(ErrorKind::kInvalidRequest, "bad thing", "c", "p"));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(
      e.body,
      json::parse(
          R"({"type":"error","error":{"type":"invalid_request_error","message":"bad thing"}})"));
  EXPECT_EQ(
      anthropic_error_from(Error::make(ErrorKind::kRateLimited, "x")).body.at("error").at("type"),
      "rate_limit_error");
  EXPECT_EQ(anthropic_error_from(Error::make(ErrorKind::kUnavailable, "x")).status, 503);
  Error up;
  up.kind = ErrorKind::kUpstreamStatus;
  up.upstream_status = 429;
  up.upstream_body_error =
      R"({"error":{"message":"quota","type":"rate_limit_error","param":null,"code":null}})";
  auto u = anthropic_error_from(up);
  EXPECT_EQ(u.status, 429);
  EXPECT_EQ(u.body.at("error").at("message"), "quota");
}

TEST(AnthropicInboundResponse, UpstreamGarbageIsUpstreamInvalid) {
  auto none = openai_to_anthropic_response(obj(R"({"id":"x","choices":[]})"), "m");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::kUpstreamInvalid);
  auto bad_args = openai_to_anthropic_response(
      obj(R"({"choices":[{"message":{"tool_calls":[{"id":"c","function":{"name":"f","arguments":"{oops"}}]},"finish_reason":"tool_calls"}]})"),
      "m", "msg_hint");
  ASSERT_FALSE(bad_args.ok());
  EXPECT_EQ(bad_args.error().kind, ErrorKind::kUpstreamInvalid);
  auto refusal = openai_to_anthropic_response(
      obj(R"({"choices":[{"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"content_filter"}]})"),
      "m", "msg_hint");
  ASSERT_TRUE(refusal.ok());
  EXPECT_EQ(refusal->at("id"), "msg_hint");
  EXPECT_EQ(refusal->at("stop_reason"), "refusal");
  EXPECT_EQ(refusal->at("content"),
            json::parse(R"([{"type":"text","text":"I can't help with that."}])"));
}

// OpenAI -> Anthropic -> OpenAI keeps a tool conversation's meaning.
TEST(AnthropicRequestRoundTrip, ToolConversation) {
  const char* original = R"({"model":"x","messages":[
      {"role":"system","content":"Be brief."},
      {"role":"user","content":"Weather in Paris?"},
      {"role":"assistant","content":"Checking.","tool_calls":[{"id":"t1","type":"function","function":{"name":"w","arguments":"{\"city\": \"Paris\"}"}}]},
      {"role":"tool","tool_call_id":"t1","content":"20C"}],
    "tools":[{"type":"function","function":{"name":"w","description":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
    "tool_choice":"required","max_tokens":100,"stop":["END"]})";
  auto there = openai_to_anthropic_request(obj(original), "claude", std::nullopt);
  ASSERT_TRUE(there.ok());
  auto back = anthropic_to_openai_request(*there, "x");
  ASSERT_TRUE(back.ok()) << back.error().message;
  auto orig = obj(original);
  const auto& m = back->at("messages").as_array();
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0], orig.at("messages").at(0));
  EXPECT_EQ(m[1], orig.at("messages").at(1));
  EXPECT_EQ(m[2].at("content"), "Checking.");
  EXPECT_EQ(json::parse(m[2].at("tool_calls").at(0).at("function").at("arguments").as_string()),
            json::parse(R"({"city":"Paris"})"));
  EXPECT_EQ(m[3], orig.at("messages").at(3));
  EXPECT_EQ(back->at("tools"), orig.at("tools"));
  EXPECT_EQ(back->at("tool_choice"), "required");
  EXPECT_EQ(back->at("max_tokens"), 100);
  EXPECT_EQ(back->at("stop"), orig.at("stop"));
}

}  // namespace
