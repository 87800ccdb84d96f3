#include "telemetry/log.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/format.h"
#include "core/json_escape_scan.h"

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

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  const size_t n = text.size();
  size_t plain_from = 0;
  size_t i = 0;
  while (i < n) {
    // Skip 8 plain bytes at a time (~2 instructions a byte instead of ~8:
    // the access-log line's ids and names were ~2.3k instructions a request).
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, text.data() + i, sizeof w);
      if (!word_needs_json_escape(w)) {
        i += 8;
        continue;
      }
    }
    const size_t stop = std::min(n, i + 8);
    for (; i < stop; ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      // Copy the run of plain characters in one go, then the escape.
      out.append(text.data() + plain_from, i - plain_from);
      plain_from = i + 1;
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
        default: {
          static constexpr char kHex[] = "0123456789abcdef";
          const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
          out.append(escaped, sizeof escaped);
        }
      }
    }
  }
  out.append(text.data() + plain_from, n - plain_from);
  out.push_back('"');
}

std::string json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_json_string(out, text);
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
  // Built in one reused per-thread buffer, fields appended in place.
  thread_local std::string line;
  line.clear();
  line += "{\"ts\":\"";
  append_iso8601_ms(line, std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
  line += "\",\"type\":\"access\",\"request_id\":";
  append_json_string(line, r.request_id);
  line += ",\"call_id\":";
  append_json_string(line, r.call_id);
  line += ",\"method\":";
  append_json_string(line, r.method);
  line += ",\"route\":";
  append_json_string(line, r.route);
  line += ",\"model_group\":";
  append_json_string(line, r.model_group);
  line += ",\"deployment\":";
  append_json_string(line, r.deployment);
  line += ",\"status\":";
  append_int(line, r.status);
  line += ",\"latency_ms\":";
  append_fixed3(line, r.latency_ms);
  line += ",\"overhead_ms\":";
  append_fixed3(line, r.overhead_ms);
  line += ",\"prompt_tokens\":";
  append_int(line, r.prompt_tokens);
  line += ",\"completion_tokens\":";
  append_int(line, r.completion_tokens);
  line += ",\"total_tokens\":";
  append_int(line, r.total_tokens);
  line += r.stream ? ",\"stream\":true" : ",\"stream\":false";
  if (!r.error_code.empty()) {
    line += ",\"error_code\":";
    append_json_string(line, r.error_code);
  }
  if (!r.router_model.empty()) {
    line += ",\"router_model\":";
    append_json_string(line, r.router_model);
  }
  line += "}\n";
  bool wake_writer = false;
  {
    std::lock_guard lock(mutex_);
    if (pending_.size() + line.size() > kMaxPendingBytes) {
      ++dropped_;
      return;
    }
    pending_ += line;
    // Signal the writer only when it is parked waiting for a first line. A
    // wake-up costs two context switches on the request's core (the writer
    // preempts the worker to write one line), measured at ~1 involuntary
    // switch per request under load before this.
    wake_writer = writer_waiting_;
    writer_waiting_ = false;
  }
  if (wake_writer) wake_.notify_one();
}

void AccessLog::run() {
  // After each write the writer naps for kCoalesce before looking again, so
  // under load one write() carries every line of that interval and request
  // threads never signal it; when idle it parks until the next line arrives.
  constexpr auto kCoalesce = std::chrono::milliseconds(20);
  std::string batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (pending_.empty() && !stopping_) {
        writer_waiting_ = true;
        wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
        writer_waiting_ = false;
      }
      if (pending_.empty() && stopping_) return;
      batch.swap(pending_);
    }
    write_all(STDOUT_FILENO, batch);
    batch.clear();
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, kCoalesce, [this] { return stopping_; });
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
