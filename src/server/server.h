#pragma once
// Owns the worker threads and the process lifecycle: bind, serve, and on
// SIGTERM/SIGINT drain (readiness 503, stop accepting, let in-flight requests
// finish within the grace period) and exit.
#include <memory>
#include <string>

#include "server/gateway_state.h"

namespace switchyard {

struct ServeOptions {
  std::string host;
  int port = 4000;
  size_t threads = 1;
  double drain_grace_seconds = 30;
  bool access_log = true;
  // Set when routing_strategy is llmrouter-*; already loaded once.
  std::shared_ptr<LearnedRouting> learned_routing;
};

// Blocks until shutdown; returns the process exit code.
int run_server(std::shared_ptr<DeploymentStates> states,
               const std::shared_ptr<const Snapshot>& snapshot, const ServeOptions& options);

}  // namespace switchyard
