#pragma once
// Config lifecycle endpoints: POST /config/reload and GET
// /config/sync/status (both master key only). See server/config_sync.h.
#include "server/request_context.h"
#include "server/worker.h"

namespace switchyard {

awaitable<void> handle_config_reload(Worker& worker, ClientConnection& client, RequestContext& ctx,
                                     bool keep_alive);
awaitable<void> handle_config_sync_status(Worker& worker, ClientConnection& client,
                                          RequestContext& ctx, bool keep_alive);

}  // namespace switchyard
