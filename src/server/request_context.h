#pragma once
// Per-request bookkeeping: identifiers, timing split between gateway and
// upstream, and what the access log and metrics record at the end.
#include <functional>
#include <optional>
#include <string>

#include "api/inbound.h"
#include "core/asio.h"
#include "server/client_connection.h"
#include "server/client_dialect.h"
#include "store/records.h"
#include "store/response_cache.h"
#include "store/store_service.h"

namespace switchyard {

struct RequestContext {
  Clock::time_point start = Clock::now();
  std::string request_id;
  std::string call_id;
  std::string method;
  std::string route;  // canonical, bounded set (metrics label)
  std::string model_group;
  std::string deployment_id;
  Clock::duration upstream_wait{};  // connect + waiting on the upstream
  TokenUsage usage;
  bool stream = false;
  bool proxied = false;      // reached a deployment: overhead is meaningful
  bool finished = false;     // the answer is complete (stops the disconnect watcher)
  bool client_gone = false;  // client disconnected before the answer completed
  int status = 0;
  int attempted_retries = 0;
  int attempted_fallbacks = 0;
  double first_token_ms = 0;  // upstream time to the first byte of the answer
  std::string error_code;
  // Learned routing (empty otherwise): strategy, artefact version and the
  // candidate whose deployment answered.
  std::string router_strategy;
  std::string router_version;
  std::string router_model;
  std::function<void()> on_client_gone;  // aborts the upstream exchange
  // The client-disconnect watch of the inference in progress (null outside
  // one). Anything about to wait calls watch_for_hangup() first.
  ClientHangupWatch* hangup_watch = nullptr;
  void watch_for_hangup() const {
    if (hangup_watch != nullptr) hangup_watch->arm();
  }
  // Set when the client speaks the Anthropic Messages format (/v1/messages).
  std::unique_ptr<AnthropicClientEncoder> anthropic_client;
  // Who is calling (src/server/key_auth.h): set by the edge check.
  enum class Caller { kOpen, kMaster, kVirtualKey } caller = Caller::kOpen;
  std::string key_token;                        // SHA-256 hex of the presented key; "" in open mode
  std::shared_ptr<const store::KeyRecord> key;  // virtual keys only
  // Budget reservation made before the upstream call, settled after it.
  store::Reservation reservation;
  double cost_estimate = 0;
  std::string requested_model;
  bool admitted = false;  // passed the key gate: a spend row is due
  // Headers added to the answer (or refusal): x-ratelimit-*, cache headers.
  HeaderList extra_headers;
  // Response cache (litellm_settings.cache): the key, whether this answer
  // came from the cache, and what to store once the answer is complete.
  std::string cache_key;
  bool cache_hit = false;
  bool cache_store = false;
  int64_t cache_ttl_seconds = 0;
  std::string cache_body;                                 // non-stream answer
  std::unique_ptr<store::StreamRecorder> cache_recorder;  // stream answer

  // Set when the response head is built (see response_headers()).
  mutable std::optional<double> overhead_at_head_ms;

  double overhead_ms() const {
    auto d = Clock::now() - start - upstream_wait;
    return std::chrono::duration<double, std::milli>(d).count();
  }
  // Headers every response carries.
  HeaderList response_headers() const;
};

}  // namespace switchyard
