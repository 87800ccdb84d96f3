#include "config/strategy.h"

#include <array>
#include <utility>

namespace switchyard {
namespace {
// The names exactly as LiteLLM and the LLMRouter seed spell them.
constexpr std::array<std::pair<const char*, RoutingStrategy>, 13> kStrategies = {{
    {"simple-shuffle", RoutingStrategy::kSimpleShuffle},
    {"least-busy", RoutingStrategy::kLeastBusy},
    {"latency-based-routing", RoutingStrategy::kLatencyBased},
    {"cost-based-routing", RoutingStrategy::kCostBased},
    {"usage-based-routing", RoutingStrategy::kUsageBased},
    {"usage-based-routing-v2", RoutingStrategy::kUsageBasedV2},
    {"llmrouter-knn", RoutingStrategy::kLlmRouterKnn},
    {"llmrouter-svm", RoutingStrategy::kLlmRouterSvm},
    {"llmrouter-mlp", RoutingStrategy::kLlmRouterMlp},
    {"llmrouter-mf", RoutingStrategy::kLlmRouterMf},
    {"llmrouter-elo", RoutingStrategy::kLlmRouterElo},
    {"llmrouter-hybrid", RoutingStrategy::kLlmRouterHybrid},
    {"llmrouter-custom", RoutingStrategy::kLlmRouterCustom},
}};
}  // namespace

std::optional<RoutingStrategy> parse_routing_strategy(const std::string& name) {
  for (const auto& [text, strategy] : kStrategies) {
    if (name == text) return strategy;
  }
  return std::nullopt;
}

const char* routing_strategy_name(RoutingStrategy strategy) {
  for (const auto& [text, value] : kStrategies) {
    if (value == strategy) return text;
  }
  return "unknown";
}

bool is_learned_strategy(RoutingStrategy strategy) {
  return std::string(routing_strategy_name(strategy)).rfind("llmrouter-", 0) == 0;
}

std::string routing_strategy_names() {
  std::string out;
  for (const auto& [text, value] : kStrategies) {
    if (!out.empty()) out += ", ";
    out += text;
  }
  return out;
}

}  // namespace switchyard
