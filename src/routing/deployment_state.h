#pragma once
// Live, per-process state of each deployment: requests in flight, latency
// and time-to-first-token averages, this minute's usage, recent failures and
// cooldown. Keyed by deployment id and owned by GatewayState, so it outlives
// config snapshots (a reload keeps the state of deployments that remain).
// Every field is touched from all worker threads: atomics for the hot
// counters, a small mutex for the rest.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/asio.h"

namespace switchyard {

class DeploymentState {
 public:
  // In-flight tracking for least-busy.
  void begin_request() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  void end_request() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

  // Exponential moving averages in milliseconds; 0 until first measured.
  void record_latency(double total_ms, bool stream, double first_token_ms);
  double latency_ms() const;  // total latency (non-stream) or TTFT (stream) blend
  bool measured() const;

  // Usage in the current wall-clock minute, for usage-based routing and
  // rpm/tpm limits.
  void record_usage(int64_t tokens, Clock::time_point now);
  int64_t requests_this_minute(Clock::time_point now) const;
  int64_t tokens_this_minute(Clock::time_point now) const;
  void count_request(Clock::time_point now);

  // Usage of this deployment summed over every replica, as last read from
  // Redis (server/deployment_limits.h) for the wall-clock minute starting at
  // `unix_window` (unix seconds, a multiple of 60). The limit checks use the
  // larger of this and the local count, so a replica that has not asked
  // Redis yet this minute still sees its own traffic.
  void note_shared_usage(int64_t unix_window, int64_t requests, int64_t tokens);
  int64_t shared_requests(int64_t unix_window) const;
  int64_t shared_tokens(int64_t unix_window) const;

  // Failure accounting: more than `allowed_fails` failures within 60 s of the
  // first one put the deployment into cooldown for `cooldown`; a 429 does so
  // at once. The window starts at the first failure (as LiteLLM's TTL key
  // does), not at a clock minute, so two failures a second apart always count
  // together.
  // Returns true when this failure started a cooldown.
  bool record_failure(Clock::time_point now, int64_t allowed_fails,
                      std::chrono::milliseconds cooldown, bool immediate);
  void record_success();
  bool cooling_down(Clock::time_point now) const {
    return now.time_since_epoch().count() < cooldown_until_.load(std::memory_order_relaxed);
  }
  Clock::time_point cooldown_until() const {
    return Clock::time_point(Clock::duration(cooldown_until_.load(std::memory_order_relaxed)));
  }

 private:
  static int64_t minute_of(Clock::time_point now);
  // Starts a new usage window when `now` is in a later minute. mutex_ held.
  void roll_usage_minute_locked(Clock::time_point now);
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> cooldown_until_{0};  // steady_clock ticks

  mutable std::mutex mutex_;
  double latency_ewma_ms_ = 0;
  double ttft_ewma_ms_ = 0;
  bool measured_ = false;
  int64_t usage_minute_ = -1;
  int64_t minute_requests_ = 0;
  int64_t minute_tokens_ = 0;
  int64_t shared_window_ = -1;
  int64_t shared_requests_ = 0;
  int64_t shared_tokens_ = 0;
  Clock::time_point failure_window_start_{};
  int64_t window_failures_ = 0;
};

class DeploymentStates {
 public:
  // Stable pointer for the process lifetime.
  DeploymentState& get(const std::string& deployment_id);

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<DeploymentState>> states_;
};

}  // namespace switchyard
