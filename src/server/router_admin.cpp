#include "server/router_admin.h"

#include <boost/json.hpp>

#include "server/proxy.h"

namespace switchyard {
namespace {

constexpr std::string_view kJsonContentType = "application/json";

Error not_learned_error(const Snapshot& snapshot) {
  return Error::make(ErrorKind::kInvalidRequest,
                     std::string("router_settings.routing_strategy is '") +
                         routing_strategy_name(snapshot.config->router_settings.routing_strategy) +
                         "'; /router/reload needs an llmrouter-* strategy",
                     "learned_routing_not_configured");
}

// Reads the optional {"strategy": "llmrouter-…"}; it must name the strategy
// this gateway serves (a reload never switches strategy: that is a config change).
std::optional<Error> check_reload_body(const std::string& body, const LearnedRouting& learned) {
  if (body.empty()) return std::nullopt;
  boost::json::error_code ec;
  auto parsed = boost::json::parse(body, ec);
  if (ec || !parsed.is_object()) {
    return Error::make(ErrorKind::kInvalidRequest, "Request body must be a JSON object",
                       "invalid_json");
  }
  const auto* strategy = parsed.as_object().if_contains("strategy");
  if (strategy == nullptr || strategy->is_null()) return std::nullopt;
  if (!strategy->is_string()) {
    return Error::make(ErrorKind::kInvalidRequest, "'strategy' must be a string", "invalid_value",
                       "strategy");
  }
  if (strategy->as_string() != learned.strategy_name()) {
    return Error::make(ErrorKind::kInvalidRequest,
                       "This gateway serves '" + std::string(learned.strategy_name()) + "', not '" +
                           std::string(strategy->as_string()) +
                           "'; change router_settings.routing_strategy to switch strategy",
                       "strategy_mismatch", "strategy");
  }
  return std::nullopt;
}

std::string reload_body(const ReloadOutcome& outcome, const LearnedRouting& learned) {
  const auto& model = *outcome.active->model;
  boost::json::array candidates;
  for (const auto& name : model.candidates()) candidates.emplace_back(name);
  return boost::json::serialize(boost::json::object{{"status", "reloaded"},
                                                    {"changed", outcome.changed},
                                                    {"strategy", learned.strategy_name()},
                                                    {"version", model.version()},
                                                    {"checksum", model.checksum()},
                                                    {"file", outcome.active->file},
                                                    {"loaded_at", outcome.active->loaded_at},
                                                    {"candidates", std::move(candidates)}});
}

std::string classic_info(const Snapshot& snapshot) {
  return boost::json::serialize(boost::json::object{
      {"strategy", routing_strategy_name(snapshot.config->router_settings.routing_strategy)},
      {"loaded", false}});
}

}  // namespace

awaitable<void> handle_router_reload(Worker& worker, const Snapshot& snapshot,
                                     const std::string& body, ClientConnection& client,
                                     RequestContext& ctx, bool keep_alive) {
  LearnedRouting* learned = snapshot.learned_routing.get();
  if (learned == nullptr) {
    co_await send_error(client, ctx, not_learned_error(snapshot), keep_alive);
    co_return;
  }
  if (auto bad = check_reload_body(body, *learned)) {
    co_await send_error(client, ctx, *bad, keep_alive);
    co_return;
  }
  // The load runs on the router's own thread; this worker keeps serving.
  ReloadOutcome outcome = co_await learned->reload_now();
  if (!outcome.ok) {
    std::string message = "Router reload failed, still serving ";
    message += outcome.active ? "version " + outcome.active->model->version() : "no router";
    message += ": " + outcome.error;
    co_await send_error(client, ctx,
                        Error::make(ErrorKind::kUnprocessable, message, "router_reload_failed"),
                        keep_alive);
    co_return;
  }
  ctx.status = 200;
  co_await client.send(200, kJsonContentType, reload_body(outcome, *learned),
                       ctx.response_headers(), keep_alive);
}

awaitable<void> handle_router_info(Worker& worker, const Snapshot& snapshot,
                                   ClientConnection& client, RequestContext& ctx, bool keep_alive) {
  LearnedRouting* learned = snapshot.learned_routing.get();
  std::string body = learned ? learned->info_json(*snapshot.registry) : classic_info(snapshot);
  ctx.status = 200;
  co_await client.send(200, kJsonContentType, body, ctx.response_headers(), keep_alive);
}

}  // namespace switchyard
