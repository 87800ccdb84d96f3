#include "server/server.h"

#include <csignal>
#include <thread>
#include <vector>

#include "server/worker.h"
#include "telemetry/log.h"

namespace switchyard {
namespace {

void log_exception(const std::exception_ptr& error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    log_event(LogLevel::kError, "connection handler failed", {{"error", json_string(e.what())}});
  } catch (...) {
    log_event(LogLevel::kError, "connection handler failed");
  }
}

awaitable<void> accept_loop(Worker& worker) {
  for (;;) {
    auto [ec, socket] = co_await worker.acceptor->async_accept(use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !worker.acceptor->is_open()) co_return;
      // Out of descriptors or similar: back off briefly instead of spinning.
      asio::steady_timer pause(worker.io, std::chrono::milliseconds(20));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    asio::co_spawn(worker.io, serve_connection(worker, std::move(socket)), log_exception);
  }
}

bool open_acceptor(Worker& worker, const tcp::endpoint& endpoint, error_code& ec) {
  worker.acceptor.emplace(worker.io);
  auto& acceptor = *worker.acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return false;
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  // One listening socket per worker; the kernel balances new connections.
  int one = 1;
  ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  acceptor.bind(endpoint, ec);
  if (ec) return false;
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  return !ec;
}

}  // namespace

int run_server(std::shared_ptr<DeploymentStates> states,
               const std::shared_ptr<const Snapshot>& snapshot, const ServeOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  const size_t thread_count = std::max<size_t>(1, options.threads);
  GatewayState state(std::move(states), snapshot, thread_count, options.access_log);
  const ServerSettings& settings = snapshot->config->server;
  state.set_store(options.store);
  if (auto redis_at = store::redis_options(*snapshot->config, process_env());
      redis_at.configured()) {
    auto redis = std::make_shared<store::RedisShared>();
    redis->options = std::move(redis_at);
    redis->fail_closed = settings.redis_fail_closed;
    log_event(LogLevel::kInfo, "redis configured",
              {{"host", json_string(redis->options.host)},
               {"port", std::to_string(redis->options.port)},
               {"fail_closed", redis->fail_closed ? "true" : "false"}});
    state.set_redis(std::move(redis));
  }
  const Config& cfg = *snapshot->config;
  if (cfg.litellm_settings.cache || cfg.router_settings.cache_responses) {
    const auto& params = cfg.litellm_settings.cache_params;
    auto cache = std::make_shared<store::ResponseCache>();
    cache->redis = params.type == "redis" && state.redis() != nullptr;
    if (params.type == "redis" && state.redis() == nullptr) {
      log_event(LogLevel::kWarning,
                "cache_params.type is redis but no Redis host is configured; caching in process");
    }
    cache->name_space = params.namespace_;
    if (params.ttl && *params.ttl >= 1) {
      cache->default_ttl = std::chrono::seconds(static_cast<int64_t>(*params.ttl));
    }
    cache->per_key = settings.cache_scope == "key";
    log_event(LogLevel::kInfo, "response cache on",
              {{"type", json_string(cache->redis ? "redis" : "local")},
               {"ttl_seconds", std::to_string(cache->default_ttl.count())},
               {"scope", json_string(settings.cache_scope)}});
    state.set_cache(std::move(cache));
  }

  error_code ec;
  auto address =
      asio::ip::make_address(options.host == "localhost" ? "127.0.0.1" : options.host, ec);
  if (ec) {
    log_event(LogLevel::kError, "invalid listen address", {{"address", json_string(options.host)}});
    return 2;
  }
  std::vector<std::unique_ptr<Worker>> workers;
  tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  for (size_t i = 0; i < thread_count; ++i) {
    workers.push_back(std::make_unique<Worker>(i, state, settings));
    if (!open_acceptor(*workers.back(), endpoint, ec)) {
      log_event(LogLevel::kError, "cannot listen",
                {{"address", json_string(options.host)},
                 {"port", std::to_string(endpoint.port())},
                 {"error", json_string(ec.message())}});
      return 2;
    }
    // With port 0 the first bind picks the port; the others share it.
    if (i == 0) endpoint.port(workers[0]->acceptor->local_endpoint().port());
  }

  if (options.db_models) {
    // The first read is synchronous: DB models serve from the first request.
    state.set_db_models(options.db_models.get());
    options.db_models->start(state);
  }
  if (options.config_sync) {
    state.set_config_sync(options.config_sync.get());
    options.config_sync->start(state);
  }
  for (auto& worker : workers) asio::co_spawn(worker->io, accept_loop(*worker), log_exception);
  std::vector<std::thread> threads;
  threads.reserve(workers.size());
  for (auto& worker : workers) {
    threads.emplace_back([&w = *worker] {
      auto guard = asio::make_work_guard(w.io);
      w.io.run();
    });
  }
  log_event(LogLevel::kInfo, "listening",
            {{"address", json_string(endpoint.address().to_string())},
             {"port", std::to_string(endpoint.port())},
             {"threads", std::to_string(thread_count)},
             {"version", json_string(SWITCHYARD_VERSION)}});

  // The main thread only waits for a signal, then drains.
  asio::io_context control;
  asio::signal_set signals(control, SIGTERM, SIGINT);
  int received = 0;
  signals.async_wait([&](const error_code&, int signal_number) { received = signal_number; });
  control.run();

  state.start_draining();
  // No config swaps while draining.
  if (options.config_sync) options.config_sync->stop();
  if (options.db_models) options.db_models->stop();
  log_event(LogLevel::kInfo, "draining",
            {{"signal", std::to_string(received)},
             {"in_flight", std::to_string(state.metrics().in_flight().load())},
             {"grace_seconds", std::to_string(options.drain_grace_seconds)}});
  // The listeners stay open until the process stops: new connections get
  // readiness 503 (and 503 for work) instead of a refused connection, so
  // probes and load balancers see the drain rather than a crash.
  const auto deadline =
      Clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(options.drain_grace_seconds * 1000));
  while (state.metrics().in_flight().load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const int64_t abandoned = state.metrics().in_flight().load();
  for (auto& worker : workers) worker->io.stop();
  for (auto& thread : threads) thread.join();
  workers.clear();
  state.access_log().flush_and_stop();
  if (auto* store = state.store()) {
    // Buffered spend rows get a last chance to reach the database.
    store->shutdown(std::chrono::seconds(5));
  }
  log_event(abandoned > 0 ? LogLevel::kWarning : LogLevel::kInfo, "stopped",
            {{"abandoned_requests", std::to_string(abandoned)}});
  return 0;
}

}  // namespace switchyard
