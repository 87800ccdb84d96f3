#include "server/proxy.h"

#include <boost/json.hpp>
#include <cstdio>

#include "api/sse.h"
#include "providers/mock.h"
#include "providers/openai_compatible.h"

namespace switchyard {
namespace {

using namespace asio::experimental::awaitable_operators;

constexpr std::string_view kJsonContentType = "application/json";

// Upper bound on a buffered (non-streaming) upstream response.
constexpr size_t kMaxUpstreamBody = size_t{64} * 1024 * 1024;

HeaderList proxied_headers(const RequestContext& ctx) {
  HeaderList headers = ctx.response_headers();
  headers.emplace_back("x-litellm-model-id", ctx.deployment_id);
  headers.emplace_back("x-litellm-model-group", ctx.model_group);
  return headers;
}

// Turns an upstream HTTP error into our Error, keeping the upstream's own
// OpenAI-shaped body when it has one.
Error upstream_status_error(int status, const std::string& body, const std::string& retry_after) {
  Error error;
  error.kind = ErrorKind::kUpstreamStatus;
  error.upstream_status = status;
  error.retry_after = retry_after;
  error.code = "upstream_status_" + std::to_string(status);
  boost::json::error_code ec;
  auto parsed = boost::json::parse(body, ec);
  if (!ec && parsed.is_object()) {
    const auto& obj = parsed.as_object();
    if (auto* inner = obj.if_contains("error"); inner && inner->is_object()) {
      const auto& e = inner->as_object();
      if (auto* msg = e.if_contains("message"); msg && msg->is_string()) {
        // Normalise to exactly {"error":{message,type,param,code}}.
        boost::json::object out_inner;
        out_inner["message"] = msg->get_string();
        auto* type = e.if_contains("type");
        out_inner["type"] = type && type->is_string() ? *type : boost::json::value(error_type(error));
        auto* param = e.if_contains("param");
        out_inner["param"] = param ? *param : boost::json::value(nullptr);
        auto* code = e.if_contains("code");
        out_inner["code"] = code ? *code : boost::json::value(nullptr);
        error.message = std::string(msg->get_string());
        error.upstream_body_error = boost::json::serialize(boost::json::object{{"error", out_inner}});
        return error;
      }
      error.message = "Upstream returned HTTP " + std::to_string(status);
      return error;
    }
    // vLLM-style {"object":"error","message":...}
    if (auto* msg = obj.if_contains("message"); msg && msg->is_string()) {
      error.message = std::string(msg->get_string());
      return error;
    }
    if (auto* msg = obj.if_contains("error"); msg && msg->is_string()) {
      error.message = std::string(msg->get_string());
      return error;
    }
  }
  error.message = "Upstream returned HTTP " + std::to_string(status);
  return error;
}

Error failure_error(UpstreamFailure failure, const DeploymentRuntime& d, bool streaming) {
  const std::string where = " (deployment " + d.id() + ")";
  switch (failure) {
    case UpstreamFailure::kTimeout:
      return Error::make(ErrorKind::kUpstreamTimeout,
                         std::string(streaming ? "Upstream stream timed out" :
                                                 "Upstream request timed out") + where,
                         "upstream_timeout");
    case UpstreamFailure::kConnect:
      return Error::make(ErrorKind::kUpstreamUnreachable, "Cannot connect to upstream" + where,
                         "upstream_unreachable");
    case UpstreamFailure::kReset:
      return Error::make(ErrorKind::kUpstreamUnreachable,
                         "Upstream closed the connection before completing the response" + where,
                         "upstream_unreachable");
    case UpstreamFailure::kInvalid:
      return Error::make(ErrorKind::kUpstreamInvalid,
                         "Upstream sent a response that is not valid HTTP" + where,
                         "upstream_invalid_response");
    case UpstreamFailure::kCancelled:
    case UpstreamFailure::kNone:
      break;
  }
  return Error::make(ErrorKind::kInternal, "Upstream exchange aborted" + where, "cancelled");
}

awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(use_nothrow);
}

// --- mock provider ---------------------------------------------------------

awaitable<void> answer_with_mock(const DeploymentRuntime& deployment, InboundRequest& request,
                                 ClientConnection& client, RequestContext& ctx, bool keep_alive) {
  const LitellmParams& params = deployment.config->params;
  const auto upstream_start = Clock::now();
  if (params.mock_latency_ms > 0) {
    co_await sleep_for(std::chrono::milliseconds(params.mock_latency_ms));
  }
  std::optional<std::string> content = request.mock_response;
  if (!content) content = params.mock_response;
  MockAnswer answer =
      mock_answer(request, params.model_id, content, params.mock_stream_chunks, ctx.call_id);
  ctx.usage = answer.usage;
  ctx.upstream_wait += Clock::now() - upstream_start;
  ctx.status = 200;
  if (!request.stream) {
    co_await client.send(200, kJsonContentType, answer.body, proxied_headers(ctx), keep_alive);
    co_return;
  }
  if (!co_await client.begin_stream(200, proxied_headers(ctx), keep_alive)) co_return;
  for (size_t i = 0; i < answer.events.size(); ++i) {
    if (i > 0 && params.mock_chunk_interval_ms > 0) {
      const auto pause_start = Clock::now();
      co_await sleep_for(std::chrono::milliseconds(params.mock_chunk_interval_ms));
      ctx.upstream_wait += Clock::now() - pause_start;
    }
    if (!co_await client.stream_chunk(answer.events[i])) co_return;
  }
  co_await client.end_stream();
}

// --- OpenAI-compatible upstream ---------------------------------------------

awaitable<void> answer_from_upstream(Worker& worker, const DeploymentRuntime& deployment,
                                     InboundRequest& request, ClientConnection& client,
                                     RequestContext& ctx, bool keep_alive) {
  UpstreamRequest upstream_request = build_openai_request(deployment, request);
  UpstreamCall call(*worker.pool, deployment.endpoint);
  ctx.on_client_gone = [&call] { call.cancel(); };

  const auto upstream_start = Clock::now();
  const auto total_deadline = upstream_start + deployment.timeout;
  const auto first_byte_deadline =
      request.stream ? std::min(total_deadline, upstream_start + deployment.stream_timeout)
                     : total_deadline;
  auto record_failure = [&](UpstreamFailure failure) {
    worker.metrics.record_upstream_error(deployment.id(), upstream_failure_name(failure));
  };

  UpstreamFailure failure = co_await call.start(upstream_request, first_byte_deadline);
  if (failure != UpstreamFailure::kNone) {
    ctx.upstream_wait += Clock::now() - upstream_start;
    if (failure == UpstreamFailure::kCancelled) co_return;  // client left
    record_failure(failure);
    co_await send_error(client, ctx, failure_error(failure, deployment, false), keep_alive);
    co_return;
  }

  const int status = call.status();
  const bool event_stream = call.header("content-type").find("text/event-stream") !=
                            std::string::npos;
  if (status != 200 || !request.stream || !event_stream) {
    std::string body;
    failure = co_await call.read_all(body, total_deadline, kMaxUpstreamBody);
    ctx.upstream_wait += Clock::now() - upstream_start;
    if (failure != UpstreamFailure::kNone) {
      if (failure == UpstreamFailure::kCancelled) co_return;
      record_failure(failure);
      co_await send_error(client, ctx, failure_error(failure, deployment, false), keep_alive);
      co_return;
    }
    call.finish();
    if (status < 200 || status >= 300) {
      worker.metrics.record_upstream_error(
          deployment.id(), status == 429 ? "status_429" : (status >= 500 ? "status_5xx" : "status_4xx"));
      co_await send_error(client, ctx,
                          upstream_status_error(status, body, call.header("retry-after")),
                          keep_alive);
      co_return;
    }
    boost::json::error_code ec;
    auto parsed = boost::json::parse(body, ec);
    if (ec || !parsed.is_object()) {
      record_failure(UpstreamFailure::kInvalid);
      co_await send_error(client, ctx,
                          Error::make(ErrorKind::kUpstreamInvalid,
                                      "Upstream returned a body that is not a JSON object "
                                      "(deployment " + deployment.id() + ")",
                                      "upstream_invalid_response"),
                          keep_alive);
      co_return;
    }
    ctx.usage = usage_from(parsed.as_object());
    ctx.status = status;
    // The upstream's bytes go back unchanged: nothing to re-serialize.
    co_await client.send(status, kJsonContentType, body, proxied_headers(ctx), keep_alive);
    co_return;
  }

  // Streaming: forward every piece as soon as it arrives.
  ctx.upstream_wait += Clock::now() - upstream_start;
  ctx.status = 200;
  if (!co_await client.begin_stream(200, proxied_headers(ctx), keep_alive)) {
    call.cancel();
    co_return;
  }
  SseObserver observer;
  std::string piece;
  bool first_piece = true;
  while (!call.body_done()) {
    piece.clear();
    const auto wait_start = Clock::now();
    // Before the first byte: stream_timeout; afterwards each gap may last
    // up to the deployment timeout.
    const auto deadline = first_piece ? first_byte_deadline : Clock::now() + deployment.timeout;
    failure = co_await call.read_some(piece, deadline);
    ctx.upstream_wait += Clock::now() - wait_start;
    if (failure != UpstreamFailure::kNone) {
      if (failure == UpstreamFailure::kCancelled) co_return;
      record_failure(failure);
      worker.metrics.record_upstream_error(deployment.id(), "stream_interrupted");
      Error error = failure_error(failure, deployment, true);
      error.message = "Upstream stream interrupted: " + error.message;
      ctx.error_code = error.code.value_or("");
      // Tell the client in-band, then end the response so it never hangs.
      if (co_await client.stream_chunk(sse_event(error_body(error)))) {
        co_await client.end_stream();
      }
      ctx.usage = observer.usage();
      co_return;
    }
    first_piece = false;
    observer.feed(piece);
    if (!co_await client.stream_chunk(piece)) {
      call.cancel();  // client went away: stop the upstream generating
      ctx.client_gone = true;
      co_return;
    }
  }
  call.finish();
  ctx.usage = observer.usage();
  co_await client.end_stream();
}

awaitable<void> dispatch(Worker& worker, const DeploymentRuntime& deployment,
                         InboundRequest& request, ClientConnection& client, RequestContext& ctx,
                         bool keep_alive) {
  if (request.mock_response || deployment.kind == ProviderKind::kMock) {
    co_await answer_with_mock(deployment, request, client, ctx, keep_alive);
  } else {
    co_await answer_from_upstream(worker, deployment, request, client, ctx, keep_alive);
  }
  ctx.finished = true;
}

// Resolves when the client disconnects before the answer is complete, and
// aborts the upstream exchange right away.
awaitable<void> watch_client(ClientConnection& client, RequestContext& ctx) {
  co_await wait_for_client_close(client.socket());
  if (!ctx.finished) {
    ctx.client_gone = true;
    if (ctx.on_client_gone) ctx.on_client_gone();
  }
}

}  // namespace

awaitable<void> send_error(ClientConnection& client, RequestContext& ctx, const Error& error,
                           bool keep_alive) {
  ctx.status = http_status(error);
  if (ctx.error_code.empty()) ctx.error_code = error.code.value_or(error_type(error));
  HeaderList headers = ctx.proxied ? proxied_headers(ctx) : ctx.response_headers();
  if (!error.retry_after.empty()) headers.emplace_back("retry-after", error.retry_after);
  co_await client.send(ctx.status, kJsonContentType, error_body(error), headers, keep_alive);
}

awaitable<void> handle_inference(Worker& worker, const Snapshot& snapshot, ApiRoute route,
                                 std::string_view body, ClientConnection& client,
                                 RequestContext& ctx, bool keep_alive) {
  auto parsed = parse_inbound(route, body);
  if (!parsed) {
    co_await send_error(client, ctx, parsed.error(), keep_alive);
    co_return;
  }
  InboundRequest& request = *parsed;
  ctx.stream = request.stream;

  const ModelRegistry& registry = *snapshot.registry;
  const ModelGroup* group = registry.find(request.model);
  if (group == nullptr) {
    co_await send_error(client, ctx,
                        Error::make(ErrorKind::kInvalidRequest,
                                    "Invalid model name passed in model=" + request.model +
                                        ". Available models: " + registry.available_names(),
                                    "model_not_found", "model"),
                        keep_alive);
    co_return;
  }
  const DeploymentRuntime* deployment = registry.pick(*group);
  ctx.model_group = group->name;
  ctx.deployment_id = deployment->id();
  ctx.proxied = true;
  if (!deployment->usable() && !request.mock_response) {
    co_await send_error(client, ctx,
                        Error::make(ErrorKind::kNotImplemented, deployment->unavailable_reason,
                                    "provider_not_supported"),
                        keep_alive);
    co_return;
  }

  // Race the answer against the client hanging up; whichever ends first
  // stops the other.
  co_await (dispatch(worker, *deployment, request, client, ctx, keep_alive) ||
            watch_client(client, ctx));
  if (ctx.client_gone && ctx.status == 0) {
    ctx.status = 499;  // nginx's "client closed request"
    ctx.error_code = "client_closed_request";
  }
}

}  // namespace switchyard
