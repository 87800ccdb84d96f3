#pragma once
// One worker thread: its own io_context, listening socket (SO_REUSEPORT, so
// the kernel spreads connections), upstream connection pool and metrics
// shard. Nothing here is shared with other workers except GatewayState.
#include <memory>
#include <optional>

#include "core/asio.h"
#include "server/gateway_state.h"
#include "upstream/http_client.h"

namespace switchyard {

struct Worker {
  Worker(size_t index, GatewayState& state, const ServerSettings& settings);

  size_t index;
  GatewayState& state;
  asio::io_context io{1};
  std::unique_ptr<ssl::context> tls;
  std::unique_ptr<ConnectionPool> pool;
  // This worker's Redis connection; null when no Redis is configured.
  std::unique_ptr<store::RedisClient> redis;
  MetricsShard& metrics;
  std::optional<tcp::acceptor> acceptor;
  std::chrono::milliseconds client_idle_timeout;
};

// Serves one client connection until it closes (keep-alive loop).
awaitable<void> serve_connection(Worker& worker, tcp::socket socket);

}  // namespace switchyard
