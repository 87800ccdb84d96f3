#include "store/redis_shared.h"

#include "telemetry/prometheus_text.h"

namespace switchyard::store {
namespace {

// Long enough for the window plus clock skew between replicas.
constexpr const char* kWindowTtlSeconds = "120";

std::vector<RedisClient::Command> counter_commands(const std::vector<CounterOp>& ops) {
  std::vector<RedisClient::Command> commands;
  commands.reserve(ops.size() * 2);
  for (const auto& op : ops) {
    if (op.amount == 0) {
      commands.push_back({"GET", op.key});
    } else {
      commands.push_back({"INCRBY", op.key, std::to_string(op.amount)});
      commands.push_back({"EXPIRE", op.key, kWindowTtlSeconds});
    }
  }
  return commands;
}

Result<std::vector<int64_t>> counter_totals(const std::vector<CounterOp>& ops,
                                            const std::vector<RedisReply>& replies) {
  std::vector<int64_t> totals;
  size_t at = 0;
  for (const auto& op : ops) {
    if (at >= replies.size() || replies[at].is_error()) {
      return Error::make(ErrorKind::kUnavailable, "Redis refused a counter update",
                         "redis_unavailable");
    }
    totals.push_back(replies[at].as_int());
    at += op.amount == 0 ? 1 : 2;
  }
  return totals;
}

}  // namespace

void RedisShared::render_metrics(std::string& out) const {
  append_prometheus_counter(out, "switchyard_redis_commands_total", "Commands sent to Redis.",
                            stats.commands.load());
  append_prometheus_counter(out, "switchyard_redis_connects_total",
                            "Connections to Redis established.", stats.connects.load());
  append_prometheus_counter(out, "switchyard_redis_connect_failures_total",
                            "Failed attempts to connect (or authenticate) to Redis.",
                            stats.connect_failures.load());
  append_prometheus_counter(
      out, "switchyard_redis_timeouts_total",
      "Redis calls that passed their deadline (the connection is then dropped).",
      stats.timeouts.load());
  append_prometheus_counter(
      out, "switchyard_redis_unavailable_total",
      "Redis calls refused at once because the connection was down (reconnect backoff).",
      stats.unavailable.load());
  append_prometheus_counter(out, "switchyard_redis_disconnects_total",
                            "Established Redis connections lost.", stats.disconnects.load());
  append_prometheus_counter(
      out, "switchyard_rate_limit_fail_open_total",
      "Rate-limit checks answered by this replica's counters because Redis was unreachable.",
      rate_limit_fail_open.load());
  append_prometheus_counter(
      out, "switchyard_rate_limit_fail_closed_total",
      "Requests refused (503) because Redis was unreachable and redis_fail_closed is set.",
      rate_limit_fail_closed.load());
  append_prometheus_counter(out, "switchyard_deployment_usage_sync_failures_total",
                            "Deployment usage updates that could not be shared through Redis.",
                            usage_sync_failures.load());
}

RedisOptions redis_options(const Config& config, const EnvLookup& env) {
  RedisOptions options;
  const auto& router = config.router_settings;
  const auto& cache = config.litellm_settings.cache_params;
  std::optional<int64_t> port;
  if (!router.redis_host.empty()) {
    options.host = router.redis_host;
    port = router.redis_port;
    options.password = router.redis_password;
  } else if (config.litellm_settings.cache && cache.type == "redis" && !cache.host.empty()) {
    options.host = cache.host;
    port = cache.port;
    options.password = cache.password;
  } else if (auto host = env("REDIS_HOST"); host && !host->empty()) {
    options.host = *host;
    if (auto p = env("REDIS_PORT"); p && !p->empty()) {
      char* end = nullptr;
      const long value = std::strtol(p->c_str(), &end, 10);
      if (end != p->c_str() && *end == '\0') port = value;
    }
    if (auto pw = env("REDIS_PASSWORD"); pw && !pw->empty()) options.password = Secret(*pw);
  }
  if (port && *port > 0 && *port <= 65535) options.port = static_cast<uint16_t>(*port);
  if (options.password.empty() && !options.host.empty()) {
    if (auto pw = env("REDIS_PASSWORD"); pw && !pw->empty()) options.password = Secret(*pw);
  }
  return options;
}

awaitable<Result<std::vector<int64_t>>> redis_window_counters(RedisClient& client,
                                                              std::vector<CounterOp> ops) {
  auto replies = co_await client.exec(counter_commands(ops));
  if (!replies) co_return replies.error();
  co_return counter_totals(ops, *replies);
}

std::string window_key(std::string_view name, int64_t window_start_s) {
  std::string key = "switchyard:rl:";
  key += name;
  key += ':';
  key += std::to_string(window_start_s);
  return key;
}

}  // namespace switchyard::store
