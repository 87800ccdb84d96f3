#pragma once
// LiteLLM-compatible admin API on the store (master key only):
//   POST /key/generate, GET /key/info, POST /key/update, POST /key/delete,
//   GET /key/list, GET /spend/logs.
// Each request becomes one job on the store's DB thread; the coroutine only
// waits for the answer and sends it.
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "server/request_context.h"
#include "server/worker.h"

namespace switchyard {

struct AdminRoute {
  http::verb method;
  std::string_view label;
};
std::optional<AdminRoute> match_admin_route(std::string_view path);

// The query parameters of a request target (decoded; the last one wins).
std::map<std::string, std::string> query_params(std::string_view target);

awaitable<void> handle_admin(Worker& worker, const http::request<http::string_body>& req,
                             ClientConnection& client, RequestContext& ctx, bool keep_alive);

// What a job answers: status and JSON body.
struct AdminAnswer {
  int status = 200;
  std::string body;
};
// The job behind one admin request (exposed for tests).
AdminAnswer run_admin(store::StoreDb& db, store::StoreService* service, std::string_view label,
                      std::string_view target, const std::string& body);

}  // namespace switchyard
