#include "server/proxy.h"

#include <boost/json.hpp>
#include <cstdio>
#include <random>

#include "api/sse.h"
#include "providers/exchange.h"
#include "providers/mock.h"
#include "routing/learned_routing.h"
#include "routing/selector.h"
#include "server/deployment_limits.h"
#include "server/key_auth.h"
#include "server/routing_embedding.h"
#include "telemetry/log.h"

namespace switchyard {
namespace {
constexpr std::string_view kJsonContentType = "application/json";

// Upper bound on a buffered (non-streaming) upstream response.
constexpr size_t kMaxUpstreamBody = size_t{64} * 1024 * 1024;
// Deployments refused by their shared rpm/tpm cap before giving up on a pick.
constexpr size_t kMaxSharedClaims = 64;
// Backoff between retries: base doubling per attempt, with jitter, capped.
constexpr std::chrono::milliseconds kBackoffBase{50};
constexpr std::chrono::milliseconds kBackoffCap{5000};
// An upstream retry-after longer than this is not waited out in-request.
constexpr std::chrono::milliseconds kMaxRetryAfterWait{10000};

HeaderList proxied_headers(const RequestContext& ctx) {
  HeaderList headers = ctx.response_headers();
  headers.emplace_back("x-litellm-model-id", ctx.deployment_id);
  headers.emplace_back("x-litellm-model-group", ctx.model_group);
  headers.emplace_back("x-litellm-attempted-retries", std::to_string(ctx.attempted_retries));
  headers.emplace_back("x-litellm-attempted-fallbacks", std::to_string(ctx.attempted_fallbacks));
  if (!ctx.router_strategy.empty()) {
    headers.emplace_back("x-switchyard-router", ctx.router_strategy);
    headers.emplace_back("x-switchyard-router-version", ctx.router_version);
    if (!ctx.router_model.empty())
      headers.emplace_back("x-switchyard-router-model", ctx.router_model);
  }
  headers.insert(headers.end(), ctx.extra_headers.begin(), ctx.extra_headers.end());
  return headers;
}

// --- answering in the client's dialect ---------------------------------------

awaitable<bool> deliver_body(ClientConnection& client, RequestContext& ctx,
                             const std::string& openai_body, bool keep_alive) {
  if (ctx.cache_store && ctx.status == 200) ctx.cache_body = openai_body;
  if (!ctx.anthropic_client) {
    co_return co_await client.send(ctx.status, kJsonContentType, openai_body, proxied_headers(ctx),
                                   keep_alive);
  }
  auto converted = ctx.anthropic_client->body(openai_body);
  if (!converted) {
    auto [status, body] = ctx.anthropic_client->error(converted.error());
    ctx.status = status;
    co_return co_await client.send(status, kJsonContentType, body, proxied_headers(ctx),
                                   keep_alive);
  }
  co_return co_await client.send(ctx.status, kJsonContentType, *converted, proxied_headers(ctx),
                                 keep_alive);
}

// What the client reads for these OpenAI SSE bytes: the bytes themselves, or
// (Anthropic clients) their translation into `out`. Feeds the cache recorder.
std::string_view client_stream_bytes(RequestContext& ctx, std::string_view openai_sse,
                                     std::string& out) {
  if (ctx.cache_recorder) ctx.cache_recorder->feed(openai_sse);
  if (!ctx.anthropic_client) return openai_sse;
  ctx.anthropic_client->stream(openai_sse, out);
  return out;
}

// Starts the client's stream; `first_openai_sse` (if any) goes out in the
// same write as the response head.
awaitable<bool> begin_answer_stream(ClientConnection& client, RequestContext& ctx, bool keep_alive,
                                    std::string_view first_openai_sse = {}) {
  std::string translated;
  const std::string_view first = client_stream_bytes(ctx, first_openai_sse, translated);
  co_return co_await client.begin_stream(200, proxied_headers(ctx), keep_alive, first);
}

awaitable<bool> deliver_stream_bytes(ClientConnection& client, RequestContext& ctx,
                                     std::string_view openai_sse) {
  std::string translated;
  co_return co_await client.stream_chunk(client_stream_bytes(ctx, openai_sse, translated));
}

awaitable<void> end_answer_stream(ClientConnection& client, RequestContext& ctx) {
  if (ctx.anthropic_client) {
    std::string out;
    ctx.anthropic_client->stream_end(out);
    if (!co_await client.stream_chunk(out)) co_return;
  }
  co_await client.end_stream();
}

// A committed stream that failed: a final error event, then the end.
awaitable<void> end_answer_stream_with_error(ClientConnection& client, RequestContext& ctx,
                                             const Error& error) {
  const std::string event = sse_event(error_body(error));
  if (!co_await deliver_stream_bytes(client, ctx, event)) co_return;
  co_await end_answer_stream(client, ctx);
}

// Why an attempt failed, as far as retries and fallbacks care.
enum class FailureClass { kNone, kRetryable, kFinal };
enum class FallbackKind { kGeneric, kContextWindow, kContentPolicy };

// Outcome of one attempt against one deployment. Either the answer went to
// the client (delivered), the client left, or nothing was sent and `error`
// says what would be.
struct Attempt {
  bool delivered = false;
  bool client_gone = false;
  FailureClass failure = FailureClass::kNone;
  FallbackKind fallback = FallbackKind::kGeneric;
  bool cooldown_now = false;  // 429: take the deployment out at once
  // Delivered, but the stream broke after its first byte: no retry is
  // possible, yet it counts against the deployment like any failure.
  bool broke_after_commit = false;
  std::chrono::milliseconds retry_after{0};
  Error error;
};

std::chrono::milliseconds parse_retry_after(const std::string& value) {
  if (value.empty()) return std::chrono::milliseconds(0);
  char* end = nullptr;
  const double seconds = std::strtod(value.c_str(), &end);
  if (end == value.c_str() || seconds < 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

bool contains_lower(const std::string& text, std::string_view needle) {
  std::string lower(text.size(), '\0');
  std::transform(text.begin(), text.end(), lower.begin(), ::tolower);
  return lower.find(needle) != std::string::npos;
}

std::string content_type_or_none(const std::string& content_type) {
  return content_type.empty() ? "(none)" : content_type;
}

// A 200 whose content type is not the provider's stream, for a stream request
// (an HTML login page from a proxy, or a server that ignored `stream`): the
// client cannot be given it as a stream, so it counts as an invalid answer.
Attempt stream_content_type_failure(const std::string& content_type, const DeploymentRuntime& d) {
  Attempt a;
  a.failure = FailureClass::kRetryable;
  a.error = Error::make(ErrorKind::kUpstreamInvalid,
                        "Upstream answered a stream request with content-type " +
                            content_type_or_none(content_type) + " (deployment " + d.id() + ")",
                        "upstream_invalid_response");
  return a;
}

// Which errors may be retried (issue: never a 4xx other than 408/409/429),
// and which select a special fallback list.
Attempt classify_status(int status, Error error) {
  Attempt a;
  a.retry_after = parse_retry_after(error.retry_after);
  a.error = std::move(error);
  const std::string code = a.error.code.value_or("");
  if (status == 429 || status == 408 || status == 409 || status >= 500) {
    a.failure = FailureClass::kRetryable;
    a.cooldown_now = status == 429;
  } else {
    a.failure = FailureClass::kFinal;
  }
  if (code == "context_length_exceeded" || contains_lower(a.error.message, "context length") ||
      contains_lower(a.error.message, "prompt is too long") ||
      contains_lower(a.error.message, "context window") ||
      contains_lower(a.error.message, "maximum context")) {
    a.fallback = FallbackKind::kContextWindow;
  } else if (code == "content_filter" || code == "content_policy_violation" ||
             contains_lower(a.error.message, "content management policy")) {
    a.fallback = FallbackKind::kContentPolicy;
  }
  return a;
}

Attempt failure_attempt(UpstreamFailure failure, const DeploymentRuntime& d, bool streaming) {
  Attempt a;
  a.failure = FailureClass::kRetryable;
  const std::string where = " (deployment " + d.id() + ")";
  switch (failure) {
    case UpstreamFailure::kTimeout:
      a.error = Error::make(
          ErrorKind::kUpstreamTimeout,
          std::string(streaming ? "Upstream stream timed out" : "Upstream request timed out") +
              where,
          "upstream_timeout");
      break;
    case UpstreamFailure::kConnect:
      a.error = Error::make(ErrorKind::kUpstreamUnreachable, "Cannot connect to upstream" + where,
                            "upstream_unreachable");
      break;
    case UpstreamFailure::kReset:
      a.error = Error::make(ErrorKind::kUpstreamUnreachable,
                            "Upstream closed the connection before completing the response" + where,
                            "upstream_unreachable");
      break;
    case UpstreamFailure::kInvalid:
      a.error = Error::make(ErrorKind::kUpstreamInvalid,
                            "Upstream sent a response that is not valid HTTP" + where,
                            "upstream_invalid_response");
      break;
    case UpstreamFailure::kCancelled:
    case UpstreamFailure::kNone:
      a.client_gone = true;
      a.failure = FailureClass::kNone;
      break;
  }
  return a;
}

awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(use_nothrow);
}

std::function<void()> cancel_on_hangup(asio::steady_timer& timer) {
  return [&timer] { timer.cancel(); };
}

// A retry's pause, cut short if the client hangs up meanwhile.
awaitable<void> pause_unless_client_gone(RequestContext& ctx, std::chrono::milliseconds duration) {
  if (ctx.client_gone) co_return;
  ctx.watch_for_hangup();
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  ctx.on_client_gone = cancel_on_hangup(timer);
  co_await timer.async_wait(use_nothrow);
  ctx.on_client_gone = nullptr;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// --- mock provider ---------------------------------------------------------

awaitable<Attempt> attempt_mock(const DeploymentRuntime& deployment, InboundRequest& request,
                                ClientConnection& client, RequestContext& ctx, bool keep_alive) {
  const LitellmParams& params = deployment.config->params;
  const auto upstream_start = Clock::now();
  Attempt done;
  done.delivered = true;
  if (params.mock_latency_ms > 0) {
    ctx.watch_for_hangup();
    co_await sleep_for(std::chrono::milliseconds(params.mock_latency_ms));
  }
  std::optional<std::string> content = request.mock_response;
  if (!content) content = params.mock_response;
  MockAnswer answer =
      mock_answer(request, params.model_id, content, params.mock_stream_chunks, ctx.call_id);
  ctx.usage = answer.usage;
  ctx.upstream_wait += Clock::now() - upstream_start;
  ctx.first_token_ms = ms_since(upstream_start);
  ctx.status = 200;
  if (!request.stream) {
    co_await deliver_body(client, ctx, answer.body, keep_alive);
    co_return done;
  }
  if (!co_await begin_answer_stream(client, ctx, keep_alive)) co_return done;
  for (size_t i = 0; i < answer.events.size(); ++i) {
    if (i > 0 && params.mock_chunk_interval_ms > 0) {
      const auto pause_start = Clock::now();
      ctx.watch_for_hangup();
      co_await sleep_for(std::chrono::milliseconds(params.mock_chunk_interval_ms));
      ctx.upstream_wait += Clock::now() - pause_start;
    }
    if (!co_await deliver_stream_bytes(client, ctx, answer.events[i])) co_return done;
  }
  co_await end_answer_stream(client, ctx);
  co_return done;
}

// --- OpenAI-compatible upstream ---------------------------------------------

awaitable<Attempt> attempt_upstream(Worker& worker, const DeploymentRuntime& deployment,
                                    InboundRequest& request, ClientConnection& client,
                                    RequestContext& ctx, bool keep_alive) {
  auto prepared = prepare_exchange(deployment, request, ctx.call_id);
  if (!prepared) {
    Attempt a;
    // A request the provider cannot take is final; missing credentials
    // (still being fetched) leave the retries and fallbacks their chance.
    a.failure = prepared.error().kind == ErrorKind::kUnavailable ? FailureClass::kRetryable
                                                                 : FailureClass::kFinal;
    a.error = prepared.error();
    co_return a;
  }
  ResponseTranslator& translator = *prepared->translator;
  UpstreamCall call(*worker.pool, deployment.endpoint);
  ctx.on_client_gone = [&call] { call.cancel(); };
  call.before_wait([&ctx] { ctx.watch_for_hangup(); });
  struct ClearHook {
    RequestContext& ctx;
    ~ClearHook() { ctx.on_client_gone = nullptr; }
  } clear_hook{ctx};

  // A request's own `timeout` / `stream_timeout` (LiteLLM's per-request
  // overrides) replace the deployment's.
  const auto timeout = request.timeout.value_or(deployment.timeout);
  const auto stream_timeout = request.stream_timeout.value_or(deployment.stream_timeout);
  const auto upstream_start = Clock::now();
  const auto total_deadline = upstream_start + timeout;
  const auto first_byte_deadline =
      request.stream ? std::min(total_deadline, upstream_start + stream_timeout) : total_deadline;
  auto count_failure = [&](std::string_view kind) {
    worker.metrics.record_upstream_error(deployment.id(), kind);
  };

  UpstreamFailure failure = co_await call.start(prepared->request, first_byte_deadline);
  if (failure != UpstreamFailure::kNone) {
    ctx.upstream_wait += Clock::now() - upstream_start;
    if (failure != UpstreamFailure::kCancelled) count_failure(upstream_failure_name(failure));
    co_return failure_attempt(failure, deployment, request.stream);
  }

  const int status = call.status();
  const std::string content_type = call.header("content-type");
  const bool event_stream = translator.is_stream(content_type);
  if (status == 200 && request.stream && !event_stream) {
    ctx.upstream_wait += Clock::now() - upstream_start;
    count_failure(upstream_failure_name(UpstreamFailure::kInvalid));
    co_return stream_content_type_failure(content_type, deployment);
  }
  if (status != 200 || !request.stream) {
    std::string body;
    failure = co_await call.read_all(body, total_deadline, kMaxUpstreamBody);
    ctx.upstream_wait += Clock::now() - upstream_start;
    if (failure != UpstreamFailure::kNone) {
      if (failure != UpstreamFailure::kCancelled) count_failure(upstream_failure_name(failure));
      co_return failure_attempt(failure, deployment, false);
    }
    call.finish();
    if (status < 200 || status >= 300) {
      count_failure(status == 429 ? "status_429" : (status >= 500 ? "status_5xx" : "status_4xx"));
      co_return classify_status(status, translator.error(status, body, call.header("retry-after"),
                                                         call.header("x-amzn-errortype")));
    }
    auto answer = translator.body(std::move(body), ctx.usage);
    if (!answer) {
      count_failure(upstream_failure_name(UpstreamFailure::kInvalid));
      Attempt a;
      a.failure = FailureClass::kRetryable;
      a.error = answer.error();
      if (content_type.find("json") == std::string::npos) {
        // Say what came instead (an HTML error page, ...), not just "no JSON".
        a.error.message = "Upstream answered with content-type " +
                          content_type_or_none(content_type) + ", not JSON (deployment " +
                          deployment.id() + ")";
      }
      co_return a;
    }
    ctx.first_token_ms = ms_since(upstream_start);
    ctx.status = status;
    co_await deliver_body(client, ctx, *answer, keep_alive);
    Attempt done;
    done.delivered = true;
    co_return done;
  }

  // Streaming. Nothing is sent to the client until the first piece of body
  // arrives, so a stream that fails before that can still be retried.
  std::string piece;
  std::string translated;
  failure = co_await call.read_some(piece, first_byte_deadline);
  ctx.upstream_wait += Clock::now() - upstream_start;
  if (failure != UpstreamFailure::kNone) {
    if (failure != UpstreamFailure::kCancelled) count_failure(upstream_failure_name(failure));
    co_return failure_attempt(failure, deployment, true);
  }
  ctx.first_token_ms = ms_since(upstream_start);
  ctx.status = 200;
  Attempt done;
  done.delivered = true;
  translator.stream_piece(piece, translated);
  if (!co_await begin_answer_stream(client, ctx, keep_alive, translated)) {
    call.cancel();
    co_return done;
  }
  for (;;) {
    if (call.body_done()) break;
    piece.clear();
    const auto wait_start = Clock::now();
    // After the first byte each gap may last up to the deployment timeout.
    failure = co_await call.read_some(piece, Clock::now() + timeout);
    ctx.upstream_wait += Clock::now() - wait_start;
    if (failure != UpstreamFailure::kNone) {
      if (failure == UpstreamFailure::kCancelled) co_return done;
      count_failure(upstream_failure_name(failure));
      count_failure("stream_interrupted");
      Error error = failure_attempt(failure, deployment, true).error;
      error.message = "Upstream stream interrupted: " + error.message;
      ctx.error_code = error.code.value_or("");
      ctx.usage = translator.stream_usage();
      // Already committed: tell the client in-band, then end the response so
      // it never hangs. No retry after the first byte reached the client.
      co_await end_answer_stream_with_error(client, ctx, error);
      done.broke_after_commit = true;
      co_return done;
    }
    translated.clear();
    translator.stream_piece(piece, translated);
    if (!co_await deliver_stream_bytes(client, ctx, translated)) {
      call.cancel();  // client went away: stop the upstream generating
      ctx.client_gone = true;
      co_return done;
    }
  }
  call.finish();
  translated.clear();
  translator.stream_end(translated);
  ctx.usage = translator.stream_usage();
  if (!co_await deliver_stream_bytes(client, ctx, translated)) co_return done;
  if (!translator.stream_complete()) {
    count_failure("stream_interrupted");
    Error error = Error::make(ErrorKind::kUpstreamUnreachable,
                              "Upstream stream interrupted: it ended without its end event "
                              "(deployment " +
                                  deployment.id() + ")",
                              "upstream_unreachable");
    ctx.error_code = *error.code;
    co_await end_answer_stream_with_error(client, ctx, error);
    done.broke_after_commit = true;
    co_return done;
  }
  co_await end_answer_stream(client, ctx);
  co_return done;
}

// Runs one attempt on `deployment`, keeping its live state (in-flight,
// latency, usage, failures/cooldown) up to date.
awaitable<Attempt> run_attempt(Worker& worker, const Snapshot& snapshot,
                               const DeploymentRuntime& deployment, InboundRequest& request,
                               ClientConnection& client, RequestContext& ctx, bool keep_alive) {
  DeploymentState& state = *deployment.state;
  const auto started = Clock::now();
  state.begin_request();
  state.count_request(started);
  // Plain if/else on purpose: GCC 12 mishandles co_await inside ?: (the
  // result object was corrupted).
  Attempt attempt;
  if (request.mock_response || deployment.kind == ProviderKind::kMock) {
    attempt = co_await attempt_mock(deployment, request, client, ctx, keep_alive);
  } else {
    attempt = co_await attempt_upstream(worker, deployment, request, client, ctx, keep_alive);
  }
  state.end_request();
  const auto now = Clock::now();
  if (ctx.usage.total_tokens > 0 && (attempt.delivered || attempt.broke_after_commit ||
                                     attempt.failure == FailureClass::kRetryable)) {
    state.record_usage(ctx.usage.total_tokens, now);
    add_shared_tokens(worker, deployment, ctx.usage.total_tokens);
  }
  if (attempt.delivered && !attempt.broke_after_commit) {
    state.record_success();
    state.record_latency(ms_since(started), request.stream, ctx.first_token_ms);
  } else if (attempt.failure == FailureClass::kRetryable || attempt.broke_after_commit) {
    const auto& router = snapshot.config->router_settings;
    auto cooldown = std::chrono::milliseconds(static_cast<int64_t>(router.cooldown_time * 1000));
    if (attempt.cooldown_now && attempt.retry_after > cooldown) cooldown = attempt.retry_after;
    if (state.record_failure(now, router.allowed_fails, cooldown, attempt.cooldown_now)) {
      worker.metrics.count(CounterId::kCooldowns, {deployment.id()});
    }
  }
  co_return attempt;
}

std::chrono::milliseconds backoff(int retry_index, std::chrono::milliseconds floor,
                                  std::chrono::milliseconds upstream_hint) {
  thread_local std::minstd_rand rng{std::random_device{}()};
  const auto exponential =
      std::min(kBackoffCap, kBackoffBase * (int64_t{1} << std::min(retry_index, 10)));
  // Jitter in [50%, 100%] so replicas do not retry in lockstep.
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  auto wait = std::chrono::milliseconds(static_cast<int64_t>(exponential.count() * jitter(rng)));
  wait = std::max(wait, floor);
  if (upstream_hint > wait && upstream_hint <= kMaxRetryAfterWait) wait = upstream_hint;
  return wait;
}

const std::vector<std::string>* fallbacks_for(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& table,
    const std::string& group) {
  const std::vector<std::string>* wildcard = nullptr;
  for (const auto& [name, targets] : table) {
    if (name == group) return &targets;
    if (name == "*") wildcard = &targets;
  }
  return wildcard;
}

Error no_deployment_error(const ModelGroup& group) {
  Error error = Error::make(ErrorKind::kRateLimited,
                            "No deployment of model group '" + group.name +
                                "' is available right now (all cooling down or at their limits)",
                            "no_available_deployment");
  const auto now = Clock::now();
  const auto until = earliest_available(group, now);
  int64_t seconds = 1;
  if (until != Clock::time_point::max() && until > now) {
    seconds = std::max<int64_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(until - now).count() + 1);
  }
  error.retry_after = std::to_string(seconds);
  return error;
}

// Retries within one model group, then its fallbacks, until an attempt
// delivers or everything has been tried. With `ranking` (learned routing),
// the primary group's deployments are tried best-scored candidate first.
awaitable<void> route_and_answer(Worker& worker, const Snapshot& snapshot,
                                 const ModelGroup& primary, const RankedRoute* ranking,
                                 InboundRequest& request, ClientConnection& client,
                                 RequestContext& ctx, bool keep_alive) {
  const ModelRegistry& registry = *snapshot.registry;
  const auto& router = snapshot.config->router_settings;
  const int64_t num_retries = request.num_retries.value_or(snapshot.num_retries);
  const auto retry_floor =
      std::chrono::milliseconds(static_cast<int64_t>(router.retry_after * 1000));

  std::vector<const ModelGroup*> queue{&primary};
  std::optional<Attempt> last;
  std::vector<const DeploymentRuntime*> tried;
  bool fallbacks_queued = false;

  for (size_t q = 0; q < queue.size(); ++q) {
    const ModelGroup& group = *queue[q];
    if (q > 0) {
      ++ctx.attempted_fallbacks;
      worker.metrics.count(CounterId::kFallbacks, {primary.name, group.name});
    }
    tried.clear();
    // With a learned ranking, the primary group is walked best candidate first.
    const bool ranked = ranking != nullptr && q == 0;
    auto pick = [&]() -> const DeploymentRuntime* {
      if (ranked) return select_ranked(ranking->tiers, Clock::now(), tried);
      return select_deployment(group, snapshot.selection, Clock::now(), tried);
    };
    for (int64_t attempt_no = 0; attempt_no <= num_retries; ++attempt_no) {
      if (attempt_no > 0) {
        // Nothing left to retry on (e.g. the group's only deployment just
        // answered 429 and is cooling down): go on to the fallbacks or the
        // answer now instead of waiting out a retry-after for nothing.
        const DeploymentRuntime* next = pick();
        if (next == nullptr) break;
        // An upstream's retry-after speaks for the deployment that sent it.
        std::chrono::milliseconds upstream_hint{0};
        if (last && next == tried.back()) upstream_hint = last->retry_after;
        ++ctx.attempted_retries;
        worker.metrics.count(CounterId::kRetries, {group.name});
        co_await pause_unless_client_gone(
            ctx, backoff(static_cast<int>(attempt_no - 1), retry_floor, upstream_hint));
        if (ctx.client_gone) co_return;
      }
      const DeploymentRuntime* deployment = pick();
      // Deployment rpm/tpm shared across replicas: one Redis round trip
      // claims the slot. A refused deployment is marked full for the minute,
      // so the next pick is another one (a ranked route can span several
      // groups, hence a fixed bound rather than this group's size).
      size_t claims = 0;
      while (deployment != nullptr && needs_shared_admission(worker, *deployment)) {
        const bool admitted = co_await admit_shared(worker, *deployment);
        if (admitted) break;
        deployment = ++claims < kMaxSharedClaims ? pick() : nullptr;
      }
      if (deployment == nullptr) {
        // After a real upstream failure in this group, that failure is the
        // more useful answer (it keeps the upstream's status and retry-after).
        if (!tried.empty()) break;
        if (group.deployments.size() == 1 && !group.deployments[0]->usable()) {
          Attempt a;
          a.failure = FailureClass::kFinal;
          a.error = Error::make(ErrorKind::kNotImplemented,
                                group.deployments[0]->unavailable_reason, "provider_not_supported");
          ctx.model_group = group.name;
          ctx.deployment_id = group.deployments[0]->id();
          last = std::move(a);
        } else {
          worker.metrics.count(CounterId::kNoDeployment, {group.name});
          Attempt a;
          a.failure = FailureClass::kRetryable;
          a.error = no_deployment_error(group);
          ctx.model_group = group.name;
          last = std::move(a);
        }
        break;
      }
      tried.push_back(deployment);
      // A router alias ("auto") is not a group: report the one that answers.
      ctx.model_group = deployment->config->model_name;
      ctx.deployment_id = deployment->id();
      if (ranked) {
        ctx.router_model = ranking->candidate_of(deployment);
        if (attempt_no == 0) {
          worker.metrics.count(
              CounterId::kRouterDecisions,
              {ctx.router_strategy, ctx.router_model.empty() ? std::string_view("unscored")
                                                             : std::string_view(ctx.router_model)});
        }
      } else if (q > 0) {
        ctx.router_model.clear();
      }
      Attempt attempt =
          co_await run_attempt(worker, snapshot, *deployment, request, client, ctx, keep_alive);
      if (attempt.delivered || attempt.client_gone) co_return;
      const bool retryable = attempt.failure == FailureClass::kRetryable;
      last = std::move(attempt);
      if (!retryable) break;
    }

    // Fallbacks are chosen once, from the primary group's lists, by what the
    // last failure was.
    if (!fallbacks_queued && last) {
      fallbacks_queued = true;
      const std::vector<std::string>* targets = nullptr;
      if (last->fallback == FallbackKind::kContextWindow) {
        targets = fallbacks_for(router.context_window_fallbacks, primary.name);
      } else if (last->fallback == FallbackKind::kContentPolicy) {
        targets = fallbacks_for(router.content_policy_fallbacks, primary.name);
      } else if (last->failure == FailureClass::kRetryable) {
        targets = fallbacks_for(router.fallbacks, primary.name);
      }
      if (targets) {
        for (const auto& name : *targets) {
          if (const ModelGroup* g = registry.find(name); g && g != &primary) queue.push_back(g);
        }
      }
    }
  }
  if (last) co_await send_error(client, ctx, last->error, keep_alive);
}

// A client that hangs up while its answer is produced: stop at once, and
// abort the upstream exchange if one is running (the hook is set per
// attempt and per retry pause). Plain function: no lambdas in coroutines.
std::function<void()> on_client_hangup(RequestContext& ctx) {
  return [&ctx] {
    if (ctx.finished) return;
    ctx.client_gone = true;
    if (ctx.on_client_gone) ctx.on_client_gone();
  };
}

// Scores and ranks (plain function: no braced initialisers in coroutines).
bool rank_now(const LearnedRouting& learned, const LoadedRouter& router, const std::string& prompt,
              const std::vector<float>& embedding, const ModelRegistry& registry,
              const ModelGroup* within, RankedRoute& ranking) {
  learned::RouteInput input;
  input.prompt = prompt;
  input.embedding = embedding;
  return learned.rank(router, input, registry, within, ranking);
}

void log_decision(const RankedRoute& ranking, const RequestContext& ctx) {
  const auto& candidates = ranking.router->model->candidates();
  std::string top = "[";
  for (size_t t = 0; t < ranking.tiers.size() && t < 3; ++t) {
    if (ranking.tier_candidate[t] == SIZE_MAX) break;
    if (t > 0) top += ",";
    top += "{\"model\":" + json_string(candidates[ranking.tier_candidate[t]]) +
           ",\"score\":" + std::to_string(ranking.tier_score[t]) + "}";
  }
  top += "]";
  log_event(LogLevel::kDebug, "learned routing decision",
            {{"request_id", json_string(ctx.request_id)},
             {"strategy", json_string(ctx.router_strategy)},
             {"version", json_string(ctx.router_version)},
             {"by_prior", ranking.ranked_by_prior ? "true" : "false"},
             {"top", top}});
}

// An embedding call that fails is logged at most every 10 s per worker; the
// fallback counter has every occurrence.
void log_embedding_failure(const Error& error) {
  thread_local Clock::time_point last{};
  const auto now = Clock::now();
  if (now - last < std::chrono::seconds(10)) return;
  last = now;
  log_event(LogLevel::kWarning, "routing embedding failed; ranking by the router's prior",
            {{"error", json_string(error.message)}});
}

// Ranks the deployments of `within` (nullptr: every candidate, for a router
// alias) with the active learned router. False: route with the classic
// fallback strategy instead (counted when it is a real fallback).
awaitable<bool> plan_learned_route(Worker& worker, const Snapshot& snapshot,
                                   const LearnedRouting& learned, const InboundRequest& request,
                                   const ModelGroup* within, RankedRoute& ranking,
                                   RequestContext& ctx) {
  const ModelRegistry& registry = *snapshot.registry;
  const char* strategy = learned.strategy_name();
  auto router = learned.active();
  if (!router) {
    worker.metrics.count(CounterId::kRouterFallbacks, {strategy, "not_loaded"});
    co_return false;
  }
  const std::string prompt = routing_prompt(request.route, request.body);
  std::vector<float> embedding;
  if (router->model->needs_embedding() && !learned.embedding_model().empty() &&
      learned.has_candidates(*router, registry, within)) {
    auto fetched = co_await routing_embedding(worker, snapshot, learned.embedding_model(), prompt);
    if (fetched) {
      embedding = std::move(*fetched);
    } else {
      log_embedding_failure(fetched.error());
    }
  }
  const auto started = Clock::now();
  ranking.router = router;
  if (!rank_now(learned, *router, prompt, embedding, registry, within, ranking)) {
    // A group with fewer than two candidate deployments has nothing to choose
    // between: not a fallback. An alias whose candidates match nothing is.
    if (within == nullptr) {
      worker.metrics.count(CounterId::kRouterFallbacks, {strategy, "no_candidate_deployments"});
    }
    co_return false;
  }
  worker.metrics.record_routing_duration(
      strategy, std::chrono::duration<double>(Clock::now() - started).count());
  if (ranking.ranked_by_prior) {
    // An embedding router without a usable embedding ranks by its training
    // prior and cost (docs/routing.md).
    worker.metrics.count(
        CounterId::kRouterFallbacks,
        {strategy, embedding.empty() ? "embedding_unavailable" : "embedding_rejected"});
  }
  ctx.router_strategy = strategy;
  ctx.router_version = router->model->version();
  if (log_enabled(LogLevel::kDebug)) log_decision(ranking, ctx);
  co_return true;
}

// --- response cache ------------------------------------------------------------

std::vector<store::RedisClient::Command> get_command(std::string key) {
  return {{"GET", std::move(key)}};
}
std::vector<store::RedisClient::Command> set_command(std::string key, std::string value,
                                                     int64_t ttl_seconds) {
  return {{"SET", std::move(key), std::move(value), "EX", std::to_string(ttl_seconds)}};
}

// Plain function: GCC 12 and ?: inside coroutines (docs/development.md).
std::string request_cache_key(const store::ResponseCache& cache, const InboundRequest& request,
                              const RequestContext& ctx) {
  std::string_view scope;
  if (cache.per_key) scope = ctx.key_token;
  return store::cache_key(cache.name_space, request.route, ctx.model_group, scope, request.body,
                          request.mock_response);
}

struct CacheLookup {
  std::optional<std::string> body;
  bool bypassed = false;  // Redis unreachable
};

awaitable<CacheLookup> cache_lookup(Worker& worker, store::ResponseCache& cache,
                                    const std::string& key) {
  CacheLookup found;
  if (!cache.redis || !worker.redis) {
    found.body = cache.local.get(key, Clock::now());
    co_return found;
  }
  auto replies = co_await worker.redis->exec(get_command(store::redis_cache_key(cache, key)));
  if (!replies || (*replies)[0].is_error()) {
    found.bypassed = true;
    co_return found;
  }
  if (!(*replies)[0].is_nil()) found.body = std::move((*replies)[0].str);
  co_return found;
}

awaitable<void> redis_cache_store(store::RedisClient& client, store::ResponseCache& cache,
                                  std::string key, std::string body, int64_t ttl_seconds) {
  auto replies = co_await client.exec(set_command(std::move(key), std::move(body), ttl_seconds));
  if (!replies || (*replies)[0].is_error()) {
    cache.stats.store_failures.fetch_add(1, std::memory_order_relaxed);
  } else {
    cache.stats.stores.fetch_add(1, std::memory_order_relaxed);
  }
}

// After the answer: store it when it was a complete success (never an
// error, a broken stream, or an answer the client did not wait for).
void cache_store_answer(Worker& worker, store::ResponseCache& cache, RequestContext& ctx) {
  if (!ctx.cache_store || ctx.status != 200 || ctx.client_gone || !ctx.error_code.empty()) return;
  std::string body;
  if (ctx.cache_recorder) {
    auto complete = ctx.cache_recorder->complete();
    if (!complete) return;
    body = std::move(*complete);
  } else {
    body = std::move(ctx.cache_body);
  }
  if (body.empty()) return;
  if (!cache.redis || !worker.redis) {
    cache.local.set(ctx.cache_key, std::move(body),
                    Clock::now() + std::chrono::seconds(ctx.cache_ttl_seconds));
    cache.stats.stores.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  asio::co_spawn(
      worker.io,
      redis_cache_store(*worker.redis, cache, store::redis_cache_key(cache, ctx.cache_key),
                        std::move(body), ctx.cache_ttl_seconds),
      asio::detached);
}

void mark_cache_hit(RequestContext& ctx, const std::string& body) {
  ctx.cache_hit = true;
  ctx.status = 200;
  ctx.extra_headers.emplace_back("x-litellm-cache-key", ctx.cache_key);
  ctx.extra_headers.emplace_back("x-litellm-cache-hit", "true");
  boost::json::error_code ec;
  auto parsed = boost::json::parse(body, ec);
  if (!ec && parsed.is_object()) ctx.usage = usage_from(parsed.get_object());
}

// Serves a stored answer: as JSON, or replayed as a stream.
awaitable<void> serve_cached(ClientConnection& client, RequestContext& ctx,
                             const InboundRequest& request, const std::string& body,
                             bool keep_alive) {
  if (!request.stream) {
    co_await deliver_body(client, ctx, body, keep_alive);
    co_return;
  }
  if (!co_await begin_answer_stream(client, ctx, keep_alive)) co_return;
  for (const auto& event : store::replay_as_sse(body, request.include_usage)) {
    if (!co_await deliver_stream_bytes(client, ctx, event)) co_return;
  }
  co_await end_answer_stream(client, ctx);
}

// Looks the request up in the cache. True: answered from it.
awaitable<bool> answer_from_cache(Worker& worker, store::ResponseCache& cache,
                                  const InboundRequest& request, ClientConnection& client,
                                  RequestContext& ctx, bool keep_alive) {
  const store::CacheControls controls = store::cache_controls(request.cache_control);
  ctx.cache_key = request_cache_key(cache, request, ctx);
  if (!controls.no_cache) {
    CacheLookup found = co_await cache_lookup(worker, cache, ctx.cache_key);
    if (found.body) {
      cache.stats.hits.fetch_add(1, std::memory_order_relaxed);
      mark_cache_hit(ctx, *found.body);
      ctx.proxied = true;
      co_await serve_cached(client, ctx, request, *found.body, keep_alive);
      co_return true;
    }
    if (found.bypassed) {
      cache.stats.bypassed.fetch_add(1, std::memory_order_relaxed);
    } else {
      cache.stats.misses.fetch_add(1, std::memory_order_relaxed);
    }
  }
  ctx.extra_headers.emplace_back("x-litellm-cache-hit", "false");
  ctx.cache_store = !controls.no_store;
  ctx.cache_ttl_seconds = controls.ttl_seconds.value_or(cache.default_ttl.count());
  if (ctx.cache_store && request.stream) {
    ctx.cache_recorder = std::make_unique<store::StreamRecorder>();
  }
  co_return false;
}

}  // namespace

awaitable<void> send_error(ClientConnection& client, RequestContext& ctx, const Error& error,
                           bool keep_alive) {
  ctx.status = http_status(error);
  if (ctx.error_code.empty()) ctx.error_code = error.code.value_or(error_type(error));
  HeaderList headers = ctx.proxied ? proxied_headers(ctx) : ctx.response_headers();
  if (!ctx.proxied)
    headers.insert(headers.end(), ctx.extra_headers.begin(), ctx.extra_headers.end());
  if (!error.retry_after.empty()) headers.emplace_back("retry-after", error.retry_after);
  if (ctx.anthropic_client) {
    auto [status, body] = ctx.anthropic_client->error(error);
    ctx.status = status;
    co_await client.send(status, kJsonContentType, body, headers, keep_alive);
    co_return;
  }
  co_await client.send(ctx.status, kJsonContentType, error_body(error), headers, keep_alive);
}

awaitable<void> handle_inference(Worker& worker, const Snapshot& snapshot,
                                 Result<InboundRequest> parsed, ClientConnection& client,
                                 RequestContext& ctx, bool keep_alive) {
  if (!parsed) {
    co_await send_error(client, ctx, parsed.error(), keep_alive);
    co_return;
  }
  InboundRequest& request = *parsed;
  ctx.stream = request.stream;

  const ModelRegistry& registry = *snapshot.registry;
  const ModelGroup* group = registry.find(request.model);
  const LearnedRouting* learned = snapshot.learned_routing.get();
  // A router alias ("auto") stands for every candidate; a model_list group
  // of the same name wins over it.
  ModelGroup alias_group;
  RankedRoute ranking;
  bool ranked = false;
  if (group == nullptr && learned != nullptr && learned->is_alias(request.model)) {
    alias_group.name = request.model;
    ranked =
        co_await plan_learned_route(worker, snapshot, *learned, request, nullptr, ranking, ctx);
    if (ranked) {
      for (const auto& tier : ranking.tiers) {
        alias_group.deployments.insert(alias_group.deployments.end(), tier.begin(), tier.end());
      }
    } else {
      alias_group.deployments = learned->alias_fallback_deployments(registry);
    }
    group = &alias_group;
  } else if (group != nullptr && learned != nullptr && request.route != ApiRoute::kEmbeddings &&
             group->deployments.size() > 1) {
    ranked = co_await plan_learned_route(worker, snapshot, *learned, request, group, ranking, ctx);
  }
  if (group == nullptr) {
    co_await send_error(client, ctx,
                        Error::make(ErrorKind::kInvalidRequest,
                                    "Invalid model name passed in model=" + request.model +
                                        ". Available models: " + registry.available_names(),
                                    "model_not_found", "model"),
                        keep_alive);
    co_return;
  }
  ctx.model_group = group->name;
  // Virtual keys: model allow-list, rate limits, budget reservation.
  if (auto refused = co_await admit_inference(worker, snapshot, request, *group, ctx)) {
    co_await send_error(client, ctx, *refused, keep_alive);
    co_return;
  }
  store::ResponseCache* cache = worker.state.cache();
  if (cache != nullptr) {
    // Plain if (no co_await inside && or ?:, GCC 12).
    const bool hit = co_await answer_from_cache(worker, *cache, request, client, ctx, keep_alive);
    if (hit) {
      ctx.finished = true;
      settle_inference(worker, snapshot, ctx);  // no cost, but a spend row
      co_return;
    }
  }
  ctx.proxied = true;

  {
    ClientHangupWatch hangup_watch(client.socket(), on_client_hangup(ctx));
    ctx.hangup_watch = &hangup_watch;
    co_await route_and_answer(worker, snapshot, *group, ranked ? &ranking : nullptr, request,
                              client, ctx, keep_alive);
    ctx.hangup_watch = nullptr;
    ctx.finished = true;
  }
  if (ctx.client_gone && ctx.status == 0) {
    ctx.status = 499;  // nginx's "client closed request"
    ctx.error_code = "client_closed_request";
  }
  if (cache != nullptr) cache_store_answer(worker, *cache, ctx);
  settle_inference(worker, snapshot, ctx);  // spend row, budget settlement (queued, no I/O)
}

}  // namespace switchyard
