#include "routing/selector.h"

#include <gtest/gtest.h>

#include <map>

#include "config/loader.h"

using namespace switchyard;

namespace {

struct Fixture {
  std::shared_ptr<const Config> config;
  DeploymentStates states;
  std::shared_ptr<const ModelRegistry> registry;

  explicit Fixture(const std::string& yaml) {
    ConfigDiagnostics diag;
    auto parsed = parse_config(
        yaml, [](const std::string&) { return std::nullopt; }, diag);
    EXPECT_TRUE(parsed) << (diag.errors.empty() ? "" : diag.errors[0]);
    config = std::make_shared<const Config>(std::move(*parsed));
    std::vector<std::string> warnings;
    registry = ModelRegistry::build(
        config, [](const std::string&) { return std::nullopt; }, states, warnings);
  }
  const ModelGroup& group(const std::string& name) { return *registry->find(name); }
  const DeploymentRuntime* by_id(const std::string& name, const std::string& id) {
    for (const auto* d : group(name).deployments) {
      if (d->id() == id) return d;
    }
    return nullptr;
  }
  std::map<std::string, int> counts(const std::string& name, const SelectionPolicy& policy, int n) {
    std::map<std::string, int> out;
    for (int i = 0; i < n; ++i) {
      const auto* d = select_deployment(group(name), policy, Clock::now(), {});
      out[d ? d->id() : "(none)"]++;
    }
    return out;
  }
};

const char* kTwoDeployments = R"(
model_list:
  - model_name: g
    litellm_params: {model: mock/a, weight: 1, input_cost_per_token: 0.000002, rpm: 3}
    model_info: {id: a}
  - model_name: g
    litellm_params: {model: mock/b, weight: 3, input_cost_per_token: 0.000001, rpm: 100}
    model_info: {id: b}
)";

}  // namespace

TEST(Selector, SimpleShuffleFollowsWeights) {
  Fixture f(kTwoDeployments);
  SelectionPolicy policy;
  auto c = f.counts("g", policy, 4000);
  // Expected 1000 / 3000; binomial sd ~27, so +-150 is > 5 sd.
  EXPECT_NEAR(c["a"], 1000, 150);
  EXPECT_NEAR(c["b"], 3000, 150);
}

namespace {
// Two deployments `a`, `b` of group g with `a_params` / `b_params`.
std::string two_deployments(const std::string& a_params, const std::string& b_params) {
  return "model_list:\n"
         "  - model_name: g\n"
         "    litellm_params: {model: mock/a, " +
         a_params +
         "}\n"
         "    model_info: {id: a}\n"
         "  - model_name: g\n"
         "    litellm_params: {model: mock/b, " +
         b_params +
         "}\n"
         "    model_info: {id: b}\n";
}
}  // namespace

TEST(Selector, SimpleShuffleFallsBackToRpmThenTpmWeights) {
  for (const char* key : {"rpm", "tpm"}) {
    Fixture f(two_deployments(std::string(key) + ": 100", std::string(key) + ": 300"));
    auto c = f.counts("g", SelectionPolicy{}, 4000);
    // Expected 1000 / 3000 (binomial sd ~27; +-150 is > 5 sd).
    EXPECT_NEAR(c["a"], 1000, 150) << key;
    EXPECT_NEAR(c["b"], 3000, 150) << key;
    EXPECT_EQ(c["a"] + c["b"], 4000) << key;
  }
  // weight 3:1 against rpm 1:3: weight decides.
  Fixture both(two_deployments("weight: 3, rpm: 100", "weight: 1, rpm: 300"));
  auto c = both.counts("g", SelectionPolicy{}, 4000);
  EXPECT_NEAR(c["a"], 3000, 150);
  EXPECT_NEAR(c["b"], 1000, 150);
}

TEST(Selector, LeastBusyPicksFewestInFlight) {
  Fixture f(kTwoDeployments);
  SelectionPolicy policy{RoutingStrategy::kLeastBusy, 0};
  f.by_id("g", "b")->state->begin_request();
  f.by_id("g", "b")->state->begin_request();
  f.by_id("g", "a")->state->begin_request();
  auto c = f.counts("g", policy, 200);
  EXPECT_EQ(c["a"], 200);
  f.by_id("g", "a")->state->begin_request();
  f.by_id("g", "a")->state->begin_request();
  c = f.counts("g", policy, 200);
  EXPECT_EQ(c["b"], 200);
}

TEST(Selector, LatencyBasedExploresThenPrefersFastestWithinBuffer) {
  Fixture f(kTwoDeployments);
  SelectionPolicy policy{RoutingStrategy::kLatencyBased, 0};
  auto* a = f.by_id("g", "a");
  auto* b = f.by_id("g", "b");
  a->state->record_latency(100, false, 0);
  // b never measured: it is tried first.
  EXPECT_EQ(f.counts("g", policy, 50)["b"], 50);
  b->state->record_latency(300, false, 0);
  EXPECT_EQ(f.counts("g", policy, 100)["a"], 100);
  // With a 250% buffer, 300 ms is "near" 100 ms: both share traffic.
  policy.latency_buffer = 2.5;
  auto c = f.counts("g", policy, 1000);
  EXPECT_GT(c["a"], 350);
  EXPECT_GT(c["b"], 350);
  // Streams: time to first token is what counts.
  b->state->record_latency(5000, true, 20);
  b->state->record_latency(5000, true, 20);
  b->state->record_latency(5000, true, 20);
  b->state->record_latency(5000, true, 20);
  b->state->record_latency(5000, true, 20);
  policy.latency_buffer = 0;
  EXPECT_EQ(f.counts("g", policy, 100)["b"], 100);
}

TEST(Selector, CostBasedPicksCheapest) {
  Fixture f(kTwoDeployments);
  EXPECT_EQ(f.counts("g", SelectionPolicy{RoutingStrategy::kCostBased, 0}, 100)["b"], 100);
}

TEST(Selector, CostBasedUsesBuiltinPricesWhenConfigHasNone) {
  Fixture f(R"(
model_list:
  - model_name: g
    litellm_params: {model: openai/gpt-4o, api_base: "http://x"}
    model_info: {id: big}
  - model_name: g
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://x"}
    model_info: {id: small}
)");
  EXPECT_EQ(f.counts("g", SelectionPolicy{RoutingStrategy::kCostBased, 0}, 50)["small"], 50);
}

TEST(Selector, UsageBasedPicksLeastUsedAndRespectsRpm) {
  Fixture f(kTwoDeployments);
  SelectionPolicy policy{RoutingStrategy::kUsageBased, 0};
  auto now = Clock::now();
  f.by_id("g", "b")->state->record_usage(500, now);
  EXPECT_EQ(f.counts("g", policy, 50)["a"], 50);
  // a has rpm 3: after three requests this minute it is skipped.
  for (int i = 0; i < 3; ++i) f.by_id("g", "a")->state->count_request(now);
  EXPECT_EQ(f.counts("g", policy, 50)["b"], 50);
}

TEST(Selector, CoolingDeploymentsAreSkippedAndTriedOnesAvoided) {
  Fixture f(kTwoDeployments);
  auto* a = f.by_id("g", "a");
  auto* b = f.by_id("g", "b");
  const auto now = Clock::now();
  // allowed_fails 1: the first failure is tolerated, the second cools down.
  EXPECT_FALSE(b->state->record_failure(now, 1, std::chrono::seconds(30), false));
  EXPECT_TRUE(b->state->record_failure(now, 1, std::chrono::seconds(30), false));
  EXPECT_EQ(f.counts("g", SelectionPolicy{}, 100)["a"], 100);
  // Already tried a: still chosen when it is the only one left.
  EXPECT_EQ(select_deployment(f.group("g"), SelectionPolicy{}, now, {a}), a);
  // 429: immediate cooldown; nothing left.
  EXPECT_TRUE(a->state->record_failure(now, 5, std::chrono::seconds(10), true));
  EXPECT_EQ(select_deployment(f.group("g"), SelectionPolicy{}, now, {}), nullptr);
  EXPECT_LE(earliest_available(f.group("g"), now), now + std::chrono::seconds(11));
  EXPECT_GT(earliest_available(f.group("g"), now), now + std::chrono::seconds(9));
  // After the cooldown both are back.
  EXPECT_NE(select_deployment(f.group("g"), SelectionPolicy{}, now + std::chrono::seconds(31), {}),
            nullptr);
}

TEST(Selector, AvoidsDeploymentAlreadyTriedWhenAnotherIsAvailable) {
  Fixture f(kTwoDeployments);
  auto* a = f.by_id("g", "a");
  for (int i = 0; i < 100; ++i) {
    EXPECT_NE(select_deployment(f.group("g"), SelectionPolicy{}, Clock::now(), {a}), a);
  }
}

TEST(Selector, SimpleShuffleWithoutWeightsIsUniform) {
  std::string yaml = "model_list:\n";
  for (const char* id : {"a", "b", "c", "d"}) {
    yaml += std::string("  - model_name: g\n    litellm_params: {model: mock/") + id +
            "}\n    model_info: {id: " + id + "}\n";
  }
  Fixture f(yaml);
  auto c = f.counts("g", SelectionPolicy{}, 4000);
  // Expected 1000 each (sd ~27).
  for (const char* id : {"a", "b", "c", "d"}) EXPECT_NEAR(c[id], 1000, 150) << id;
}

TEST(Selector, RpmAndTpmAreHardCapsForEveryStrategy) {
  for (auto strategy : {RoutingStrategy::kSimpleShuffle, RoutingStrategy::kLeastBusy,
                        RoutingStrategy::kLatencyBased, RoutingStrategy::kCostBased}) {
    Fixture f(two_deployments("rpm: 2", "tpm: 100"));
    SelectionPolicy policy{strategy, 0};
    const auto now = Clock::now();
    for (int i = 0; i < 2; ++i) f.by_id("g", "a")->state->count_request(now);
    EXPECT_EQ(f.counts("g", policy, 50)["b"], 50);
    f.by_id("g", "b")->state->record_usage(100, now);
    EXPECT_EQ(select_deployment(f.group("g"), policy, now, {}), nullptr);
  }
}

TEST(Selector, SharedUsageFromOtherReplicasCounts) {
  Fixture f(two_deployments("rpm: 5", "tpm: 1000"));
  const auto now = Clock::now();
  const int64_t window = current_unix_window();
  auto* a = f.by_id("g", "a");
  auto* b = f.by_id("g", "b");
  // This replica has sent nothing, but the replicas together used a's minute.
  a->state->note_shared_usage(window, 5, 0);
  EXPECT_TRUE(at_usage_limit(*a, now, window));
  EXPECT_EQ(f.counts("g", SelectionPolicy{}, 40)["b"], 40);
  // A late answer about an older minute changes nothing; a new minute resets.
  b->state->note_shared_usage(window - 60, 0, 5000);
  EXPECT_FALSE(at_usage_limit(*b, now, window));
  EXPECT_FALSE(at_usage_limit(*a, now, window + 60));
  // Counts only grow within a minute, whatever order the answers come in.
  b->state->note_shared_usage(window, 0, 1000);
  b->state->note_shared_usage(window, 0, 10);
  EXPECT_TRUE(at_usage_limit(*b, now, window));
  // Both full: the earliest one frees up at the next minute.
  EXPECT_EQ(select_deployment(f.group("g"), SelectionPolicy{}, now, {}), nullptr);
  const auto free_at = earliest_available(f.group("g"), now);
  EXPECT_GT(free_at, now);
  EXPECT_LE(free_at, now + std::chrono::seconds(60));
}

TEST(Selector, RankedSelectionSkipsDeploymentsAtTheirCap) {
  Fixture f(two_deployments("rpm: 1", "weight: 1"));
  const auto now = Clock::now();
  auto* a = f.by_id("g", "a");
  auto* b = f.by_id("g", "b");
  std::vector<std::vector<const DeploymentRuntime*>> tiers{{a}, {b}};
  EXPECT_EQ(select_ranked(tiers, now, {}), a);
  a->state->count_request(now);
  EXPECT_EQ(select_ranked(tiers, now, {}), b);
}
