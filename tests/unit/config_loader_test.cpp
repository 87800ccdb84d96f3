#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "config/loader.h"
#include "test_env.h"

using namespace switchyard;

namespace {

std::optional<Config> parse(const std::string& yaml, ConfigDiagnostics& diag,
                            std::map<std::string, std::string> vars = {}) {
  return parse_config(yaml, env_from(std::move(vars)), diag);
}

bool contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& line : lines) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST(ConfigLoader, ParsesModelListIntoDeploymentsAndGroups) {
  ConfigDiagnostics diag;
  auto config = parse(R"(
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-abc
      api_base: http://127.0.0.1:9000/v1
      timeout: 12.5
      stream_timeout: 3
      rpm: 100
      tpm: 5000
      weight: 2
      input_cost_per_token: 0.000001
      max_tokens: 256
      temperature: 0.2
      seed: 7
    model_info:
      id: dep-a
      mode: chat
  - model_name: gpt-4o
    litellm_params:
      model: hosted_vllm/meta-llama/Llama-3-8B
      api_base: http://vllm:8000/v1
)",
                      diag);
  ASSERT_TRUE(config) << (diag.errors.empty() ? "" : diag.errors[0]);
  EXPECT_TRUE(diag.warnings.empty());
  ASSERT_EQ(config->model_list.size(), 2u);
  const auto& a = config->model_list[0];
  EXPECT_EQ(a.model_name, "gpt-4o");
  EXPECT_EQ(a.params.provider, "openai");
  EXPECT_EQ(a.params.model_id, "gpt-4o");
  EXPECT_EQ(a.params.api_key.reveal(), "sk-abc");
  EXPECT_DOUBLE_EQ(*a.params.timeout, 12.5);
  EXPECT_DOUBLE_EQ(*a.params.stream_timeout, 3);
  EXPECT_EQ(*a.params.rpm, 100);
  EXPECT_EQ(*a.params.tpm, 5000);
  EXPECT_DOUBLE_EQ(*a.params.weight, 2);
  EXPECT_EQ(*a.params.max_tokens, 256);
  EXPECT_EQ(a.info.id, "dep-a");
  EXPECT_FALSE(a.info.id_generated);
  // Unknown litellm_params travel to the upstream body.
  ASSERT_TRUE(a.params.extra_body.contains("temperature"));
  EXPECT_DOUBLE_EQ(a.params.extra_body.at("temperature").as_double(), 0.2);
  EXPECT_EQ(a.params.extra_body.at("seed").as_int64(), 7);
  const auto& b = config->model_list[1];
  EXPECT_EQ(b.params.provider, "hosted_vllm");
  EXPECT_EQ(b.params.model_id, "meta-llama/Llama-3-8B");
  EXPECT_EQ(b.info.id, "gpt-4o-1");
  EXPECT_TRUE(b.info.id_generated);
}

TEST(ConfigLoader, ResolvesEnvironmentReferencesAnywhere) {
  ConfigDiagnostics diag;
  auto config = parse(R"(
model_list:
  - model_name: m
    litellm_params:
      model: openai/x
      api_key: os.environ/MY_KEY
      rpm: os.environ/MY_RPM
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
litellm_settings:
  cache: true
  cache_params:
    type: redis
    host: os.environ/REDIS_HOST
    port: os.environ/REDIS_PORT
)",
                      diag,
                      {{"MY_KEY", "sk-env"},
                       {"MY_RPM", "42"},
                       {"LITELLM_MASTER_KEY", "sk-master"},
                       {"REDIS_HOST", "redis.local"},
                       {"REDIS_PORT", "6380"}});
  ASSERT_TRUE(config) << diag.errors[0];
  EXPECT_EQ(config->model_list[0].params.api_key.reveal(), "sk-env");
  EXPECT_EQ(*config->model_list[0].params.rpm, 42);
  EXPECT_EQ(config->general_settings.master_key.reveal(), "sk-master");
  EXPECT_EQ(config->litellm_settings.cache_params.host, "redis.local");
  EXPECT_EQ(*config->litellm_settings.cache_params.port, 6380);
}

TEST(ConfigLoader, MissingEnvironmentVariableNamesTheKeyPath) {
  ConfigDiagnostics diag;
  auto config = parse(R"(
model_list:
  - model_name: m
    litellm_params:
      model: openai/x
      api_key: os.environ/NOT_SET_ANYWHERE
)",
                      diag);
  EXPECT_FALSE(config);
  ASSERT_EQ(diag.errors.size(), 1u);
  EXPECT_EQ(diag.errors[0],
            "model_list[0].litellm_params.api_key: environment variable NOT_SET_ANYWHERE is not "
            "set (referenced as os.environ/NOT_SET_ANYWHERE)");
}

TEST(ConfigLoader, EnvironmentVariablesSectionFeedsReferencesButProcessEnvWins) {
  ConfigDiagnostics diag;
  auto config = parse(R"(
environment_variables:
  FROM_FILE: file-value
  BOTH: file-value
model_list:
  - model_name: m
    litellm_params:
      model: openai/x
      api_key: os.environ/FROM_FILE
      api_base: os.environ/BOTH
)",
                      diag, {{"BOTH", "http://env-wins"}});
  ASSERT_TRUE(config);
  EXPECT_EQ(config->model_list[0].params.api_key.reveal(), "file-value");
  EXPECT_EQ(config->model_list[0].params.api_base, "http://env-wins");
}

TEST(ConfigLoader, UnknownKeysWarnButDoNotFail) {
  ConfigDiagnostics diag;
  auto config = parse(R"(
model_list: []
router_settings:
  routing_strategy: least-busy
  some_future_setting: 1
general_settings:
  alerting: [slack]
  not_a_real_key: true
mcp_servers: {}
)",
                      diag);
  ASSERT_TRUE(config);
  EXPECT_TRUE(contains(diag.warnings, "unknown key router_settings.some_future_setting"));
  EXPECT_TRUE(contains(diag.warnings, "unknown key general_settings.not_a_real_key"));
  EXPECT_TRUE(contains(diag.warnings, "unknown key mcp_servers"));
  EXPECT_EQ(config->router_settings.routing_strategy, RoutingStrategy::kLeastBusy);
}

TEST(ConfigLoader, InvalidValuesNameKeyPathAndExpectation) {
  ConfigDiagnostics diag;
  auto config = parse(R"(
model_list:
  - model_name: m
    litellm_params:
      model: openai/x
      rpm: lots
      timeout: -1
  - model_name: n
router_settings:
  routing_strategy: fastest-please
  num_retries: two
litellm_settings:
  cache: maybe
)",
                      diag);
  EXPECT_FALSE(config);
  EXPECT_TRUE(contains(diag.errors, "model_list[0].litellm_params.rpm: expected an integer, got 'lots'"));
  EXPECT_TRUE(contains(diag.errors, "model_list[0].litellm_params.timeout: expected a number >= 0"));
  EXPECT_TRUE(contains(diag.errors, "model_list[1].litellm_params: required"));
  EXPECT_TRUE(contains(diag.errors, "router_settings.routing_strategy: unknown strategy 'fastest-please'"));
  EXPECT_TRUE(contains(diag.errors, "router_settings.num_retries: expected an integer, got 'two'"));
  EXPECT_TRUE(contains(diag.errors, "litellm_settings.cache: expected true or false, got 'maybe'"));
}

TEST(ConfigLoader, DuplicateDeploymentIdsAreRejected) {
  ConfigDiagnostics diag;
  auto config = parse(R"(
model_list:
  - model_name: a
    litellm_params: {model: mock/a}
    model_info: {id: same}
  - model_name: b
    litellm_params: {model: mock/b}
    model_info: {id: same}
)",
                      diag);
  EXPECT_FALSE(config);
  EXPECT_TRUE(contains(diag.errors, "model_list[1].model_info.id: duplicate deployment id 'same'"));
}

TEST(ConfigLoader, YamlSyntaxErrorReportsLine) {
  ConfigDiagnostics diag;
  auto config = parse("model_list:\n  - model_name: [unclosed\n", diag);
  EXPECT_FALSE(config);
  ASSERT_FALSE(diag.errors.empty());
  EXPECT_NE(diag.errors[0].find("YAML syntax error at line"), std::string::npos);
}

TEST(ConfigLoader, EverySeedStrategyNameParses) {
  for (const char* name :
       {"simple-shuffle", "least-busy", "latency-based-routing", "cost-based-routing",
        "usage-based-routing", "llmrouter-knn", "llmrouter-svm", "llmrouter-mlp", "llmrouter-mf",
        "llmrouter-hybrid", "llmrouter-custom"}) {
    ConfigDiagnostics diag;
    auto config =
        parse(std::string("router_settings:\n  routing_strategy: ") + name + "\n", diag);
    ASSERT_TRUE(config) << name;
    EXPECT_STREQ(routing_strategy_name(config->router_settings.routing_strategy), name);
  }
}

TEST(ConfigLoader, StrategyArgsAndFallbacksAreTyped) {
  ConfigDiagnostics diag;
  auto config = parse(R"(
router_settings:
  routing_strategy: llmrouter-knn
  routing_strategy_args:
    model_path: /app/models/knn_router
    llm_data_path: /app/config/llm_candidates.json
    hot_reload: true
    reload_interval: 300
    cost_weight: 0.5
    label_mapping: {model-label-1: claude-haiku}
    custom_flag: yes-please
  fallbacks:
    - gpt-4o: [gpt-4o-mini, claude-haiku]
  model_group_alias: {gpt-4: gpt-4o}
)",
                      diag);
  ASSERT_TRUE(config) << diag.errors[0];
  const auto& r = config->router_settings;
  EXPECT_EQ(r.routing_strategy_args.model_path, "/app/models/knn_router");
  EXPECT_TRUE(r.routing_strategy_args.hot_reload);
  EXPECT_DOUBLE_EQ(r.routing_strategy_args.reload_interval, 300);
  EXPECT_DOUBLE_EQ(r.routing_strategy_args.cost_weight.value_or(-1), 0.5);
  EXPECT_EQ(r.routing_strategy_args.label_mapping.at("model-label-1"), "claude-haiku");
  EXPECT_EQ(r.routing_strategy_args.extra.at("custom_flag").as_string(), "yes-please");
  ASSERT_EQ(r.fallbacks.size(), 1u);
  EXPECT_EQ(r.fallbacks[0].first, "gpt-4o");
  EXPECT_EQ(r.fallbacks[0].second, (std::vector<std::string>{"gpt-4o-mini", "claude-haiku"}));
  EXPECT_EQ(r.model_group_alias.at("gpt-4"), "gpt-4o");
}

TEST(ConfigLoader, MasterKeyFallsBackToEnvironment) {
  ConfigDiagnostics diag;
  auto config = parse("model_list: []\n", diag, {{"LITELLM_MASTER_KEY", "sk-from-env"}});
  ASSERT_TRUE(config);
  EXPECT_EQ(config->general_settings.master_key.reveal(), "sk-from-env");
}

TEST(ConfigDump, MasksEverySecret) {
  ConfigDiagnostics diag;
  auto config = parse(R"(
model_list:
  - model_name: m
    litellm_params:
      model: openai/x
      api_key: sk-very-secret-1
      aws_secret_access_key: aws-very-secret-2
      extra_headers: {x-custom-auth: hdr-very-secret-3}
general_settings:
  master_key: sk-very-secret-4
  database_url: postgresql://u:very-secret-5@db/x
litellm_settings:
  cache: true
  cache_params: {type: redis, password: very-secret-6}
environment_variables:
  SOME_TOKEN: very-secret-7
)",
                      diag);
  ASSERT_TRUE(config);
  const std::string dumped = dump_config(*config);
  EXPECT_EQ(dumped.find("very-secret"), std::string::npos) << dumped;
  EXPECT_NE(dumped.find("api_key: \"***\""), std::string::npos) << dumped;
  EXPECT_NE(dumped.find("master_key: \"***\""), std::string::npos);
  // The dump is itself loadable YAML with the same shape.
  ConfigDiagnostics again;
  EXPECT_TRUE(parse(dumped, again));
}

TEST(ConfigLocate, LookupOrderAndEveryPlaceTried) {
  auto none = locate_config(std::nullopt, env_from({}));
  EXPECT_FALSE(none.path);
  ASSERT_EQ(none.tried.size(), 2u);
  EXPECT_EQ(none.tried[0], "LITELLM_CONFIG_PATH (not set)");
  EXPECT_EQ(none.tried[1], "default (/app/config/config.yaml)");

  const std::string quickstart = std::string(SWITCHYARD_SOURCE_DIR) + "/config/quickstart.yaml";
  auto from_env = locate_config(std::nullopt, env_from({{"LITELLM_CONFIG_PATH", quickstart}}));
  ASSERT_TRUE(from_env.path);
  EXPECT_EQ(*from_env.path, quickstart);

  // An explicit --config wins and is never replaced by another file.
  auto explicit_missing =
      locate_config(std::string("/nonexistent.yaml"), env_from({{"LITELLM_CONFIG_PATH", quickstart}}));
  EXPECT_FALSE(explicit_missing.path);
  EXPECT_EQ(explicit_missing.tried, (std::vector<std::string>{"--config (/nonexistent.yaml)"}));
}

// Every LiteLLM-format sample config from the original gateway must load
// unchanged, given the environment variables it references.
TEST(SampleConfigs, AllLoad) {
  const std::filesystem::path dir =
      std::filesystem::path(SWITCHYARD_SOURCE_DIR) / ".." / "shared" / "sample-configs" / "config";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "../shared not present";
  auto env = env_from({{"LITELLM_MASTER_KEY", "sk-test"},
                       {"ANTHROPIC_API_KEY", "sk-ant"},
                       {"AWS_REGION", "us-east-1"},
                       {"DATABASE_URL", "postgresql://u:p@localhost/db"},
                       {"REDIS_HOST", "localhost"},
                       {"REDIS_PORT", "6379"}});
  int loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("config") || entry.path().extension() != ".yaml") continue;
    ConfigDiagnostics diag;
    auto config = load_config_file(entry.path().string(), env, diag);
    EXPECT_TRUE(config) << name << ": " << (diag.errors.empty() ? "" : diag.errors[0]);
    if (config) {
      EXPECT_FALSE(config->model_list.empty()) << name;
    }
    ++loaded;
  }
  EXPECT_GE(loaded, 6);
}
