#pragma once
// Response cache (litellm_settings.cache): exact match on a normalised
// request, stored as the complete OpenAI-format answer, in process
// ("local") or in Redis ("redis", shared by replicas).
//
// Pieces:
//  - cache_key(): SHA-256 over namespace, route, model group, scope and the
//    canonical JSON of the fields that change the answer (never the prompt
//    in clear: keys are hashes);
//  - LocalCache: bounded in-process map (thread-safe, any worker);
//  - StreamRecorder: rebuilds the complete answer from a stream's chunks, so
//    a streamed answer can be stored once it finished;
//  - replay_as_sse(): a stored answer replayed as a stream.
// ResponseCache is created at startup, shared by every worker, and lives as
// long as GatewayState; Redis I/O happens on the worker's own connection.
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/inbound.h"
#include "core/asio.h"

namespace switchyard::store {

struct CacheControls {
  bool no_cache = false;  // do not answer from the cache
  bool no_store = false;  // do not store this answer
  std::optional<int64_t> ttl_seconds;
};
CacheControls cache_controls(const std::optional<boost::json::object>& cache);

// `body` is the request body after gateway fields were stripped. `scope`
// is empty for a shared cache, else what separates callers (key hash).
std::string cache_key(std::string_view name_space, ApiRoute route, std::string_view model_group,
                      std::string_view scope, const boost::json::object& body,
                      const std::optional<std::string>& mock_response);

// JSON with object keys sorted at every level: equal requests, equal text.
std::string canonical_json(const boost::json::value& value);

class LocalCache {
 public:
  explicit LocalCache(size_t max_entries = 10000, size_t max_bytes = size_t{256} << 20)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}
  std::optional<std::string> get(const std::string& key, Clock::time_point now);
  void set(const std::string& key, std::string value, Clock::time_point expires);

 private:
  struct Entry {
    std::string value;
    Clock::time_point expires;
  };
  void evict_locked();
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;  // insertion order, for eviction
  size_t bytes_ = 0;
  size_t max_entries_;
  size_t max_bytes_;
};

// Rebuilds a chat.completion (or text_completion) from the OpenAI SSE a
// stream delivered. complete() is nullopt unless the stream ended properly
// (a finish_reason on every choice) and stayed under the size bound.
class StreamRecorder {
 public:
  void feed(std::string_view sse);
  std::optional<std::string> complete() const;

 private:
  void on_event(std::string_view data);
  struct ToolCall {
    std::string id, type = "function", name, arguments;
  };
  struct Choice {
    std::string role = "assistant";
    std::string content;
    bool has_content = false;
    std::string finish_reason;
    std::vector<ToolCall> tool_calls;
  };
  std::string partial_;
  std::string id_, model_, object_, system_fingerprint_;
  int64_t created_ = 0;
  std::vector<Choice> choices_;
  std::optional<boost::json::object> usage_;
  size_t bytes_ = 0;
  bool broken_ = false;
};

// The events of a stream carrying `answer` (a stored completion), ending
// with [DONE]; a usage chunk when `include_usage`.
std::vector<std::string> replay_as_sse(const std::string& answer, bool include_usage);

struct CacheStats {
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> stores{0};
  std::atomic<uint64_t> bypassed{0};  // Redis unreachable: answered without the cache
  std::atomic<uint64_t> store_failures{0};
};

struct ResponseCache {
  bool redis = false;  // type redis (else local)
  std::string name_space;
  std::chrono::seconds default_ttl{600};
  bool per_key = false;
  LocalCache local;
  CacheStats stats;

  void render_metrics(std::string& out) const;
};

// "switchyard:cache:<namespace>:<key>" in Redis.
std::string redis_cache_key(const ResponseCache& cache, const std::string& key);

}  // namespace switchyard::store
