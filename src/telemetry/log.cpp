#include "telemetry/log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/format.h"

namespace switchyard {
namespace {
std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_stderr_mutex;
// Bound on buffered access-log bytes; past it lines are counted and dropped
// rather than letting a stuck stdout grow memory without limit.
constexpr size_t kMaxPendingBytes = size_t{8} * 1024 * 1024;

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}
}  // namespace

void set_log_level(LogLevel level) { g_min_level = static_cast<int>(level); }
bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_min_level.load(); }

std::string json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string iso8601_now() {
  std::string out;
  out.reserve(24);
  append_iso8601_ms(out, std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count());
  return out;
}

void log_event(LogLevel level, std::string_view message,
               std::initializer_list<std::pair<std::string_view, std::string>> fields) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  std::string line = "{\"ts\":\"" + iso8601_now() + "\",\"level\":\"" + level_name(level) +
                     "\",\"msg\":" + json_string(message);
  for (const auto& [key, value] : fields) {
    line += ",\"";
    line += key;
    line += "\":";
    line += value;
  }
  line += "}\n";
  std::lock_guard lock(g_stderr_mutex);
  write_all(STDERR_FILENO, line);
}

AccessLog::AccessLog(bool enabled) : enabled_(enabled) {
  if (enabled_) writer_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() { flush_and_stop(); }

void AccessLog::write(const AccessLogRecord& r) {
  if (!enabled_) return;
  std::string numbers;
  numbers.reserve(160);
  numbers += ",\"status\":";
  append_int(numbers, r.status);
  numbers += ",\"latency_ms\":";
  append_fixed3(numbers, r.latency_ms);
  numbers += ",\"overhead_ms\":";
  append_fixed3(numbers, r.overhead_ms);
  numbers += ",\"prompt_tokens\":";
  append_int(numbers, r.prompt_tokens);
  numbers += ",\"completion_tokens\":";
  append_int(numbers, r.completion_tokens);
  numbers += ",\"total_tokens\":";
  append_int(numbers, r.total_tokens);
  numbers += r.stream ? ",\"stream\":true" : ",\"stream\":false";
  std::string line;
  line.reserve(320);
  line += "{\"ts\":\"" + iso8601_now() + "\",\"type\":\"access\",\"request_id\":";
  line += json_string(r.request_id);
  line += ",\"call_id\":" + json_string(r.call_id);
  line += ",\"method\":" + json_string(r.method);
  line += ",\"route\":" + json_string(r.route);
  line += ",\"model_group\":" + json_string(r.model_group);
  line += ",\"deployment\":" + json_string(r.deployment);
  line += numbers;
  if (!r.error_code.empty()) line += ",\"error_code\":" + json_string(r.error_code);
  if (!r.router_model.empty()) line += ",\"router_model\":" + json_string(r.router_model);
  line += "}\n";
  bool writer_idle = false;
  {
    std::lock_guard lock(mutex_);
    if (pending_.size() + line.size() > kMaxPendingBytes) {
      ++dropped_;
      return;
    }
    // The writer sleeps only on an empty buffer: wake it for the first line
    // of a batch, not for every line (each wake-up is two context switches
    // on the request path, measured at 13-24 us a request).
    writer_idle = pending_.empty();
    pending_ += line;
  }
  if (writer_idle) wake_.notify_one();
}

void AccessLog::run() {
  std::string batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty() && stopping_) return;
      batch.swap(pending_);
    }
    write_all(STDOUT_FILENO, batch);
    batch.clear();
  }
}

void AccessLog::flush_and_stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) writer_.join();
  if (dropped_ > 0) {
    log_event(LogLevel::kWarning, "access log lines dropped (stdout too slow)",
              {{"dropped", std::to_string(dropped_)}});
  }
}

}  // namespace switchyard
