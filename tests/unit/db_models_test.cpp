#include "server/db_models.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "server/model_admin.h"
#include "store/secret_box.h"

using namespace switchyard;

namespace {
EnvLookup no_env() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

Deployment entry(const std::string& json) {
  ConfigDiagnostics diagnostics;
  auto d = parse_deployment(json, "body", no_env(), diagnostics);
  EXPECT_TRUE(d) << (diagnostics.errors.empty() ? "" : diagnostics.errors[0]);
  return d ? *d : Deployment{};
}
}  // namespace

TEST(SecretBox, SealsAndOpensAndRefusesAnotherKey) {
  store::SecretBox box(Secret("salt-one"));
  const std::string sealed = box.seal("sk-upstream-123");
  EXPECT_TRUE(store::SecretBox::is_sealed(sealed));
  EXPECT_EQ(sealed.find("sk-upstream-123"), std::string::npos);
  EXPECT_EQ(box.open(sealed), "sk-upstream-123");
  // Random nonce: the same text seals differently each time.
  EXPECT_NE(box.seal("sk-upstream-123"), sealed);
  EXPECT_EQ(store::SecretBox(Secret("salt-two")).open(sealed), std::nullopt);
  // Tampering is detected, a value that was never sealed passes through.
  // A character in the middle: every one of its 6 bits is data (the last
  // one before '=' padding also carries ignored bits).
  std::string tampered = sealed;
  const size_t at = tampered.size() / 2;
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  EXPECT_EQ(box.open(tampered), std::nullopt);
  EXPECT_EQ(box.open("enc:v1:!!"), std::nullopt);
  EXPECT_EQ(box.open("plain"), "plain");
  EXPECT_EQ(box.open(box.seal("")), "");
}

TEST(ParseDeployment, ValidatesLikeTheConfigFile) {
  Deployment d = entry(
      R"({"model_name": "m", "litellm_params": {"model": "openai/gpt-4o", "rpm": 5},
          "model_info": {"id": "x1"}})");
  EXPECT_EQ(d.model_name, "m");
  EXPECT_EQ(d.params.provider, "openai");
  EXPECT_EQ(d.params.rpm, 5);
  EXPECT_EQ(d.info.id, "x1");

  ConfigDiagnostics diagnostics;
  EXPECT_FALSE(parse_deployment(
      R"({"model_name": "m", "litellm_params": {"model": "mock/m", "rpm": "lots"}})", "body",
      no_env(), diagnostics));
  ASSERT_FALSE(diagnostics.errors.empty());
  EXPECT_NE(diagnostics.errors[0].find("body.litellm_params.rpm"), std::string::npos)
      << diagnostics.errors[0];
  ConfigDiagnostics missing;
  EXPECT_FALSE(
      parse_deployment(R"({"litellm_params": {"model": "mock/a"}})", "body", no_env(), missing));
  ConfigDiagnostics not_json;
  EXPECT_FALSE(parse_deployment("{", "body", no_env(), not_json));
}

TEST(MergeDbDeployments, AppendsAfterTheFileAndTheFileWinsOnIds) {
  Config base;
  base.model_list.push_back(entry(R"({"model_name": "a", "litellm_params": {"model": "mock/a"},
                                      "model_info": {"id": "a1"}})"));
  Deployment stale = entry(R"({"model_name": "old", "litellm_params": {"model": "mock/o"},
                                "model_info": {"id": "o1"}})");
  stale.from_db = true;
  base.model_list.push_back(stale);

  Deployment fresh = entry(R"({"model_name": "b", "litellm_params": {"model": "mock/b"},
                                "model_info": {"id": "b1"}})");
  fresh.from_db = true;
  Deployment clash = entry(R"({"model_name": "c", "litellm_params": {"model": "mock/c"},
                                "model_info": {"id": "a1"}})");
  clash.from_db = true;
  std::vector<std::string> warnings;
  auto merged = merge_db_deployments(base, {fresh, clash}, warnings);
  ASSERT_EQ(merged->model_list.size(), 2u);  // the stale DB entry is replaced
  EXPECT_EQ(merged->model_list[0].info.id, "a1");
  EXPECT_FALSE(merged->model_list[0].from_db);
  EXPECT_EQ(merged->model_list[1].info.id, "b1");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("a1"), std::string::npos);
}

TEST(PublicDeployment, NeverShowsCredentials) {
  Deployment d = entry(
      R"({"model_name": "m", "litellm_params": {"model": "bedrock/x", "api_key": "sk-secret",
          "aws_secret_access_key": "aws-secret", "aws_access_key_id": "AKIDSECRET",
          "aws_region_name": "eu-west-1"}, "model_info": {"id": "x1"}})");
  const std::string shown = boost::json::serialize(public_deployment(d));
  EXPECT_EQ(shown.find("sk-secret"), std::string::npos);
  EXPECT_EQ(shown.find("aws-secret"), std::string::npos);
  EXPECT_EQ(shown.find("AKIDSECRET"), std::string::npos);
  EXPECT_NE(shown.find("eu-west-1"), std::string::npos);
  EXPECT_TRUE(is_credential_param("api_key"));
  EXPECT_FALSE(is_credential_param("api_base"));
}
