// Client connection loop and route table: reads requests (keep-alive),
// applies the edge checks every route shares (size limit, auth, draining),
// dispatches, and records one access-log line and metrics per request.
#include <boost/json.hpp>
#include <random>

#include "core/format.h"
#include "core/http_fields.h"
#include "core/read_buffer.h"
#include "core/try_io.h"
#include "providers/anthropic/translate_request.h"
#include "server/admin.h"
#include "server/config_admin.h"
#include "server/config_sync.h"
#include "server/db_models.h"
#include "server/key_auth.h"
#include "server/model_admin.h"
#include "server/proxy.h"
#include "server/router_admin.h"
#include "server/worker.h"

namespace switchyard {
namespace {

std::string new_uuid() { return time_ordered_uuid(); }

// A client-supplied request id is echoed only if it is short and printable.
bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kJsonContentType = "application/json";

enum class RouteId {
  kLive,
  kReady,
  kLiveliness,
  kReadiness,
  kMetrics,
  kModels,
  kModel,
  kChat,
  kCompletions,
  kEmbeddings,
  kMessages,
  kRouterReload,
  kRouterInfo,
  kConfigReload,
  kConfigSyncStatus,
  kModelNew,     // POST /model/new (server/model_admin.h)
  kModelDelete,  // POST /model/delete
  kModelInfo,    // GET /model/info
  kAdmin,        // key and spend management (server/admin.h)
  kUnknown,
};

struct RouteMatch {
  RouteId id = RouteId::kUnknown;
  http::verb method = http::verb::get;
  std::string_view label;  // canonical metrics/access-log route
  std::string_view model_id;
};

RouteMatch match_route(std::string_view path) {
  auto exact = [&](std::initializer_list<std::string_view> options) {
    for (auto o : options) {
      if (path == o) return true;
    }
    return false;
  };
  if (exact({"/v1/chat/completions", "/chat/completions"})) {
    return {RouteId::kChat, http::verb::post, "/v1/chat/completions", {}};
  }
  if (exact({"/v1/completions", "/completions"})) {
    return {RouteId::kCompletions, http::verb::post, "/v1/completions", {}};
  }
  if (exact({"/v1/embeddings", "/embeddings"})) {
    return {RouteId::kEmbeddings, http::verb::post, "/v1/embeddings", {}};
  }
  if (exact({"/v1/messages", "/messages"})) {
    return {RouteId::kMessages, http::verb::post, "/v1/messages", {}};
  }
  if (exact({"/v1/models", "/models"}))
    return {RouteId::kModels, http::verb::get, "/v1/models", {}};
  for (std::string_view prefix : {"/v1/models/", "/models/"}) {
    if (path.starts_with(prefix) && path.size() > prefix.size()) {
      return {RouteId::kModel, http::verb::get, "/v1/models/{id}", path.substr(prefix.size())};
    }
  }
  if (path == "/_health/live") return {RouteId::kLive, http::verb::get, "/_health/live", {}};
  if (path == "/_health/ready") return {RouteId::kReady, http::verb::get, "/_health/ready", {}};
  if (path == "/health/liveliness" || path == "/health/liveness") {
    return {RouteId::kLiveliness, http::verb::get, "/health/liveliness", {}};
  }
  if (path == "/health/readiness") {
    return {RouteId::kReadiness, http::verb::get, "/health/readiness", {}};
  }
  if (path == "/metrics" || path == "/metrics/") {
    return {RouteId::kMetrics, http::verb::get, "/metrics", {}};
  }
  if (path == "/router/reload")
    return {RouteId::kRouterReload, http::verb::post, "/router/reload", {}};
  if (path == "/router/info") return {RouteId::kRouterInfo, http::verb::get, "/router/info", {}};
  if (path == "/config/reload")
    return {RouteId::kConfigReload, http::verb::post, "/config/reload", {}};
  if (path == "/config/sync/status")
    return {RouteId::kConfigSyncStatus, http::verb::get, "/config/sync/status", {}};
  if (path == "/model/new") return {RouteId::kModelNew, http::verb::post, "/model/new", {}};
  if (path == "/model/delete")
    return {RouteId::kModelDelete, http::verb::post, "/model/delete", {}};
  if (exact({"/model/info", "/v1/model/info"}))
    return {RouteId::kModelInfo, http::verb::get, "/model/info", {}};
  if (auto admin = match_admin_route(path))
    return {RouteId::kAdmin, admin->method, admin->label, {}};
  return {RouteId::kUnknown, http::verb::get, "other", {}};
}

boost::json::object model_card(const std::string& name, int64_t created) {
  return {{"id", name}, {"object", "model"}, {"created", created}, {"owned_by", "switchyard"}};
}

int64_t process_start_time() {
  static const int64_t start = std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
  return start;
}

// Readiness: config loaded, a deployment that can serve, not draining, and
// the database answering (when there is one).
struct DbHealth {
  bool checked = false;
  bool ok = true;
  std::string problem;
  // Redis PING (when configured). Down only fails readiness when requests
  // would be refused for it (redis_fail_closed); failing open, the replica
  // still serves, and taking every replica out because the shared Redis
  // died would turn a degraded service into an outage.
  bool redis_checked = false;
  bool redis_ok = true;
  bool redis_required = false;
};

std::pair<bool, std::string> readiness(const GatewayState& state, const Snapshot& snapshot,
                                       const DbHealth& db) {
  if (state.draining()) return {false, "draining"};
  if (snapshot.registry->usable_deployments() == 0) return {false, "no usable deployment"};
  if (!db.ok) return {false, db.problem};
  if (!db.redis_ok && db.redis_required) return {false, "redis unreachable"};
  return {true, "ok"};
}

// Plain function on purpose: GCC 12 miscompiles braced string-literal
// initialisers inside coroutines ("array used as initializer").
std::pair<bool, std::string> readiness_report(const GatewayState& state, const Snapshot& snapshot,
                                              const DbHealth& db) {
  auto [ready, reason] = readiness(state, snapshot, db);
  boost::json::object body{{"status", ready ? "ready" : "not_ready"},
                           {"reason", reason},
                           {"deployments", snapshot.registry->usable_deployments()},
                           {"version", SWITCHYARD_VERSION}};
  if (db.checked) body["db"] = db.ok ? "connected" : "disconnected";
  if (db.redis_checked) body["redis"] = db.redis_ok ? "connected" : "disconnected";
  return {ready, boost::json::serialize(body)};
}

std::vector<store::RedisClient::Command> ping_command() { return {{"PING"}}; }

// PING on this worker's connection, 2 s timeout.
awaitable<void> check_redis(Worker& worker, DbHealth& health) {
  if (!worker.redis) co_return;
  health.redis_checked = true;
  health.redis_required = worker.state.redis()->fail_closed;
  auto pong = co_await worker.redis->exec(ping_command(), std::chrono::seconds(2));
  health.redis_ok = pong.ok() && !(*pong)[0].is_error();
}

// SELECT 1 with a 2 s timeout, plus the schema version check from startup.
awaitable<DbHealth> check_db(Worker& worker) {
  GatewayState& state = worker.state;
  DbHealth health;
  co_await check_redis(worker, health);
  store::StoreService* store = state.store();
  if (store == nullptr) co_return health;
  health.checked = true;
  const bool reachable = co_await store->ping(std::chrono::seconds(2));
  const auto schema = store->schema_state();
  if (!reachable) {
    health.ok = false;
    health.problem = "database unreachable";
  } else if (!schema.first) {
    health.ok = false;
    health.problem = schema.second;
  }
  co_return health;
}

// The model groups, plus the learned router's aliases ("auto") that no group
// shadows, so SDK users can discover them.
// A virtual key sees only the models its `models` list allows (as LiteLLM).
std::vector<std::string> listed_models(const ModelRegistry& registry, const LearnedRouting* learned,
                                       const store::KeyRecord* key = nullptr) {
  std::vector<std::string> names = registry.group_names();
  if (learned != nullptr) {
    for (const auto& alias : learned->aliases()) {
      if (registry.find(alias) == nullptr) names.push_back(alias);
    }
  }
  if (key != nullptr) {
    std::erase_if(names, [key](const std::string& name) { return !key->allows_model(name); });
  }
  return names;
}

// GET /v1/models/{id}: 404 unless the id is a group, a group alias or a
// router alias that this caller may see; the message lists only those.
std::optional<Error> unknown_model_error(const ModelRegistry& registry,
                                         const LearnedRouting* learned, const store::KeyRecord* key,
                                         std::string_view id) {
  const auto listed = listed_models(registry, learned, key);
  const ModelGroup* group = registry.find(id);
  bool visible = std::find(listed.begin(), listed.end(), id) != listed.end();
  if (!visible && group != nullptr) {  // a model_group_alias of a visible group
    visible = key == nullptr || key->allows_model(id) || key->allows_model(group->name);
  }
  if (visible) return std::nullopt;
  std::string names;
  for (const auto& name : listed) names += (names.empty() ? "" : ", ") + name;
  return Error::make(
      ErrorKind::kNotFound,
      "The model '" + std::string(id) + "' does not exist. Available models: " + names,
      "model_not_found", "model");
}

// Plain function: GCC 12 miscompiles a ?: building a std::string inside a coroutine.
std::string model_card_body(std::string_view id) {
  return boost::json::serialize(model_card(std::string(id), process_start_time()));
}

std::string models_list_body(const ModelRegistry& registry, const LearnedRouting* learned,
                             const store::KeyRecord* key) {
  boost::json::array data;
  for (const auto& name : listed_models(registry, learned, key)) {
    data.push_back(model_card(name, process_start_time()));
  }
  return boost::json::serialize(boost::json::object{{"object", "list"}, {"data", std::move(data)}});
}

void copy_client_hints(const http::request<http::string_body>& req, InboundRequest& inbound) {
  inbound.anthropic_version = std::string(header_value(req, "anthropic-version"));
  inbound.anthropic_beta = std::string(header_value(req, "anthropic-beta"));
}

Result<InboundRequest> openai_request(ApiRoute route, const http::request<http::string_body>& req) {
  auto parsed = parse_inbound(route, req.body());
  if (parsed) copy_client_hints(req, *parsed);
  return parsed;
}

// POST /v1/messages: an Anthropic-format request, translated to the OpenAI
// format the pipeline speaks (answers are translated back).
Result<InboundRequest> anthropic_request(const http::request<http::string_body>& req) {
  boost::json::error_code ec;
  auto parsed = boost::json::parse(req.body(), ec);
  if (ec || !parsed.is_object()) {
    return Error::make(ErrorKind::kInvalidRequest,
                       ec ? "Request body is not valid JSON: " + ec.message()
                          : std::string("Request body must be a JSON object"),
                       "invalid_json");
  }
  auto translated = anthropic::anthropic_to_openai_request(parsed.as_object(), "");
  if (!translated) return translated.error();
  auto inbound = inbound_from_object(ApiRoute::kChatCompletions, std::move(*translated));
  if (inbound) {
    copy_client_hints(req, *inbound);
    inbound->body_bytes = req.body().size();
  }
  return inbound;
}

std::string metrics_text(GatewayState& state) {
  std::string text = state.metrics().render_prometheus();
  if (auto* store = state.store()) store->render_metrics(text);
  if (auto* redis = state.redis()) redis->render_metrics(text);
  if (auto* cache = state.cache()) cache->render_metrics(text);
  const auto snapshot = state.snapshot();
  if (const LearnedRouting* learned = snapshot->learned_routing.get()) {
    text += learned->render_prometheus();
  }
  if (const ConfigSync* sync = state.config_sync()) text += sync->render_prometheus();
  if (const DbModelSync* models = state.db_models()) text += models->render_prometheus();
  return text;
}

// Routes only the master key may use (a virtual key gets 403).
bool master_only(RouteId id) {
  return id == RouteId::kAdmin || id == RouteId::kRouterReload || id == RouteId::kConfigReload ||
         id == RouteId::kConfigSyncStatus || id == RouteId::kModelNew ||
         id == RouteId::kModelDelete;
}

awaitable<void> send_json(ClientConnection& client, RequestContext& ctx, int status,
                          const std::string& body, bool keep_alive) {
  ctx.status = status;
  co_await client.send(status, kJsonContentType, body, ctx.response_headers(), keep_alive);
}

awaitable<void> handle_request(Worker& worker, const Snapshot& snapshot,
                               http::request<http::string_body>& req, ClientConnection& client,
                               RequestContext& ctx, bool keep_alive, bool refuse_work) {
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  RouteMatch route = match_route(path);
  ctx.route = std::string(route.label);
  // Claude clients get even auth and validation errors in their format.
  if (route.id == RouteId::kMessages) {
    ctx.anthropic_client = std::make_unique<AnthropicClientEncoder>("", "msg_" + ctx.call_id);
  }

  if (route.id == RouteId::kUnknown) {
    co_await send_error(client, ctx,
                        Error::make(ErrorKind::kNotFound,
                                    "Unknown route: " + std::string(req.method_string()) + " " +
                                        std::string(path.substr(0, 200)),
                                    "route_not_found"),
                        keep_alive);
    co_return;
  }
  if (req.method() != route.method) {
    co_await send_error(client, ctx,
                        Error::make(ErrorKind::kMethodNotAllowed,
                                    "Method " + std::string(req.method_string()) +
                                        " is not allowed on " + std::string(route.label),
                                    "method_not_allowed"),
                        keep_alive);
    co_return;
  }

  // Probes and metrics are never authenticated.
  switch (route.id) {
    case RouteId::kLive:
      co_await send_json(client, ctx, 200, std::string(R"({"status":"alive"})"), keep_alive);
      co_return;
    case RouteId::kLiveliness:
      co_await send_json(client, ctx, 200, std::string(R"("I'm alive!")"), keep_alive);
      co_return;
    case RouteId::kReady:
    case RouteId::kReadiness: {
      DbHealth db = co_await check_db(worker);
      auto [ready, body] = readiness_report(worker.state, snapshot, db);
      co_await send_json(client, ctx, ready ? 200 : 503, body, keep_alive);
      co_return;
    }
    case RouteId::kMetrics:
      ctx.status = 200;
      co_await client.send(200, kPrometheusContentType, metrics_text(worker.state),
                           ctx.response_headers(), keep_alive);
      co_return;
    default:
      break;
  }

  // A connection opened after SIGTERM only gets probes answered: the load
  // balancer should send its work to a replica that is staying up.
  if (refuse_work) {
    co_await send_error(
        client, ctx,
        Error::make(ErrorKind::kUnavailable,
                    "The gateway is shutting down; retry on another replica.", "draining"),
        false);
    co_return;
  }

  // Master key, virtual key (store) or open mode: server/key_auth.h.
  if (auto refused =
          co_await authenticate(worker, snapshot, header_value(req, "authorization"),
                                header_value(req, "x-api-key"), master_only(route.id), ctx)) {
    co_await send_error(client, ctx, *refused, keep_alive);
    co_return;
  }

  const auto& registry = *snapshot.registry;
  switch (route.id) {
    case RouteId::kModels: {
      co_await send_json(client, ctx, 200,
                         models_list_body(registry, snapshot.learned_routing.get(), ctx.key.get()),
                         keep_alive);
      co_return;
    }
    case RouteId::kModel: {
      if (auto missing = unknown_model_error(registry, snapshot.learned_routing.get(),
                                             ctx.key.get(), route.model_id)) {
        co_await send_error(client, ctx, *missing, keep_alive);
        co_return;
      }
      co_await send_json(client, ctx, 200, model_card_body(route.model_id), keep_alive);
      co_return;
    }
    case RouteId::kChat:
      co_await handle_inference(worker, snapshot, openai_request(ApiRoute::kChatCompletions, req),
                                client, ctx, keep_alive);
      co_return;
    case RouteId::kCompletions:
      co_await handle_inference(worker, snapshot, openai_request(ApiRoute::kCompletions, req),
                                client, ctx, keep_alive);
      co_return;
    case RouteId::kEmbeddings:
      co_await handle_inference(worker, snapshot, openai_request(ApiRoute::kEmbeddings, req),
                                client, ctx, keep_alive);
      co_return;
    case RouteId::kRouterReload:
      co_await handle_router_reload(worker, snapshot, req.body(), client, ctx, keep_alive);
      co_return;
    case RouteId::kRouterInfo:
      co_await handle_router_info(worker, snapshot, client, ctx, keep_alive);
      co_return;
    case RouteId::kConfigReload:
      co_await handle_config_reload(worker, client, ctx, keep_alive);
      co_return;
    case RouteId::kConfigSyncStatus:
      co_await handle_config_sync_status(worker, client, ctx, keep_alive);
      co_return;
    case RouteId::kAdmin:
      co_await handle_admin(worker, req, client, ctx, keep_alive);
      co_return;
    case RouteId::kModelNew:
      co_await handle_model_new(worker, snapshot, req.body(), client, ctx, keep_alive);
      co_return;
    case RouteId::kModelDelete:
      co_await handle_model_delete(worker, snapshot, req.body(), client, ctx, keep_alive);
      co_return;
    case RouteId::kModelInfo:
      co_await handle_model_info(snapshot, req.target(), client, ctx, keep_alive);
      co_return;
    case RouteId::kMessages: {
      auto inbound = anthropic_request(req);
      ctx.anthropic_client = std::make_unique<AnthropicClientEncoder>(
          inbound ? inbound->model : std::string(), "msg_" + ctx.call_id);
      co_await handle_inference(worker, snapshot, std::move(inbound), client, ctx, keep_alive);
      co_return;
    }
    default:
      break;
  }
  co_await send_error(client, ctx, Error::make(ErrorKind::kInternal, "unhandled route"),
                      keep_alive);
}

void record(Worker& worker, const RequestContext& ctx) {
  const double latency_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - ctx.start).count();
  const double overhead_ms = ctx.overhead_at_head_ms.value_or(ctx.overhead_ms());
  worker.metrics.record_request(ctx.route, ctx.model_group, ctx.deployment_id, ctx.status,
                                latency_ms / 1000.0, overhead_ms / 1000.0, ctx.proxied);
  AccessLogRecord line;
  line.request_id = ctx.request_id;
  line.call_id = ctx.call_id;
  line.method = ctx.method;
  line.route = ctx.route;
  line.model_group = ctx.model_group;
  line.deployment = ctx.deployment_id;
  line.status = ctx.status;
  line.latency_ms = latency_ms;
  line.overhead_ms = ctx.proxied ? overhead_ms : 0;
  line.prompt_tokens = ctx.usage.prompt_tokens;
  line.completion_tokens = ctx.usage.completion_tokens;
  line.total_tokens = ctx.usage.total_tokens;
  line.stream = ctx.stream;
  line.error_code = ctx.error_code;
  line.router_model = ctx.router_model;
  worker.state.access_log().write(line);
}

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// After an error answer to a request whose body was not read (413, bad
// framing), closing at once would make the kernel reset the connection and
// the client could lose the answer: read and drop what it still sends first,
// for a bounded time and size.
awaitable<void> discard_until_closed(beast::tcp_stream& stream) {
  constexpr size_t kMaxDiscard = size_t{64} * 1024 * 1024;
  std::array<char, size_t{16} * 1024> sink;
  size_t total = 0;
  stream.expires_after(std::chrono::seconds(2));
  while (total < kMaxDiscard) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_nothrow);
    if (ec) break;
    total += n;
  }
  stream.expires_never();
}

struct InFlightGuard {
  explicit InFlightGuard(std::atomic<int64_t>& counter) : counter_(counter) { ++counter_; }
  ~InFlightGuard() { --counter_; }
  std::atomic<int64_t>& counter_;
};

}  // namespace

HeaderList RequestContext::response_headers() const {
  HeaderList headers;
  headers.reserve(8);
  headers.emplace_back("x-request-id", request_id);
  headers.emplace_back("x-litellm-call-id", call_id);
  // One definition of overhead for the header, the access log and the
  // metric: the gateway's own time up to the response head. Time spent
  // streaming to a slow client afterwards is not gateway overhead.
  if (!overhead_at_head_ms) overhead_at_head_ms = overhead_ms();
  std::string overhead;
  append_fixed3(overhead, *overhead_at_head_ms);
  headers.emplace_back("x-litellm-overhead-duration-ms", std::move(overhead));
  return headers;
}

Worker::Worker(size_t worker_index, GatewayState& gateway_state, const ServerSettings& settings)
    : index(worker_index),
      state(gateway_state),
      tls(make_client_tls_context()),
      metrics(gateway_state.metrics().shard(worker_index)),
      client_idle_timeout(static_cast<int64_t>(settings.client_idle_timeout * 1000)) {
  pool = std::make_unique<ConnectionPool>(
      io, *tls,
      std::chrono::milliseconds(static_cast<int64_t>(settings.upstream_connect_timeout * 1000)),
      static_cast<size_t>(settings.max_upstream_idle_per_host));
  if (store::RedisShared* shared = gateway_state.redis()) {
    redis = std::make_unique<store::RedisClient>(io.get_executor(), shared->options, shared->stats);
  }
}

awaitable<void> serve_connection(Worker& worker, tcp::socket socket) {
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  // Reads and writes are tried at once before waiting (core/try_io.h).
  socket.non_blocking(true, ignored);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  prepare_read_buffer(buffer);
  ClientConnection client(stream);
  auto& metrics = worker.state.metrics();
  bool lingering = false;
  const bool accepted_while_draining = worker.state.draining();
  ++metrics.open_connections();

  for (;;) {
    auto snapshot = worker.state.snapshot();
    http::request_parser<http::string_body> parser;
    parser.body_limit(snapshot->max_body_bytes);
    parser.header_limit(64 * 1024);
    // A request already buffered (pipelined) or arrived by now is read and
    // parsed at once; the idle timeout is armed only for a read that waits
    // (core/try_io.h).
    error_code ec;
    if (buffer.size() > 0 || read_now(stream.socket(), buffer)) {
      ec = parse_buffered(parser, buffer, false);
    }
    bool timer_armed = false;
    if (!ec && !parser.is_header_done()) {
      stream.expires_after(worker.client_idle_timeout);
      timer_armed = true;
      std::tie(ec, std::ignore) =
          co_await http::async_read_header(stream, buffer, parser, use_nothrow);
    }
    if (!ec && !parser.is_done()) {
      // Clients that ask first (curl does for large bodies) wait for this.
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        co_await asio::async_write(stream, asio::buffer(kContinue), use_nothrow);
      }
      reserve_for_body(buffer, parser.content_length_remaining());
      stream.expires_after(worker.client_idle_timeout);
      timer_armed = true;
      std::tie(ec, std::ignore) = co_await http::async_read(stream, buffer, parser, use_nothrow);
    }
    if (timer_armed) stream.expires_never();
    // An idle keep-alive connection should not keep what a large body grew.
    trim_idle_read_buffer(buffer);
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted) {
      break;
    }

    InFlightGuard in_flight(metrics.in_flight());
    RequestContext ctx;
    ctx.call_id = new_uuid();

    if (ec) {
      // The request could not be read: answer once, then close, since the
      // rest of the connection's bytes cannot be trusted.
      ctx.request_id = new_uuid();
      ctx.method = "?";
      ctx.route = "other";
      const bool too_large = ec == http::error::body_limit;
      if (too_large) {
        ctx.method = std::string(parser.get().method_string());
        ctx.route = std::string(match_route(parser.get().target()).label);
      }
      Error error = too_large
                        ? Error::make(ErrorKind::kRequestTooLarge,
                                      "Request body exceeds the limit of " +
                                          std::to_string(snapshot->max_body_bytes) +
                                          " bytes (general_settings.max_request_size_mb)",
                                      "request_too_large")
                        : Error::make(ErrorKind::kInvalidRequest,
                                      "Malformed HTTP request: " + ec.message(), "malformed_http");
      co_await send_error(client, ctx, error, false);
      record(worker, ctx);
      lingering = true;
      break;
    }

    auto& req = parser.get();
    if (auto id = header_value(req, "x-request-id"); acceptable_request_id(id)) {
      ctx.request_id = std::string(id);
    } else {
      ctx.request_id = new_uuid();
    }
    ctx.method = std::string(req.method_string());
    // Draining: finish this request, then close so clients move elsewhere.
    const bool keep_alive = req.keep_alive() && !worker.state.draining();
    co_await handle_request(worker, *snapshot, req, client, ctx, keep_alive,
                            accepted_while_draining);
    record(worker, ctx);
    if (!keep_alive || client.failed() || ctx.client_gone) break;
  }
  --metrics.open_connections();
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (lingering) co_await discard_until_closed(stream);
  stream.socket().close(ignored);
}

}  // namespace switchyard
