#pragma once
// Operational logs: one JSON object per line on stderr. Access logs: one JSON
// object per request on stdout, written by a background thread so an I/O
// thread never blocks on a slow pipe. Neither ever carries API keys or
// message content: callers pass only the fields listed in each struct.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace switchyard {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);  // lets callers skip building a line nobody reads
// fields: already-JSON-encoded values keyed by name.
void log_event(LogLevel level, std::string_view message,
               std::initializer_list<std::pair<std::string_view, std::string>> fields = {});
std::string json_string(std::string_view text);                    // quoted + escaped JSON string
void append_json_string(std::string& out, std::string_view text);  // the same, appended
std::string iso8601_now();

// Views: write() formats the line before it returns, so the strings only
// have to outlive the call (copying them cost six string copies, most of
// them heap allocations, per request).
struct AccessLogRecord {
  std::string_view request_id;
  std::string_view call_id;
  std::string_view method;
  std::string_view route;
  std::string_view model_group;
  std::string_view deployment;
  int status = 0;
  double latency_ms = 0;
  double overhead_ms = 0;
  int64_t prompt_tokens = -1;  // -1: unknown
  int64_t completion_tokens = -1;
  int64_t total_tokens = -1;
  bool stream = false;
  std::string_view error_code;    // our error code or upstream error kind, never a message
  std::string_view router_model;  // learned routing: the candidate chosen
};

// Owned by main; shared by all worker threads for the process lifetime.
class AccessLog {
 public:
  explicit AccessLog(bool enabled);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void write(const AccessLogRecord& record);
  void flush_and_stop();

 private:
  void run();
  bool enabled_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string pending_;
  bool stopping_ = false;
  // True only while the writer waits for a first line; request threads
  // signal it only then (see run()).
  bool writer_waiting_ = false;
  size_t dropped_ = 0;
  std::thread writer_;
};

}  // namespace switchyard
