#include "server/key_auth.h"

#include <boost/json.hpp>

#include "core/sha256.h"
#include "server/auth.h"

namespace switchyard {
namespace {

// Error builders are plain functions: GCC 12 mishandles string literals in
// some initialisers inside coroutines (docs/development.md).
Error missing_key_error() {
  return Error::make(
      ErrorKind::kAuthentication,
      "No API key provided. Send 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
      "missing_api_key");
}
Error invalid_key_error() {
  return Error::make(ErrorKind::kAuthentication, "Invalid API key.", "invalid_api_key");
}
Error expired_key_error() {
  return Error::make(ErrorKind::kAuthentication, "Authentication Error - Expired Key.",
                     "expired_key");
}
Error blocked_key_error() {
  return Error::make(ErrorKind::kPermissionDenied, "Authentication Error - This key is blocked.",
                     "key_blocked");
}
Error admin_only_error() {
  return Error::make(ErrorKind::kPermissionDenied,
                     "Only the master key may call this route (key and spend management).",
                     "admin_only");
}
Error store_unavailable_error() {
  Error e = Error::make(ErrorKind::kUnavailable, "The key store is unreachable; retry shortly.",
                        "key_store_unavailable");
  e.retry_after = "1";
  return e;
}
Error model_denied_error(const std::string& model, const store::KeyRecord& key) {
  std::string allowed;
  for (const auto& m : key.models) allowed += (allowed.empty() ? "" : ", ") + m;
  return Error::make(ErrorKind::kPermissionDenied,
                     "This key may not use model '" + model + "'. Allowed: " + allowed + ".",
                     "key_model_access_denied", "model");
}
Error budget_error(const store::KeyRecord& key) {
  char budget[64];
  std::snprintf(budget, sizeof budget, "%.6g", key.max_budget.value_or(0));
  return Error::make(
      ErrorKind::kPermissionDenied,
      std::string("Budget has been exceeded for this key (max_budget ") + budget + " USD).",
      "budget_exceeded");
}
Error rate_error(const char* what, int64_t limit, int64_t retry_after_s) {
  Error e = Error::make(ErrorKind::kRateLimited,
                        std::string("Rate limit reached for this key: ") + what + " limit " +
                            std::to_string(limit) + " per minute.",
                        "rate_limit_exceeded");
  e.retry_after = std::to_string(std::max<int64_t>(1, retry_after_s));
  return e;
}

int64_t unix_seconds() { return store::unix_now_ms() / 1000; }

std::string counter_key(const char* kind, const std::string& token) {
  return std::string(kind) + ":" + token;
}

Error redis_down_error() {
  Error e = Error::make(ErrorKind::kUnavailable,
                        "The rate-limit store (Redis) is unreachable; retry shortly.",
                        "rate_limit_store_unavailable");
  e.retry_after = "1";
  return e;
}

// This window's counters for a key: requests (after counting this one) and
// tokens used so far.
struct WindowUsage {
  int64_t requests = 0;
  int64_t tokens = 0;
};

// Redis ops for a key's check: count the request, read the tokens.
std::vector<store::CounterOp> key_counter_ops(const store::KeyRecord& key, const std::string& token,
                                              int64_t window) {
  std::vector<store::CounterOp> ops;
  if (key.rpm_limit) ops.push_back({store::window_key(counter_key("rpm", token), window), 1});
  if (key.tpm_limit) ops.push_back({store::window_key(counter_key("tpm", token), window), 0});
  return ops;
}

WindowUsage usage_from_totals(const store::KeyRecord& key, const std::vector<int64_t>& totals) {
  WindowUsage usage;
  size_t at = 0;
  if (key.rpm_limit && at < totals.size()) usage.requests = totals[at++];
  if (key.tpm_limit && at < totals.size()) usage.tokens = totals[at++];
  return usage;
}

WindowUsage local_usage(store::StoreService& store, const store::KeyRecord& key,
                        const std::string& token, int64_t window) {
  WindowUsage usage;
  if (key.rpm_limit) usage.requests = store.counters().add(counter_key("rpm", token), window, 1);
  if (key.tpm_limit) usage.tokens = store.counters().get(counter_key("tpm", token), window);
  return usage;
}

// OpenAI's (and LiteLLM's) x-ratelimit-* headers for the key's limits.
void add_rate_headers(const store::KeyRecord& key, const WindowUsage& usage, HeaderList& out) {
  if (key.rpm_limit) {
    out.emplace_back("x-ratelimit-limit-requests", std::to_string(*key.rpm_limit));
    out.emplace_back("x-ratelimit-remaining-requests",
                     std::to_string(std::max<int64_t>(0, *key.rpm_limit - usage.requests)));
  }
  if (key.tpm_limit) {
    out.emplace_back("x-ratelimit-limit-tokens", std::to_string(*key.tpm_limit));
    out.emplace_back("x-ratelimit-remaining-tokens",
                     std::to_string(std::max<int64_t>(0, *key.tpm_limit - usage.tokens)));
  }
}

std::optional<Error> judge_usage(const store::KeyRecord& key, const WindowUsage& usage, int64_t now,
                                 int64_t window) {
  if (key.tpm_limit && usage.tokens >= *key.tpm_limit) {
    return rate_error("tokens", *key.tpm_limit, window + 60 - now);
  }
  if (key.rpm_limit && usage.requests > *key.rpm_limit) {
    return rate_error("requests", *key.rpm_limit, window + 60 - now);
  }
  return std::nullopt;
}

// Per-key RPM/TPM over fixed one-minute windows: in Redis when configured
// (shared by every replica, one pipelined round trip), else in process.
// Redis unreachable: this replica's counters (fail open), or 503 when
// switchyard_settings.redis_fail_closed is set.
awaitable<std::optional<Error>> check_rate_limits(Worker& worker, store::StoreService& store,
                                                  const store::KeyRecord& key,
                                                  RequestContext& ctx) {
  if (!key.rpm_limit && !key.tpm_limit) co_return std::nullopt;
  const int64_t now = unix_seconds();
  const int64_t window = now - now % 60;
  WindowUsage usage;
  bool counted = false;
  if (worker.redis) {
    auto totals = co_await store::redis_window_counters(
        *worker.redis, key_counter_ops(key, ctx.key_token, window));
    if (totals) {
      usage = usage_from_totals(key, *totals);
      counted = true;
    } else if (worker.state.redis()->fail_closed) {
      worker.state.redis()->rate_limit_fail_closed.fetch_add(1, std::memory_order_relaxed);
      co_return redis_down_error();
    } else {
      worker.state.redis()->rate_limit_fail_open.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (!counted) usage = local_usage(store, key, ctx.key_token, window);
  add_rate_headers(key, usage, ctx.extra_headers);
  co_return judge_usage(key, usage, now, window);
}

// Adds a finished request's tokens to the key's TPM window in Redis; the
// local counter takes them when Redis cannot.
awaitable<void> add_tokens_shared(store::RedisClient& client, store::RedisShared& shared,
                                  store::StoreService& store, std::vector<store::CounterOp> ops,
                                  std::string local_key, int64_t window, int64_t tokens) {
  auto done = co_await store::redis_window_counters(client, std::move(ops));
  if (!done) {
    shared.rate_limit_fail_open.fetch_add(1, std::memory_order_relaxed);
    store.counters().add(local_key, window, tokens);
  }
}

void count_tokens(Worker& worker, store::StoreService& store, const std::string& token,
                  int64_t tokens) {
  const int64_t now = unix_seconds();
  const int64_t window = now - now % 60;
  const std::string local_key = counter_key("tpm", token);
  if (!worker.redis) {
    store.counters().add(local_key, window, tokens);
    return;
  }
  std::vector<store::CounterOp> ops{{store::window_key(local_key, window), tokens}};
  asio::co_spawn(worker.io,
                 add_tokens_shared(*worker.redis, *worker.state.redis(), store, std::move(ops),
                                   local_key, window, tokens),
                 asio::detached);
}

const DeploymentRuntime* find_deployment(const Snapshot& snapshot, const std::string& group,
                                         const std::string& id) {
  const ModelGroup* g = snapshot.registry->find(group);
  if (g == nullptr) return nullptr;
  for (const auto* d : g->deployments) {
    if (d->id() == id) return d;
  }
  return nullptr;
}

store::SpendRecord spend_row(const RequestContext& ctx, double cost) {
  store::SpendRecord row;
  row.request_id = ctx.call_id;
  row.call_type = ctx.route;
  row.api_key = ctx.key_token;
  if (ctx.key) {
    row.user_id = ctx.key->user_id;
    row.team_id = ctx.key->team_id;
  }
  row.model = ctx.requested_model;
  row.model_group = ctx.model_group;
  row.model_id = ctx.deployment_id;
  row.prompt_tokens = std::max<int64_t>(0, ctx.usage.prompt_tokens);
  row.completion_tokens = std::max<int64_t>(0, ctx.usage.completion_tokens);
  row.total_tokens = std::max<int64_t>(0, ctx.usage.total_tokens);
  if (row.total_tokens == 0) row.total_tokens = row.prompt_tokens + row.completion_tokens;
  row.spend = cost;
  row.status = ctx.status;
  const int64_t now = store::unix_now_ms();
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - ctx.start);
  row.start_time_ms = now - elapsed.count();
  row.end_time_ms = now;
  return row;
}

}  // namespace

awaitable<std::optional<Error>> authenticate(Worker& worker, const Snapshot& snapshot,
                                             std::string_view authorization,
                                             std::string_view x_api_key, bool admin_route,
                                             RequestContext& ctx) {
  if (!snapshot.master_key) {
    ctx.caller = RequestContext::Caller::kOpen;
    co_return std::nullopt;
  }
  auto presented = presented_key(authorization, x_api_key);
  if (!presented) co_return missing_key_error();
  // One hash serves both: the master-key comparison and the stored token.
  const KeyDigest digest = digest_key(*presented);
  std::string token = hex_lower(digest.data(), digest.size());
  if (digests_equal(digest, *snapshot.master_key)) {
    ctx.caller = RequestContext::Caller::kMaster;
    ctx.key_token = std::move(token);
    co_return std::nullopt;
  }
  store::StoreService* store = worker.state.store();
  if (store == nullptr) co_return invalid_key_error();
  store::KeyLookup found = co_await store->lookup_key(token);
  if (found.unavailable) co_return store_unavailable_error();
  if (!found.key) co_return invalid_key_error();
  if (found.key->expired(store::unix_now_ms())) co_return expired_key_error();
  if (found.key->blocked) co_return blocked_key_error();
  if (admin_route) co_return admin_only_error();
  ctx.caller = RequestContext::Caller::kVirtualKey;
  ctx.key_token = std::move(token);
  ctx.key = std::move(found.key);
  co_return std::nullopt;
}

double request_cost(const DeploymentRuntime* deployment, const TokenUsage& usage) {
  if (deployment == nullptr) return 0;
  const double in = deployment->input_cost_per_token.value_or(0);
  const double out = deployment->output_cost_per_token.value_or(0);
  const double prompt = static_cast<double>(std::max<int64_t>(0, usage.prompt_tokens));
  double completion = static_cast<double>(std::max<int64_t>(0, usage.completion_tokens));
  if (usage.completion_tokens < 0 && usage.total_tokens > usage.prompt_tokens) {
    completion =
        static_cast<double>(usage.total_tokens - std::max<int64_t>(0, usage.prompt_tokens));
  }
  return prompt * in + completion * out;
}

double estimate_cost(const InboundRequest& request, const ModelGroup& group) {
  double in = 0;
  double out = 0;
  for (const auto* d : group.deployments) {
    in = std::max(in, d->input_cost_per_token.value_or(0));
    out = std::max(out, d->output_cost_per_token.value_or(0));
  }
  if (in == 0 && out == 0) return 0;
  // ~4 bytes a token, from the size the client sent (re-serializing the
  // body here cost a full JSON write per request).
  const double prompt_tokens = static_cast<double>(request.body_bytes) / 4.0 + 1;
  double completion_tokens = request.route == ApiRoute::kEmbeddings ? 0 : 256;
  for (const char* field : {"max_completion_tokens", "max_tokens"}) {
    if (const auto* v = request.body.if_contains(field); v && v->is_int64() && v->as_int64() >= 0) {
      completion_tokens = static_cast<double>(v->as_int64());
      break;
    }
  }
  return prompt_tokens * in + completion_tokens * out;
}

awaitable<std::optional<Error>> admit_inference(Worker& worker, const Snapshot& snapshot,
                                                const InboundRequest& request,
                                                const ModelGroup& group, RequestContext& ctx) {
  store::StoreService* store = worker.state.store();
  ctx.requested_model = request.model;
  if (store == nullptr) co_return std::nullopt;
  if (ctx.caller != RequestContext::Caller::kVirtualKey || !ctx.key) {
    ctx.admitted = true;
    co_return std::nullopt;
  }
  const store::KeyRecord& key = *ctx.key;
  if (!key.allows_model(request.model) && !key.allows_model(group.name)) {
    co_return model_denied_error(request.model, key);
  }
  if (auto limited = co_await check_rate_limits(worker, *store, key, ctx)) co_return limited;
  if (key.max_budget) {
    ctx.cost_estimate = estimate_cost(request, group);
    ctx.reservation = co_await store->reserve(key, ctx.cost_estimate);
    if (!ctx.reservation.granted) co_return budget_error(key);
  }
  ctx.admitted = true;
  co_return std::nullopt;
}

void settle_inference(Worker& worker, const Snapshot& snapshot, RequestContext& ctx) {
  store::StoreService* store = worker.state.store();
  if (store == nullptr || !ctx.admitted) return;
  ctx.admitted = false;
  double cost = 0;
  if (ctx.cache_hit) {
    cost = 0;  // answered from the response cache: nothing was spent upstream
  } else if (ctx.status >= 200 && ctx.status < 300) {
    if (ctx.usage.known()) {
      cost = request_cost(find_deployment(snapshot, ctx.model_group, ctx.deployment_id), ctx.usage);
    } else {
      // Answered without usage (a stream without include_usage): charge the
      // estimate rather than nothing, so a budget cannot be walked around.
      cost = ctx.cost_estimate;
    }
  }
  if (ctx.key && ctx.key->tpm_limit && ctx.usage.total_tokens > 0 && !ctx.cache_hit) {
    count_tokens(worker, *store, ctx.key_token, ctx.usage.total_tokens);
  }
  if (ctx.caller == RequestContext::Caller::kVirtualKey && ctx.key && ctx.key->max_budget) {
    // A budget needs its settlement (and the key's spend) even when spend
    // logs are off: the reservation is released by the same write.
    store->settle(ctx.reservation, spend_row(ctx, cost));
  } else if (ctx.caller == RequestContext::Caller::kVirtualKey ||
             !snapshot.config->general_settings.disable_spend_logs) {
    // disable_spend_logs drops the rows of master-key (and open) requests.
    // A virtual key's rows stay: its spend total is built from them.
    store->record_spend(spend_row(ctx, cost));
  }
}

}  // namespace switchyard
