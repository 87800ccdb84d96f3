#pragma once
// Learned-router admin endpoints: POST /router/reload (master key) and
// GET /router/info.
#include "server/request_context.h"
#include "server/worker.h"

namespace switchyard {

awaitable<void> handle_router_reload(Worker& worker, const Snapshot& snapshot,
                                     const std::string& body, ClientConnection& client,
                                     RequestContext& ctx, bool keep_alive);
awaitable<void> handle_router_info(Worker& worker, const Snapshot& snapshot,
                                   ClientConnection& client, RequestContext& ctx, bool keep_alive);

}  // namespace switchyard
