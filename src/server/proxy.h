#pragma once
// The inference pipeline for /v1/chat/completions, /v1/completions and
// /v1/embeddings: parse → resolve model group → pick deployment → provider
// (mock or OpenAI-compatible upstream) → answer (whole or streamed).
#include <string_view>

#include "server/request_context.h"
#include "server/worker.h"

namespace switchyard {

// `parsed` is the request already parsed (OpenAI format); a parse error is
// answered as is.
awaitable<void> handle_inference(Worker& worker, const Snapshot& snapshot,
                                 Result<InboundRequest> parsed, ClientConnection& client,
                                 RequestContext& ctx, bool keep_alive);

// Sends an OpenAI-shaped error and records it in ctx.
awaitable<void> send_error(ClientConnection& client, RequestContext& ctx, const Error& error,
                           bool keep_alive);

}  // namespace switchyard
