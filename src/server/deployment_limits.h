#pragma once
// Deployment rpm/tpm limits shared by every replica through Redis.
//
// The selector (routing/selector.h) skips a deployment at its limit using the
// larger of this replica's own count and the shared count last read. With
// Redis configured, a picked deployment that has an rpm or tpm limit is
// admitted only after one pipelined round trip that counts the request
// (INCRBY on the shared minute window) and reads the shared token total: if
// that pushed it over, the deployment is marked full for this minute and the
// caller picks again. Tokens are added to the shared window when the answer's
// usage is known. Keys: switchyard:rl:dep:{rpm,tpm}:<deployment id>:<minute>.
//
// Redis unreachable: fail open to the local counts (each replica enforces the
// limit on its own traffic) and count it in
// switchyard_deployment_usage_sync_failures_total.
#include <cstdint>

#include "core/asio.h"
#include "routing/model_registry.h"

namespace switchyard {

struct Worker;

// True when admitting needs the shared counters: Redis is configured and the
// deployment has an rpm or tpm limit.
bool needs_shared_admission(const Worker& worker, const DeploymentRuntime& deployment);

// Counts one request against the deployment's shared window and refreshes its
// shared usage. false: the deployment is at its limit for this minute (now
// marked so locally); pick another.
awaitable<bool> admit_shared(Worker& worker, const DeploymentRuntime& deployment);

// Adds an answer's tokens to the deployment's shared tpm window (in the
// background; the local count is kept by the caller).
void add_shared_tokens(Worker& worker, const DeploymentRuntime& deployment, int64_t tokens);

}  // namespace switchyard
