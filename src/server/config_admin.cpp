#include "server/config_admin.h"

#include <boost/json.hpp>

#include "server/config_sync.h"
#include "server/proxy.h"

namespace switchyard {
namespace {

constexpr std::string_view kJsonContentType = "application/json";

Error not_available() {
  return Error::make(ErrorKind::kUnavailable, "Config reload is not available in this process",
                     "config_reload_unavailable");
}

// Built outside the coroutines (GCC 12 and braced initialisers, docs/development.md).
std::string reload_success_body(const ReloadReport& report, const ConfigSync& sync) {
  boost::json::array restart;
  for (const auto& s : report.diff.restart_required) restart.emplace_back(s);
  auto list = [](const std::vector<std::string>& values) {
    boost::json::array out;
    for (const auto& v : values) out.emplace_back(v);
    return out;
  };
  boost::json::object deployments;
  deployments["kept"] = list(report.diff.deployments_kept);
  deployments["added"] = list(report.diff.deployments_added);
  deployments["removed"] = list(report.diff.deployments_removed);
  deployments["changed"] = list(report.diff.deployments_changed);
  boost::json::object body;
  body["status"] = "reloaded";
  body["source"] = sync.options().source.name();
  body["location"] = sync.options().source.location();
  body["version"] = report.version;
  body["changed"] = report.changed;
  body["restart_required"] = std::move(restart);
  body["deployments"] = std::move(deployments);
  body["router"] = report.router;
  body["warnings"] = list(report.warnings);
  return boost::json::serialize(body);
}

Error reload_error(const ReloadReport& report) {
  // The first problem's key path is the OpenAI-style `param`.
  std::optional<std::string> param;
  if (!report.errors.empty()) {
    const auto colon = report.errors.front().find(": ");
    if (colon != std::string::npos) param = report.errors.front().substr(0, colon);
  }
  return Error::make(
      report.error_kind, report.error,
      std::string(report.error_kind == ErrorKind::kUnavailable ? "config_source_unavailable"
                                                               : "invalid_config"),
      param);
}

}  // namespace

awaitable<void> handle_config_reload(Worker& worker, ClientConnection& client, RequestContext& ctx,
                                     bool keep_alive) {
  ConfigSync* sync = worker.state.config_sync();
  if (sync == nullptr) {
    co_await send_error(client, ctx, not_available(), keep_alive);
    co_return;
  }
  // Fetching, parsing and loading run on the sync thread; this worker keeps serving.
  ReloadReport report = co_await sync->reload_now();
  if (!report.ok) {
    co_await send_error(client, ctx, reload_error(report), keep_alive);
    co_return;
  }
  ctx.status = 200;
  co_await client.send(200, kJsonContentType, reload_success_body(report, *sync),
                       ctx.response_headers(), keep_alive);
}

awaitable<void> handle_config_sync_status(Worker& worker, ClientConnection& client,
                                          RequestContext& ctx, bool keep_alive) {
  ConfigSync* sync = worker.state.config_sync();
  if (sync == nullptr) {
    co_await send_error(client, ctx, not_available(), keep_alive);
    co_return;
  }
  ctx.status = 200;
  co_await client.send(200, kJsonContentType, sync->status_json(), ctx.response_headers(),
                       keep_alive);
}

}  // namespace switchyard
