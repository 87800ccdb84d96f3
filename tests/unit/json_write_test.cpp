// api/json_write.h must print exactly what boost::json::serialize() prints;
// the request body the upstream gets is built with it.
#include "api/json_write.h"

#include <gtest/gtest.h>

#include <bit>
#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "api/inbound.h"
#include "config/config.h"
#include "providers/openai_compatible.h"
#include "routing/model_registry.h"

using namespace switchyard;

namespace {

std::string random_text(std::mt19937_64& rng) {
  std::string s;
  const size_t len = rng() % 40;
  for (size_t i = 0; i < len; ++i) {
    // Mostly plain letters, with control bytes, quotes, backslashes, DEL,
    // '/' and UTF-8 bytes mixed in.
    switch (rng() % 10) {
      case 0:
        s.push_back(static_cast<char>(rng() % 0x20));
        break;
      case 1: {
        static constexpr char kSpecial[] = {'"', '\\', '/', '\x7f', '\xc3', '\xa9', '\xff'};
        s.push_back(kSpecial[rng() % sizeof kSpecial]);
        break;
      }
      default:
        s.push_back(static_cast<char>('a' + rng() % 26));
    }
  }
  return s;
}

boost::json::value random_value(std::mt19937_64& rng, int depth) {
  switch (rng() % (depth > 3 ? 6 : 8)) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<int64_t>(rng()) >> (rng() % 64);
    case 3:
      return rng() | (uint64_t{1} << 63);  // beyond int64: stored as uint64
    case 4: {
      // Doubles of all kinds: plain decimals, tiny, huge, negative zero,
      // and arbitrary bit patterns (NaN and infinities included).
      switch (rng() % 4) {
        case 0:
          return static_cast<double>(rng() % 100000) / 1000;
        case 1:
          return -0.0;
        case 2:
          return std::bit_cast<double>(rng());
        default:
          return std::ldexp(static_cast<double>(rng() % 1000), static_cast<int>(rng() % 200) - 100);
      }
    }
    case 5:
      return boost::json::string(random_text(rng));
    case 6: {
      boost::json::array a;
      const size_t n = rng() % 5;
      for (size_t i = 0; i < n; ++i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      boost::json::object o;
      const size_t n = rng() % 6;
      for (size_t i = 0; i < n; ++i) o[random_text(rng)] = random_value(rng, depth + 1);
      return o;
    }
  }
}

}  // namespace

TEST(JsonWrite, MatchesBoostSerializeOnRandomDocuments) {
  std::mt19937_64 rng(2026);
  for (int i = 0; i < 5000; ++i) {
    const boost::json::value v = random_value(rng, 0);
    std::string out;
    append_json(out, v);
    ASSERT_EQ(out, boost::json::serialize(v)) << i;
  }
}

TEST(JsonWrite, EscapesLikeBoost) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  std::string out;
  append_json_string_literal(out, all);
  EXPECT_EQ(out, boost::json::serialize(boost::json::string(all)));
  out.clear();
  append_json_string_literal(out, std::string_view("\b\f\x01\x1f", 4));
  EXPECT_EQ(out, R"("\b\f\u0001\u001f")");
  // A special byte at every place of a word.
  for (char special : {'"', '\\', '\n', '\b', '\x1e'}) {
    for (size_t pos = 0; pos < 20; ++pos) {
      std::string text(20, 'q');
      text[pos] = special;
      out.clear();
      append_json_string_literal(out, text);
      EXPECT_EQ(out, boost::json::serialize(boost::json::string(text))) << pos;
    }
  }
}

// Output far larger than the size hint (the buffer grows as it goes).
TEST(JsonWrite, LargeDocumentsGrowTheBuffer) {
  std::string big(100000, 'x');
  for (size_t i = 0; i < big.size(); i += 997) big[i] = '\n';
  boost::json::object body = {{"model", "m"}, {"a", big}, {"b", boost::json::array(500, 1.5)}};
  EXPECT_EQ(serialize_with_model(body, "m", 10), boost::json::serialize(body));
  std::string out = "prefix";
  append_json(out, body);
  EXPECT_EQ(out, "prefix" + boost::json::serialize(body));
}

TEST(JsonWrite, SerializeWithModelIsAssignThenSerialize) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000; ++i) {
    boost::json::value v = random_value(rng, 3);
    if (!v.is_object()) continue;
    auto& body = v.as_object();
    if (rng() % 3 != 0) body["model"] = random_value(rng, 3);  // any kind, any place
    const std::string name = random_text(rng);
    const std::string got = serialize_with_model(body, name, rng() % 300);
    boost::json::object expected = body;
    expected["model"] = name;
    ASSERT_EQ(got, boost::json::serialize(expected)) << i;
  }
  EXPECT_EQ(serialize_with_model(boost::json::object{}, "m"), R"({"model":"m"})");
}

// The upstream body: deployment model name, deployment defaults for keys the
// client did not send, and the request's body left as it was.
TEST(JsonWrite, OpenAiRequestBodyAndBodyLeftAsItWas) {
  Deployment config;
  config.params.model_id = "upstream-model";
  config.params.extra_body = {{"seed", 7}, {"temperature", 1}};
  config.params.max_tokens = 99;
  DeploymentRuntime runtime;
  runtime.config = &config;
  runtime.path_prefix = "/v1";

  auto req = parse_inbound(ApiRoute::kChatCompletions,
                           R"({"model":"client-model","temperature":0.7,)"
                           R"("messages":[{"role":"user","content":"h\u00e9\n\"x\""}]})");
  ASSERT_TRUE(req);
  const std::string before = boost::json::serialize(req->body);
  const auto out = build_openai_request(runtime, *req);
  EXPECT_EQ(out.body,
            R"({"model":"upstream-model","temperature":7E-1,)"
            R"("messages":[{"role":"user","content":"hé\n\"x\""}],"seed":7,"max_tokens":99})");
  EXPECT_EQ(out.target, "/v1/chat/completions");
  EXPECT_EQ(boost::json::serialize(req->body), before);

  auto plain = parse_inbound(ApiRoute::kEmbeddings, R"({"input":"x","model":"e"})");
  ASSERT_TRUE(plain);
  config.params.extra_body = {};
  const auto embed = build_openai_request(runtime, *plain);
  EXPECT_EQ(embed.body, R"({"input":"x","model":"upstream-model"})");
  EXPECT_EQ(boost::json::serialize(plain->body), R"({"input":"x","model":"e"})");
}
