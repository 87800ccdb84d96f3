#pragma once
// Who may call: the master key, a virtual key from the store, or anyone in
// open mode (no master key). And, for virtual keys, what they may do per
// request: model allow-list, RPM/TPM limits, budget (reserve an estimate
// before the upstream call, settle the actual cost after).
#include <optional>

#include "server/request_context.h"
#include "server/worker.h"

namespace switchyard {

// Edge check for every authenticated route. Fills ctx.caller / key_token /
// key; on refusal returns the error to send (401 unknown/expired key or
// missing key, 403 blocked key or a virtual key on an admin route, 503
// store unreachable for a key it has never seen).
awaitable<std::optional<Error>> authenticate(Worker& worker, const Snapshot& snapshot,
                                             std::string_view authorization,
                                             std::string_view x_api_key, bool admin_route,
                                             RequestContext& ctx);

// Before routing an inference request (model group known).
awaitable<std::optional<Error>> admit_inference(Worker& worker, const Snapshot& snapshot,
                                                const InboundRequest& request,
                                                const ModelGroup& group, RequestContext& ctx);

// After the answer: cost from usage x price, spend row, budget settlement.
void settle_inference(Worker& worker, const Snapshot& snapshot, RequestContext& ctx);

// Cost of a request in USD from its usage and the deployment's prices
// (config input/output_cost_per_token, else the built-in price table).
double request_cost(const DeploymentRuntime* deployment, const TokenUsage& usage);
// Upper estimate reserved against a budget: body size / 4 prompt tokens and
// max_tokens (else 256) completion tokens at the dearest deployment's price.
double estimate_cost(const InboundRequest& request, const ModelGroup& group);

}  // namespace switchyard
