// OpenAI <-> Bedrock Converse request, response and error translation.
// Golden files (tests/golden/bedrock/README.md) come from the AWS Converse
// documentation's examples; expected outputs were written by hand from the
// mapping tables in docs/providers.md. JSON is compared parsed.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "golden.h"
#include "providers/bedrock/common.h"
#include "providers/bedrock/converse_request.h"
#include "providers/bedrock/converse_response.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace switchyard;
using namespace switchyard::bedrock;

namespace {

const fs::path kRoot = golden::root("bedrock");
constexpr int64_t kCreated = 1700000000;

using golden::read_json;

void maybe_write_actual(const fs::path& p, const json::value& v) {
  golden::maybe_write_actual(p, json::serialize(v));
}

std::vector<std::string> cases(const std::string& dir) {
  return golden::case_names(kRoot / dir, ".in.json");
}

json::object request_ok(std::string_view body) {
  auto r = openai_to_converse_request(json::parse(body).as_object());
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : json::object();
}

Error request_error(std::string_view body) {
  auto r = openai_to_converse_request(json::parse(body).as_object());
  EXPECT_FALSE(r.ok());
  return r.ok() ? Error{} : r.error();
}

}  // namespace

// ---------------------------------------------------------------------------
// Golden files.

TEST(BedrockGoldenFiles, EveryDirectoryHasCases) {
  EXPECT_GE(cases("openai_to_converse_request").size(), 12U);
  EXPECT_GE(cases("openai_to_converse_request_errors").size(), 25U);
  EXPECT_GE(cases("converse_to_openai_response").size(), 8U);
  for (const char* dir : {"openai_to_converse_request", "converse_to_openai_response"}) {
    for (const auto& name : cases(dir)) {
      EXPECT_TRUE(fs::exists(kRoot / dir / (name + ".out.json"))) << dir << "/" << name;
    }
  }
  for (const auto& name : cases("openai_to_converse_request_errors")) {
    EXPECT_TRUE(fs::exists(kRoot / "openai_to_converse_request_errors" / (name + ".error.json")))
        << name;
  }
}

class BedrockGoldenRequest : public testing::TestWithParam<std::string> {};

TEST_P(BedrockGoldenRequest, Matches) {
  const fs::path dir = kRoot / "openai_to_converse_request";
  const json::value in = read_json(dir / (GetParam() + ".in.json"));
  const json::value expected = read_json(dir / (GetParam() + ".out.json"));
  auto r = openai_to_converse_request(in.as_object());
  ASSERT_TRUE(r.ok()) << r.error().message << " (param " << r.error().param.value_or("") << ")";
  const json::value actual = r.value();
  if (actual != expected) maybe_write_actual(dir / (GetParam() + ".actual.json"), actual);
  EXPECT_EQ(actual, expected) << "actual:   " << json::serialize(actual)
                              << "\nexpected: " << json::serialize(expected);
}

INSTANTIATE_TEST_SUITE_P(Bedrock, BedrockGoldenRequest,
                         testing::ValuesIn(cases("openai_to_converse_request")),
                         golden::param_name);

class BedrockGoldenRequestError : public testing::TestWithParam<std::string> {};

TEST_P(BedrockGoldenRequestError, Matches) {
  const fs::path dir = kRoot / "openai_to_converse_request_errors";
  const json::value in = read_json(dir / (GetParam() + ".in.json"));
  const json::object expected = read_json(dir / (GetParam() + ".error.json")).as_object();
  auto r = openai_to_converse_request(in.as_object());
  ASSERT_FALSE(r.ok()) << json::serialize(r.value());
  const Error& e = r.error();
  EXPECT_EQ(http_status(e), expected.at("status").as_int64()) << e.message;
  EXPECT_EQ(error_type(e), expected.at("type").as_string()) << e.message;
  EXPECT_EQ(e.param.value_or("<none>"), expected.at("param").as_string()) << e.message;
  EXPECT_EQ(e.code.value_or("<none>"), expected.at("code").as_string()) << e.message;
  EXPECT_FALSE(e.message.empty());
}

INSTANTIATE_TEST_SUITE_P(Bedrock, BedrockGoldenRequestError,
                         testing::ValuesIn(cases("openai_to_converse_request_errors")),
                         golden::param_name);

class BedrockGoldenResponse : public testing::TestWithParam<std::string> {};

TEST_P(BedrockGoldenResponse, Matches) {
  const fs::path dir = kRoot / "converse_to_openai_response";
  const json::value in = read_json(dir / (GetParam() + ".in.json"));
  const json::value expected = read_json(dir / (GetParam() + ".out.json"));
  const json::value actual =
      converse_to_openai_response(in.as_object(), "bedrock-claude", "chatcmpl-bedrock", kCreated);
  if (actual != expected) maybe_write_actual(dir / (GetParam() + ".actual.json"), actual);
  EXPECT_EQ(actual, expected) << "actual:   " << json::serialize(actual)
                              << "\nexpected: " << json::serialize(expected);
}

INSTANTIATE_TEST_SUITE_P(Bedrock, BedrockGoldenResponse,
                         testing::ValuesIn(cases("converse_to_openai_response")),
                         golden::param_name);

// ---------------------------------------------------------------------------
// Paths.

TEST(BedrockPath, ModelIdsProfilesAndArns) {
  EXPECT_EQ(converse_path("anthropic.claude-3-5-sonnet-20240620-v1:0", false),
            "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
  EXPECT_EQ(converse_path("us.anthropic.claude-3-7-sonnet-20250219-v1:0", true),
            "/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream");
  EXPECT_EQ(converse_path("amazon.nova-lite-v1:0", false),
            "/model/amazon.nova-lite-v1%3A0/converse");
  EXPECT_EQ(converse_path("meta.llama3-8b-instruct-v1", false),
            "/model/meta.llama3-8b-instruct-v1/converse");
  // An ARN is one path segment: ':' and '/' are both encoded.
  EXPECT_EQ(converse_path("arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
                          "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
                          true),
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F"
            "us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream");
}

// ---------------------------------------------------------------------------
// Request details the golden files do not pin down.

TEST(BedrockRequest, ErrorsNameTheFieldAndSayWhy) {
  Error e = request_error(
      R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x/y.png"}}]}]})");
  EXPECT_EQ(e.kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(e.param.value_or(""), "messages[0].content[0].image_url.url");
  EXPECT_NE(e.message.find("base64 data URL"), std::string::npos) << e.message;

  e = request_error(
      R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{oops"}}]}],"tools":[{"type":"function","function":{"name":"f"}}]})");
  EXPECT_NE(e.message.find("not valid JSON"), std::string::npos) << e.message;
}

TEST(BedrockRequest, ArgumentsAsObjectOrEmptyAreAccepted) {
  json::object out = request_ok(
      R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[
        {"id":"a","type":"function","function":{"name":"f","arguments":{"x":1}}},
        {"id":"b","type":"function","function":{"name":"f","arguments":"  "}},
        {"id":"c","type":"function","function":{"name":"f"}}]}],
        "tools":[{"type":"function","function":{"name":"f"}}]})");
  const auto& content = out.at("messages").as_array()[1].at("content").as_array();
  ASSERT_EQ(content.size(), 3U);
  EXPECT_EQ(content[0].at("toolUse").at("input"), json::parse(R"({"x":1})"));
  EXPECT_EQ(content[1].at("toolUse").at("input"), json::object());
  EXPECT_EQ(content[2].at("toolUse").at("input"), json::object());
}

TEST(BedrockRequest, EmptyToolResultAndBareBase64File) {
  json::object out = request_ok(
      R"({"messages":[
        {"role":"user","content":[{"type":"text","text":"read"},
          {"type":"file","file":{"filename":"report.pdf","file_data":"JVBERi0xLjQK"}}]},
        {"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"a","content":""}],
        "tools":[{"type":"function","function":{"name":"f"}}]})");
  const auto& msgs = out.at("messages").as_array();
  EXPECT_EQ(
      msgs[0].at("content").as_array()[1],
      json::parse(
          R"({"document":{"format":"pdf","name":"report","source":{"bytes":"JVBERi0xLjQK"}}})"));
  EXPECT_EQ(msgs[2].at("content").as_array()[0],
            json::parse(R"({"toolResult":{"toolUseId":"a","content":[]}})"));
}

TEST(BedrockRequest, ToolChoiceWithoutToolsIsDropped) {
  json::object out =
      request_ok(R"({"messages":[{"role":"user","content":"q"}],"tool_choice":"required"})");
  EXPECT_FALSE(out.contains("toolConfig"));
  EXPECT_EQ(out.size(), 1U);  // messages only
}

TEST(BedrockRequest, TypeErrors) {
  struct Case {
    const char* body;
    const char* param;
    const char* code;
  };
  for (
      const Case& c : {
          Case{R"({"messages":"hi"})", "messages", "invalid_type"},
          Case{R"({"messages":[1]})", "messages[0]", "invalid_type"},
          Case{R"({"messages":[{"content":"q"}]})", "messages[0].role",
               "missing_required_parameter"},
          Case{R"({"messages":[{"role":"user","content":5}]})", "messages[0].content",
               "invalid_type"},
          Case{R"({"messages":[{"role":"user","content":"q"}],"temperature":"hot"})", "temperature",
               "invalid_type"},
          Case{R"({"messages":[{"role":"user","content":"q"}],"max_completion_tokens":0})",
               "max_completion_tokens", "invalid_value"},
          Case{R"({"messages":[{"role":"user","content":"q"}],"stop":[1]})", "stop[0]",
               "invalid_type"},
          Case{R"({"messages":[{"role":"user","content":"q"}],"tools":{}})", "tools",
               "invalid_type"},
          Case{
              R"({"messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{}}]})",
              "tools[0].function.name", "missing_required_parameter"},
          Case{R"({"messages":[{"role":"user","content":"q"}],"top_k":"x"})", "top_k",
               "invalid_type"},
          Case{
              R"({"messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}})",
              "response_format.json_schema.schema", "missing_required_parameter"},
          Case{
              R"({"messages":[{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]})",
              "messages[0].content[0]", "unsupported_value"},
          Case{R"({"messages":[{"role":"assistant","thinking_blocks":[{"type":"other"}]}]})",
               "messages[0].thinking_blocks[0].type", "invalid_value"},
      }) {
    Error e = request_error(c.body);
    EXPECT_EQ(e.param.value_or(""), c.param) << c.body;
    EXPECT_EQ(e.code.value_or(""), c.code) << c.body;
    EXPECT_EQ(http_status(e), 400) << c.body;
  }
}

// ---------------------------------------------------------------------------
// Responses and errors.

TEST(BedrockResponse, MissingPiecesGiveAnEmptyAnswer) {
  json::object r = converse_to_openai_response(json::object(), "m", "id-1", kCreated);
  const auto& choice = r.at("choices").as_array()[0].as_object();
  EXPECT_EQ(choice.at("message").at("content").as_string(), "");
  EXPECT_EQ(choice.at("finish_reason").as_string(), "stop");
  EXPECT_EQ(r.at("usage").at("total_tokens").as_int64(), 0);
  EXPECT_EQ(r.at("id").as_string(), "id-1");
}

TEST(BedrockResponse, ServerToolUseIsLeftOut) {
  json::object r = converse_to_openai_response(
      json::parse(R"({"output":{"message":{"role":"assistant","content":[
        {"toolUse":{"toolUseId":"s1","name":"web","input":{},"type":"server_tool_use"}},
        {"toolResult":{"toolUseId":"s1","content":[{"text":"result"}]}},
        {"text":"Answer."}]}},"stopReason":"end_turn"})")
          .as_object(),
      "m", "id", kCreated);
  const auto& msg = r.at("choices").as_array()[0].at("message").as_object();
  EXPECT_EQ(msg.at("content").as_string(), "Answer.");
  EXPECT_FALSE(msg.contains("tool_calls"));
}

TEST(BedrockResponse, StopReasonTable) {
  EXPECT_STREQ(openai_finish_reason("end_turn"), "stop");
  EXPECT_STREQ(openai_finish_reason("stop_sequence"), "stop");
  EXPECT_STREQ(openai_finish_reason("max_tokens"), "length");
  EXPECT_STREQ(openai_finish_reason("model_context_window_exceeded"), "length");
  EXPECT_STREQ(openai_finish_reason("tool_use"), "tool_calls");
  EXPECT_STREQ(openai_finish_reason("content_filtered"), "content_filter");
  EXPECT_STREQ(openai_finish_reason("guardrail_intervened"), "content_filter");
  EXPECT_STREQ(openai_finish_reason("malformed_tool_use"), "stop");
  EXPECT_STREQ(openai_finish_reason("something_new"), "stop");
}

TEST(BedrockErrors, HeaderBodyAndStatus) {
  struct Case {
    const char* header;
    const char* body;
    int upstream_status;
    int status;
    const char* type;
    const char* code;
    const char* message;
  };
  for (
      const Case& c : {
          Case{"ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
               R"({"message":"Too many requests, please wait before trying again."})", 429, 429,
               "rate_limit_error", "ThrottlingException",
               "Too many requests, please wait before trying again."},
          Case{
              "ValidationException",
              R"({"message":"The model returned the following errors: messages: roles must alternate"})",
              400, 400, "invalid_request_error", "ValidationException",
              "The model returned the following errors: messages: roles must alternate"},
          Case{"AccessDeniedException",
               R"({"Message":"You don't have access to the model with the specified model ID."})",
               403, 403, "permission_error", "AccessDeniedException",
               "You don't have access to the model with the specified model ID."},
          Case{"ModelTimeoutException",
               R"({"message":"Model has timed out in processing the request."})", 408, 408,
               "timeout_error", "ModelTimeoutException",
               "Model has timed out in processing the request."},
          Case{"ServiceUnavailableException",
               R"({"message":"Bedrock is unable to process your request."})", 503, 503,
               "service_unavailable_error", "ServiceUnavailableException",
               "Bedrock is unable to process your request."},
          Case{"ModelErrorException", R"({"message":"The model failed."})", 424, 424, "api_error",
               "ModelErrorException", "The model failed."},
          Case{"ResourceNotFoundException", R"({"message":"Model not found."})", 404, 404,
               "not_found_error", "ResourceNotFoundException", "Model not found."},
          // No header: the body's __type names the exception.
          Case{"", R"({"__type":"com.amazon.coral.validate#ValidationException","message":"bad"})",
               400, 400, "invalid_request_error", "ValidationException", "bad"},
          // No HTTP status known: the AWS table gives it.
          Case{"ModelNotReadyException", R"({"message":"warming"})", 0, 429, "rate_limit_error",
               "ModelNotReadyException", "warming"},
          // Prompt too long -> context_length_exceeded.
          Case{"ValidationException", R"({"message":"Input is too long for requested model."})",
               400, 400, "invalid_request_error", "context_length_exceeded",
               "Input is too long for requested model."},
          // Not JSON at all.
          Case{"", "<html>Bad Gateway</html>", 502, 502, "api_error", nullptr,
               "<html>Bad Gateway</html>"},
      }) {
    TranslatedError t = bedrock_error_to_openai(c.header, c.body, c.upstream_status);
    EXPECT_EQ(t.status, c.status) << c.header;
    const auto& err = t.body.at("error").as_object();
    EXPECT_EQ(err.at("type").as_string(), c.type) << c.header;
    EXPECT_EQ(err.at("message").as_string(), c.message) << c.header;
    EXPECT_TRUE(err.at("param").is_null());
    if (c.code == nullptr) {
      EXPECT_TRUE(err.at("code").is_null());
    } else {
      EXPECT_EQ(err.at("code").as_string(), c.code) << c.header;
    }
  }
}

TEST(BedrockErrors, AsGatewayError) {
  Error e = bedrock_upstream_error("ThrottlingException", R"({"message":"slow down"})", 429, "3");
  EXPECT_EQ(e.kind, ErrorKind::kUpstreamStatus);
  EXPECT_EQ(http_status(e), 429);
  EXPECT_EQ(e.retry_after, "3");
  EXPECT_EQ(e.code.value_or(""), "ThrottlingException");
  EXPECT_EQ(
      json::parse(error_body(e)),
      json::parse(
          R"({"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"ThrottlingException"}})"));
}

TEST(BedrockErrors, NormalizeErrorType) {
  EXPECT_EQ(normalize_error_type("ValidationException:http://internal.amazon.com/coral/x/"),
            "ValidationException");
  EXPECT_EQ(normalize_error_type("com.amazon.coral.validate#ValidationException"),
            "ValidationException");
  EXPECT_EQ(normalize_error_type("throttlingException"), "ThrottlingException");
  EXPECT_EQ(normalize_error_type(""), "");
  EXPECT_EQ(bedrock_error_status("ThrottlingException"), 429);
  EXPECT_EQ(bedrock_error_status("ModelStreamErrorException"), 424);
  EXPECT_EQ(bedrock_error_status("NoSuchThing"), 0);
}

TEST(BedrockUsage, CacheTokensCountAsPrompt) {
  ConverseUsage u;
  u.merge_from(json::parse(R"({"inputTokens":8,"outputTokens":5,"totalTokens":2061,
                               "cacheReadInputTokens":1024,"cacheWriteInputTokens":1024})")
                   .as_object());
  TokenUsage t = u.to_token_usage();
  EXPECT_EQ(t.prompt_tokens, 2056);
  EXPECT_EQ(t.completion_tokens, 5);
  EXPECT_EQ(t.total_tokens, 2061);
  ConverseUsage none;
  EXPECT_FALSE(none.to_token_usage().known());
}
