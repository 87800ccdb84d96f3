#pragma once
// Owns the worker threads and the process lifecycle: bind, serve, and on
// SIGTERM/SIGINT drain (readiness 503, stop accepting, let in-flight requests
// finish within the grace period) and exit.
#include <memory>
#include <string>

#include "server/config_sync.h"
#include "server/db_models.h"
#include "server/gateway_state.h"
#include "store/store_service.h"

namespace switchyard {

struct ServeOptions {
  std::string host;
  int port = 4000;
  size_t threads = 1;
  double drain_grace_seconds = 30;
  bool access_log = true;
  // Config reload / object-storage sync; started with the workers, stopped
  // when draining begins. Optional.
  std::shared_ptr<ConfigSync> config_sync;
  std::shared_ptr<store::StoreService> store;  // optional
  // store_model_in_db: read once before listening, then polled. Optional.
  std::shared_ptr<DbModelSync> db_models;
};

// Blocks until shutdown; returns the process exit code.
int run_server(std::shared_ptr<DeploymentStates> states,
               const std::shared_ptr<const Snapshot>& snapshot, const ServeOptions& options);

}  // namespace switchyard
