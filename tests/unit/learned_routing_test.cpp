// Learned routing in the gateway (routing/learned_routing): which text is
// scored, how candidates map to deployments, the ranked tiers, the ranked
// selector, and artefact file rules. Uses the hand-made "custom" router
// fixture, whose decisions are known: prompts about code -> "coder",
// about an integral -> "big", anything else -> "cheap".
#include "routing/learned_routing.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "routing/selector.h"

using namespace switchyard;
namespace fs = std::filesystem;

namespace {

const std::string kFixture =
    std::string(SWITCHYARD_SOURCE_DIR) + "/tests/unit/learned_fixtures/custom_router.syr";

struct Gateway {
  std::shared_ptr<const Config> config;
  DeploymentStates states;
  std::shared_ptr<const ModelRegistry> registry;
  std::unique_ptr<LearnedRouting> learned;

  explicit Gateway(const std::string& yaml) {
    ConfigDiagnostics diag;
    auto parsed = parse_config(
        yaml, [](const std::string&) { return std::nullopt; }, diag);
    EXPECT_TRUE(parsed) << (diag.errors.empty() ? "" : diag.errors[0]);
    config = std::make_shared<const Config>(std::move(*parsed));
    std::vector<std::string> warnings;
    registry = ModelRegistry::build(
        config, [](const std::string&) { return std::nullopt; }, states, warnings);
    learned = std::make_unique<LearnedRouting>(config->router_settings.routing_strategy,
                                               config->router_settings.routing_strategy_args);
  }

  // Deployment ids per tier, best first.
  std::vector<std::vector<std::string>> tiers(std::string_view prompt,
                                              const char* group = nullptr) {
    RankedRoute route;
    auto router = learned->active();
    EXPECT_TRUE(router);
    route.router = router;
    learned::RouteInput input;
    input.prompt = prompt;
    learned->rank(*router, input, *registry, group ? registry->find(group) : nullptr, route);
    std::vector<std::vector<std::string>> out;
    for (const auto& tier : route.tiers) {
      out.emplace_back();
      for (const auto* d : tier) out.back().push_back(d->id());
    }
    return out;
  }
};

std::string config_with(const std::string& model_list, const std::string& args) {
  return "model_list:\n" + model_list +
         "router_settings:\n  routing_strategy: llmrouter-custom\n  routing_strategy_args:\n"
         "    model_path: " +
         kFixture + "\n" + args;
}

const std::string kGroups = R"(  - model_name: cheap
    litellm_params: {model: mock/cheap-model}
    model_info: {id: cheap-1}
  - model_name: coder
    litellm_params: {model: mock/coder-model}
    model_info: {id: coder-1}
  - model_name: big
    litellm_params: {model: mock/big-model}
    model_info: {id: big-1}
)";

boost::json::object body(const char* json) { return boost::json::parse(json).as_object(); }

}  // namespace

TEST(RoutingPrompt, LastUserMessageTextOnly) {
  EXPECT_EQ(routing_prompt(ApiRoute::kChatCompletions, body(R"({"messages":[
      {"role":"system","content":"sys"},{"role":"user","content":"first"},
      {"role":"assistant","content":"reply"},{"role":"user","content":"second"}]})")),
            "second");
  EXPECT_EQ(routing_prompt(ApiRoute::kChatCompletions, body(R"({"messages":[
      {"role":"user","content":[{"type":"text","text":"a"},
       {"type":"image_url","image_url":{"url":"http://x"}},{"type":"text","text":"b"}]}]})")),
            "a\nb");
  EXPECT_EQ(routing_prompt(ApiRoute::kChatCompletions,
                           body(R"({"messages":[{"role":"system","content":"s"}]})")),
            "");
  EXPECT_EQ(routing_prompt(ApiRoute::kCompletions, body(R"({"prompt":"complete me"})")),
            "complete me");
  EXPECT_EQ(routing_prompt(ApiRoute::kCompletions, body(R"({"prompt":["a","b"]})")), "a\nb");
  EXPECT_EQ(routing_prompt(ApiRoute::kEmbeddings, body(R"({"input":"x"})")), "");
}

TEST(LearnedRouting, AliasRanksEveryCandidateByPrompt) {
  Gateway g(config_with(kGroups, "    cost_weight: 0\n"));
  ASSERT_TRUE(g.learned->load_initial().ok);
  EXPECT_TRUE(g.learned->is_alias("auto"));
  EXPECT_FALSE(g.learned->is_alias("cheap"));
  auto code = g.tiers("please review this code");
  ASSERT_EQ(code.size(), 3u);
  EXPECT_EQ(code[0], std::vector<std::string>{"coder-1"});
  EXPECT_EQ(g.tiers("solve this integral")[0], std::vector<std::string>{"big-1"});
  EXPECT_EQ(g.tiers("hello there")[0], std::vector<std::string>{"cheap-1"});
  EXPECT_TRUE(g.learned->unresolved_candidates(*g.registry).empty());
}

TEST(LearnedRouting, CandidatesMatchDeploymentsInsideAGroup) {
  // One group; candidates found by upstream model id (cheap), deployment id
  // (big) and label_mapping (coder -> smart-coder).
  const std::string groups = R"(  - model_name: smart
    litellm_params: {model: mock/cheap}
    model_info: {id: smart-cheap}
  - model_name: smart
    litellm_params: {model: mock/coder-v2}
    model_info: {id: smart-coder}
  - model_name: smart
    litellm_params: {model: mock/large}
    model_info: {id: big}
  - model_name: smart
    litellm_params: {model: mock/unscored}
    model_info: {id: smart-extra}
)";
  Gateway g(config_with(groups, "    cost_weight: 0\n    label_mapping: {coder: smart-coder}\n"));
  ASSERT_TRUE(g.learned->load_initial().ok);
  auto tiers = g.tiers("review my code", "smart");
  ASSERT_EQ(tiers.size(), 4u);
  EXPECT_EQ(tiers[0], std::vector<std::string>{"smart-coder"});
  // The deployment no candidate names comes last, still usable.
  EXPECT_EQ(tiers[3], std::vector<std::string>{"smart-extra"});
}

TEST(LearnedRouting, CandidateDeploymentsFollowANewRegistryAndRouter) {
  // rank() caches which deployments each candidate names, per worker thread;
  // a new config (registry) or a reloaded router must not see stale entries.
  Gateway g(config_with(kGroups, "    cost_weight: 0\n"));
  ASSERT_TRUE(g.learned->load_initial().ok);
  EXPECT_EQ(g.tiers("please review this code")[0], std::vector<std::string>{"coder-1"});

  const std::string renamed = R"(  - model_name: cheap
    litellm_params: {model: mock/cheap-model}
    model_info: {id: cheap-2}
  - model_name: coder
    litellm_params: {model: mock/coder-model}
    model_info: {id: coder-2}
  - model_name: coder
    litellm_params: {model: mock/coder-model}
    model_info: {id: coder-3}
)";
  Gateway next(config_with(renamed, "    cost_weight: 0\n"));
  std::vector<std::string> warnings;
  // The first router against the second config's registry.
  auto swapped = g.learned->active();
  g.registry = next.registry;
  auto tiers = g.tiers("please review this code");
  ASSERT_EQ(tiers.size(), 2u);  // "big" names no deployment any more
  EXPECT_EQ(tiers[0], (std::vector<std::string>{"coder-2", "coder-3"}));
  EXPECT_EQ(tiers[1], std::vector<std::string>{"cheap-2"});

  // A forced reload gives a new router object with the same candidates.
  g.registry = ModelRegistry::build(
      g.config, [](const std::string&) { return std::nullopt; }, g.states, warnings);
  ASSERT_TRUE(g.learned->load_initial().ok);
  EXPECT_NE(g.learned->active().get(), swapped.get());
  EXPECT_EQ(g.tiers("please review this code")[0], std::vector<std::string>{"coder-1"});
  EXPECT_EQ(g.tiers("solve this integral")[0], std::vector<std::string>{"big-1"});
}

TEST(LearnedRouting, UnresolvedCandidatesAreReported) {
  const std::string groups = R"(  - model_name: cheap
    litellm_params: {model: mock/cheap-model}
)";
  Gateway g(config_with(groups, ""));
  ASSERT_TRUE(g.learned->load_initial().ok);
  EXPECT_EQ(g.learned->unresolved_candidates(*g.registry),
            (std::vector<std::string>{"coder", "big"}));
}

TEST(LearnedRouting, StrategyMismatchPicklesAndMissingFilesAreRejected) {
  Gateway knn(config_with(kGroups, "")
                  .replace(config_with(kGroups, "").find("llmrouter-custom"), 16, "llmrouter-knn"));
  auto mismatch = knn.learned->load_initial();
  EXPECT_FALSE(mismatch.ok);
  EXPECT_NE(mismatch.error.find("holds a 'llmrouter-custom' router"), std::string::npos)
      << mismatch.error;
  EXPECT_EQ(knn.learned->active(), nullptr);

  RoutingStrategyArgs args;
  args.model_path = "/app/models/knn_router.pkl";
  LearnedRouting pickle(RoutingStrategy::kLlmRouterKnn, args);
  auto refused = pickle.load_initial();
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("never loaded"), std::string::npos) << refused.error;

  args.model_path = "/nonexistent/router.syr";
  LearnedRouting missing(RoutingStrategy::kLlmRouterKnn, args);
  EXPECT_FALSE(missing.load_initial().ok);
}

TEST(LearnedRouting, DirectoryModelPathFindsTheArtefact) {
  const fs::path dir =
      fs::temp_directory_path() / ("switchyard-router-dir-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(kFixture, dir / "custom.syr", fs::copy_options::overwrite_existing);
  RoutingStrategyArgs args;
  args.model_path = dir.string();
  LearnedRouting routing(RoutingStrategy::kLlmRouterCustom, args);
  auto outcome = routing.load_initial();
  EXPECT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.active->file, (dir / "custom.syr").string());

  fs::copy_file(kFixture, dir / "other.syr", fs::copy_options::overwrite_existing);
  LearnedRouting ambiguous(RoutingStrategy::kLlmRouterCustom, args);
  EXPECT_FALSE(ambiguous.load_initial().ok);
  fs::remove_all(dir);
}

TEST(LearnedRouting, FailedReloadKeepsThePreviousRouter) {
  const fs::path file =
      fs::temp_directory_path() / ("switchyard-router-" + std::to_string(::getpid()) + ".syr");
  fs::copy_file(kFixture, file, fs::copy_options::overwrite_existing);
  RoutingStrategyArgs args;
  args.model_path = file.string();
  LearnedRouting routing(RoutingStrategy::kLlmRouterCustom, args);
  auto first = routing.load_initial();
  ASSERT_TRUE(first.ok);
  { std::ofstream(file, std::ios::trunc) << "SYROUTER truncated"; }
  auto second = routing.load_initial();
  EXPECT_FALSE(second.ok);
  EXPECT_EQ(routing.active(), first.active);
  auto info = boost::json::parse(routing.info_json(ModelRegistry())).as_object();
  EXPECT_TRUE(info.at("last_reload_error").is_string());
  EXPECT_EQ(info.at("checksum").as_string(), first.active->model->checksum());
  fs::remove(file);
}

TEST(SelectRanked, BestTierFirstThenSkipsCoolingAndTried) {
  Gateway g(config_with(kGroups, ""));
  const auto* cheap = g.registry->find("cheap")->deployments[0];
  const auto* coder = g.registry->find("coder")->deployments[0];
  const auto* big = g.registry->find("big")->deployments[0];
  std::vector<std::vector<const DeploymentRuntime*>> tiers{{coder}, {big}, {cheap}};
  const auto now = Clock::now();
  EXPECT_EQ(select_ranked(tiers, now, {}), coder);
  EXPECT_EQ(select_ranked(tiers, now, {coder}), big);
  EXPECT_EQ(select_ranked(tiers, now, {coder, big, cheap}), coder);  // all tried: reuse in order
  coder->state->record_failure(now, 0, std::chrono::seconds(60), true);
  EXPECT_EQ(select_ranked(tiers, now, {}), big);
  EXPECT_EQ(select_ranked({{coder}}, now, {}), nullptr);
}
