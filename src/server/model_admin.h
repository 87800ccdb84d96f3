#pragma once
// Model management on the database (general_settings.store_model_in_db /
// STORE_MODEL_IN_DB), LiteLLM-compatible:
//   POST /model/new     {model_name, litellm_params, model_info?}  (master key)
//   POST /model/delete  {id}                                       (master key)
//   GET  /model/info    [?litellm_model_id=ID]   also /v1/model/info (any key;
//                       a virtual key sees only the models it may use)
// New and deleted models are applied on this replica before the answer and
// reach the other replicas with their next poll (server/db_models.h).
// Credentials are never shown.
#include <boost/json.hpp>

#include "server/gateway_state.h"
#include "server/request_context.h"
#include "server/worker.h"

namespace switchyard {

awaitable<void> handle_model_new(Worker& worker, const Snapshot& snapshot, const std::string& body,
                                 ClientConnection& client, RequestContext& ctx, bool keep_alive);
awaitable<void> handle_model_delete(Worker& worker, const Snapshot& snapshot,
                                    const std::string& body, ClientConnection& client,
                                    RequestContext& ctx, bool keep_alive);
awaitable<void> handle_model_info(const Snapshot& snapshot, std::string_view target,
                                  ClientConnection& client, RequestContext& ctx, bool keep_alive);

// One deployment as /model/info shows it: no credentials (exposed for tests).
boost::json::object public_deployment(const Deployment& deployment);

}  // namespace switchyard
