// Config lifecycle (config/reload_diff, server/config_sync, upstream/s3_client):
// what a reload carries over and what needs a restart, a reload through
// ConfigSync against a real file, and the S3 request against AWS's
// published S3 GET Object signing example.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "config/reload_diff.h"
#include "server/config_sync.h"
#include "server/gateway_state.h"
#include "test_env.h"
#include "upstream/s3_client.h"

using namespace switchyard;

namespace {

Config parse(const std::string& yaml) {
  ConfigDiagnostics diagnostics;
  auto config = parse_config(yaml, env_from({}), diagnostics);
  EXPECT_TRUE(config.has_value()) << (diagnostics.errors.empty() ? "" : diagnostics.errors[0]);
  return config.value_or(Config{});
}

const char* kBase = R"(
model_list:
  - model_name: fast
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9/v1", api_key: k1}
    model_info: {id: fast-1}
  - model_name: slow
    litellm_params: {model: mock/slow, mock_response: hi}
general_settings: {master_key: sk-1}
switchyard_settings: {port: 4000}
)";

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

TEST(ReloadDiff, IdenticalConfigsKeepEverythingAndNeedNoRestart) {
  auto diff = diff_configs(parse(kBase), parse(kBase));
  EXPECT_TRUE(diff.restart_required.empty());
  EXPECT_EQ(diff.deployments_kept, (std::vector<std::string>{"fast-1", "slow-1"}));
  EXPECT_TRUE(diff.deployments_added.empty());
  EXPECT_TRUE(diff.deployments_removed.empty());
  EXPECT_TRUE(diff.deployments_changed.empty());
  EXPECT_FALSE(diff.router_changed);
}

TEST(ReloadDiff, ListenAndStoreSettingsNeedARestartAndSecretsAreNotPrinted) {
  std::string next = kBase;
  next.replace(next.find("port: 4000"), 10, "port: 4001, worker_threads: 3, data_dir: /x");
  next += "  \ngeneral_settings: {master_key: sk-1, database_url: postgresql://u:hunter2@db/x}\n";
  next.replace(next.find("general_settings: {master_key: sk-1}\n"), 37, "");
  auto diff = diff_configs(parse(kBase), parse(next));
  EXPECT_TRUE(contains(diff.restart_required, "switchyard_settings.port: 4000 -> 4001"));
  EXPECT_TRUE(contains(diff.restart_required, "switchyard_settings.worker_threads: 0 -> 3"));
  EXPECT_TRUE(contains(diff.restart_required, "switchyard_settings.data_dir: '/app/data' -> '/x'"));
  EXPECT_TRUE(contains(diff.restart_required, "general_settings.database_url: changed"));
  for (const auto& line : diff.restart_required) {
    EXPECT_EQ(line.find("hunter2"), std::string::npos) << line;
  }
}

TEST(ReloadDiff, LiveSettingsAreNotReportedAsNeedingARestart) {
  std::string next = kBase;
  next += "router_settings: {num_retries: 4, cooldown_time: 9}\n";
  next.replace(next.find("master_key: sk-1"), 16, "master_key: sk-2");
  auto diff = diff_configs(parse(kBase), parse(next));
  EXPECT_TRUE(diff.restart_required.empty());
  EXPECT_FALSE(diff.router_changed);  // classic strategy unchanged
}

TEST(ReloadDiff, StartingTheStoreNeedsARestart) {
  std::string open = kBase;
  open.replace(open.find("general_settings: {master_key: sk-1}\n"), 37, "");
  auto diff = diff_configs(parse(open), parse(kBase));
  ASSERT_EQ(diff.restart_required.size(), 1u);
  EXPECT_NE(diff.restart_required[0].find("general_settings.master_key"), std::string::npos);
}

TEST(ReloadDiff, DeploymentsKeptAddedRemovedAndChanged) {
  const std::string next = R"(
model_list:
  - model_name: fast
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9/v1", api_key: k2}
    model_info: {id: fast-1}
  - model_name: new
    litellm_params: {model: mock/new}
    model_info: {id: new-1}
general_settings: {master_key: sk-1}
switchyard_settings: {port: 4000}
)";
  auto diff = diff_configs(parse(kBase), parse(next));
  EXPECT_EQ(diff.deployments_kept, std::vector<std::string>{"fast-1"});
  EXPECT_EQ(diff.deployments_changed, std::vector<std::string>{"fast-1"});  // new api_key
  EXPECT_EQ(diff.deployments_added, std::vector<std::string>{"new-1"});
  EXPECT_EQ(diff.deployments_removed, std::vector<std::string>{"slow-1"});
}

TEST(ReloadDiff, GeneratedIdsDoNotHandStateToAnotherDeployment) {
  // Inserting an entry at the top shifts generated ids: "a-0" now names a
  // different upstream model, so it must not inherit mock/x's cooldown.
  const Config before = parse(
      "model_list:\n  - model_name: a\n    litellm_params: {model: mock/x}\n"
      "  - model_name: a\n    litellm_params: {model: mock/y}\n");
  const Config after = parse(
      "model_list:\n  - model_name: a\n    litellm_params: {model: mock/new}\n"
      "  - model_name: a\n    litellm_params: {model: mock/x}\n"
      "  - model_name: a\n    litellm_params: {model: mock/y}\n");
  EXPECT_EQ(after.model_list[0].info.id, "a-0");
  EXPECT_NE(deployment_state_key(before.model_list[0]), deployment_state_key(after.model_list[0]));
  auto diff = diff_configs(before, after);
  EXPECT_TRUE(diff.deployments_kept.empty());
  EXPECT_EQ(diff.deployments_added.size(), 3u);
  EXPECT_EQ(diff.deployments_removed.size(), 2u);
  // Explicit ids are the stable way: same id, same state, whatever moves.
  EXPECT_EQ(deployment_state_key(parse(kBase).model_list[0]), "fast-1");
}

TEST(ReloadDiff, RouterArgsDecideWhetherTheLearnedRouterIsRebuilt) {
  const std::string learned = std::string(kBase) +
                              "router_settings:\n  routing_strategy: llmrouter-knn\n"
                              "  routing_strategy_args: {model_path: /m/a.syr}\n";
  std::string other_path = learned;
  other_path.replace(other_path.find("/m/a.syr"), 8, "/m/b.syr");
  std::string more_deployments = learned;
  more_deployments.replace(more_deployments.find("general_settings"), 0,
                           "  - model_name: extra\n    litellm_params: {model: mock/x}\n");
  EXPECT_TRUE(diff_configs(parse(learned), parse(other_path)).router_changed);
  EXPECT_FALSE(diff_configs(parse(learned), parse(more_deployments)).router_changed);
  EXPECT_TRUE(diff_configs(parse(kBase), parse(learned)).router_changed);
}

TEST(ReloadDiff, RegistryRebuildKeepsTheLiveStateOfKeptDeployments) {
  DeploymentStates states;
  std::vector<std::string> warnings;
  auto before = std::make_shared<const Config>(parse(kBase));
  auto r1 = ModelRegistry::build(before, env_from({}), states, warnings);
  const auto now = Clock::now();
  DeploymentState* fast = r1->find("fast")->deployments[0]->state;
  fast->record_failure(now, 0, std::chrono::seconds(60), true);
  ASSERT_TRUE(fast->cooling_down(now));

  std::string next = kBase;
  next.replace(next.find("api_key: k1"), 11, "api_key: k9");  // same id, new params
  auto after = std::make_shared<const Config>(parse(next));
  auto r2 = ModelRegistry::build(after, env_from({}), states, warnings);
  EXPECT_EQ(r2->find("fast")->deployments[0]->state, fast);
  EXPECT_TRUE(r2->find("fast")->deployments[0]->state->cooling_down(now));
}

TEST(S3Request, MatchesTheAwsS3GetObjectSigningExample) {
  S3Settings settings;  // us-east-1, AWS endpoint (virtual-hosted)
  AwsCredentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  auto r = build_s3_get(settings, ObjectRef{"examplebucket", "test.txt", "s3"}, creds,
                        "20130524T000000Z", "", {{"range", "bytes=0-9"}});
  EXPECT_EQ(r.endpoint.host, "examplebucket.s3.amazonaws.com");
  EXPECT_TRUE(r.endpoint.tls);
  EXPECT_EQ(r.request.target, "/test.txt");
  std::string authorization;
  for (const auto& [name, value] : r.request.headers) {
    if (name == "authorization") authorization = value;
  }
  EXPECT_EQ(authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(S3Request, EndpointOverrideUsesPathStyleAndConditionalGet) {
  auto settings = S3Settings::from_env(env_from({{"AWS_ENDPOINT_URL", "http://127.0.0.1:9000"},
                                                 {"AWS_REGION", "eu-west-1"},
                                                 {"AWS_ACCESS_KEY_ID", "AKID"},
                                                 {"AWS_SECRET_ACCESS_KEY", "SECRET"},
                                                 {"AWS_SESSION_TOKEN", "TOKEN"}}));
  EXPECT_EQ(settings.region, "eu-west-1");
  ASSERT_TRUE(settings.credentials);
  auto r = build_s3_get(settings, ObjectRef{"cfg", "prod/config v2.yaml", "s3"},
                        settings.credentials->current(), "20260101T000000Z", "\"abc\"");
  EXPECT_EQ(r.endpoint.host, "127.0.0.1");
  EXPECT_EQ(r.endpoint.port, "9000");
  EXPECT_FALSE(r.endpoint.tls);
  EXPECT_EQ(r.request.target, "/cfg/prod/config%20v2.yaml");
  std::map<std::string, std::string> headers(r.request.headers.begin(), r.request.headers.end());
  EXPECT_EQ(headers["if-none-match"], "\"abc\"");
  EXPECT_EQ(headers["x-amz-security-token"], "TOKEN");
  EXPECT_NE(headers["authorization"].find("/eu-west-1/s3/aws4_request"), std::string::npos);
  EXPECT_NE(headers["authorization"].find("x-amz-security-token"), std::string::npos);
  // AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL.
  auto s3_only = S3Settings::from_env(env_from({{"AWS_ENDPOINT_URL", "http://a:1"},
                                                {"AWS_ENDPOINT_URL_S3", "http://b:2"},
                                                {"AWS_ACCESS_KEY_ID", "AKID"},
                                                {"AWS_SECRET_ACCESS_KEY", "SECRET"}}));
  EXPECT_EQ(s3_only.endpoint->host, "b");
}

TEST(S3Request, ParsesS3Uris) {
  auto ok = parse_s3_uri("s3://bucket/models/knn/model.syr");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->bucket, "bucket");
  EXPECT_EQ(ok->key, "models/knn/model.syr");
  EXPECT_FALSE(parse_s3_uri("s3://bucket/"));
  EXPECT_FALSE(parse_s3_uri("s3://bucket"));
  EXPECT_FALSE(parse_s3_uri("/app/models/x.syr"));
}

TEST(ConfigSyncOptions, DefaultsAndValidation) {
  auto defaults = ConfigSyncOptions::from_env(env_from({}), ConfigSource{});
  ASSERT_TRUE(defaults);
  EXPECT_FALSE(defaults->hot_reload);
  EXPECT_TRUE(defaults->sync_enabled);
  EXPECT_EQ(defaults->interval_seconds, 60);
  auto set = ConfigSyncOptions::from_env(env_from({{"CONFIG_HOT_RELOAD", "true"},
                                                   {"CONFIG_SYNC_ENABLED", "false"},
                                                   {"CONFIG_SYNC_INTERVAL", "2.5"}}),
                                         ConfigSource{});
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->hot_reload);
  EXPECT_FALSE(set->sync_enabled);
  EXPECT_EQ(set->interval_seconds, 2.5);
  EXPECT_FALSE(ConfigSyncOptions::from_env(env_from({{"CONFIG_SYNC_INTERVAL", "0"}}), {}));
  EXPECT_FALSE(ConfigSyncOptions::from_env(env_from({{"CONFIG_HOT_RELOAD", "maybe"}}), {}));
}

TEST(ConfigSyncOptions, RemoteSourceFromTheEnvironment) {
  std::string error;
  auto s3 = remote_config_source(
      env_from({{"CONFIG_S3_BUCKET", "b"}, {"CONFIG_S3_KEY", "k/c.yaml"}}), error);
  ASSERT_TRUE(s3);
  EXPECT_EQ(s3->location(), "s3://b/k/c.yaml");
  EXPECT_STREQ(s3->name(), "s3");
  auto gcs = remote_config_source(
      env_from({{"CONFIG_GCS_BUCKET", "g"}, {"CONFIG_GCS_KEY", "c.yaml"}}), error);
  ASSERT_TRUE(gcs);
  EXPECT_EQ(gcs->location(), "gs://g/c.yaml");
  auto litellm = remote_config_source(env_from({{"LITELLM_CONFIG_BUCKET_NAME", "l"},
                                                {"LITELLM_CONFIG_BUCKET_OBJECT_KEY", "x.yaml"}}),
                                      error);
  ASSERT_TRUE(litellm);
  EXPECT_STREQ(litellm->name(), "s3");
  EXPECT_TRUE(error.empty());
  EXPECT_FALSE(remote_config_source(env_from({{"CONFIG_S3_BUCKET", "b"}}), error));
  EXPECT_NE(error.find("CONFIG_S3_KEY"), std::string::npos);
  error.clear();
  EXPECT_FALSE(remote_config_source(env_from({}), error));
  EXPECT_TRUE(error.empty());
}

// A reload from a real file through ConfigSync: a valid change is published,
// an invalid one is rejected with its key path and the old snapshot stays.
TEST(ConfigSync, ReloadPublishesValidConfigsAndKeepsTheOldOneOnErrors) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("switchyard-reload-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "config.yaml").string();
  auto write = [&](const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  };
  write(kBase);
  auto states = std::make_shared<DeploymentStates>();
  std::vector<std::string> warnings;
  auto first =
      make_snapshot(std::make_shared<const Config>(parse(kBase)), env_from({}), *states, warnings);
  GatewayState state(states, first, 1, false);
  ConfigSource source;
  source.path = path;
  ConfigSyncOptions options;
  options.source = source;
  ConfigSync sync(options, env_from({}), LearnedRoutingOptions{}, "", "");
  sync.start(state);

  std::string next = kBase;
  next.replace(next.find("port: 4000"), 10, "port: 4001");
  next.replace(next.find("model_name: slow"), 16, "model_name: slower");
  write(next);
  auto ok = sync.reload_blocking();
  ASSERT_TRUE(ok.ok) << ok.error;
  EXPECT_TRUE(ok.changed);
  EXPECT_NE(state.snapshot(), first);
  EXPECT_NE(state.snapshot()->registry->find("slower"), nullptr);
  EXPECT_EQ(state.snapshot()->registry->find("slow"), nullptr);
  EXPECT_EQ(ok.diff.restart_required,
            std::vector<std::string>{"switchyard_settings.port: 4000 -> 4001"});
  EXPECT_EQ(ok.router, "none");

  const auto good = state.snapshot();
  write("model_list:\n  - model_name: broken\n    litellm_params: {rpm: lots}\n");
  auto bad = sync.reload_blocking();
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.error_kind, ErrorKind::kInvalidRequest);
  EXPECT_NE(bad.error.find("model_list[0].litellm_params.model: required"), std::string::npos)
      << bad.error;
  EXPECT_EQ(state.snapshot(), good);

  std::filesystem::remove(path);
  auto missing = sync.reload_blocking();
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.error_kind, ErrorKind::kUnavailable);
  EXPECT_EQ(state.snapshot(), good);

  auto status = boost::json::parse(sync.status_json()).as_object();
  EXPECT_EQ(status["reload_count"].to_number<uint64_t>(), 1u);
  EXPECT_EQ(status["reloads"].as_object()["failure"].to_number<uint64_t>(), 2u);
  EXPECT_EQ(status["source"].as_string(), "file");
  const std::string metrics = sync.render_prometheus();
  EXPECT_NE(metrics.find("config_reloads_total{source=\"file\",result=\"success\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("config_reloads_total{source=\"file\",result=\"failure\"} 2"),
            std::string::npos);
  EXPECT_NE(metrics.find("config_sync_errors_total{source=\"file\"} 1"), std::string::npos);
  sync.stop();
  std::filesystem::remove_all(dir);
}
