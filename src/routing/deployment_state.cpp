#include "routing/deployment_state.h"

#include <algorithm>

namespace switchyard {
namespace {
// Weight of the newest sample in the moving averages: recent enough to
// notice a slow deployment within a few requests, smooth enough to ignore
// one outlier.
constexpr double kEwmaAlpha = 0.3;

double ewma(double current, double sample, bool first) {
  return first ? sample : current + kEwmaAlpha * (sample - current);
}
}  // namespace

int64_t DeploymentState::minute_of(Clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count();
}

void DeploymentState::record_latency(double total_ms, bool stream, double first_token_ms) {
  std::lock_guard lock(mutex_);
  const bool first = !measured_;
  // For streams the time to first token is what a user waits for; total time
  // depends on answer length, not on the deployment.
  latency_ewma_ms_ = ewma(latency_ewma_ms_, stream ? first_token_ms : total_ms, first);
  if (stream) ttft_ewma_ms_ = ewma(ttft_ewma_ms_, first_token_ms, ttft_ewma_ms_ == 0);
  measured_ = true;
}

double DeploymentState::latency_ms() const {
  std::lock_guard lock(mutex_);
  return latency_ewma_ms_;
}

bool DeploymentState::measured() const {
  std::lock_guard lock(mutex_);
  return measured_;
}

void DeploymentState::roll_usage_minute_locked(Clock::time_point now) {
  const int64_t minute = minute_of(now);
  if (minute != usage_minute_) {
    usage_minute_ = minute;
    minute_requests_ = 0;
    minute_tokens_ = 0;
  }
}

void DeploymentState::count_request(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  roll_usage_minute_locked(now);
  ++minute_requests_;
}

void DeploymentState::record_usage(int64_t tokens, Clock::time_point now) {
  if (tokens <= 0) return;
  std::lock_guard lock(mutex_);
  roll_usage_minute_locked(now);
  minute_tokens_ += tokens;
}

int64_t DeploymentState::requests_this_minute(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  return usage_minute_ == minute_of(now) ? minute_requests_ : 0;
}

int64_t DeploymentState::tokens_this_minute(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  return usage_minute_ == minute_of(now) ? minute_tokens_ : 0;
}

void DeploymentState::note_shared_usage(int64_t unix_window, int64_t requests, int64_t tokens) {
  std::lock_guard lock(mutex_);
  if (unix_window < shared_window_) return;  // a late answer about an older minute
  if (unix_window > shared_window_) {
    shared_window_ = unix_window;
    shared_requests_ = 0;
    shared_tokens_ = 0;
  }
  // Answers can arrive out of order; the counters only grow within a minute.
  shared_requests_ = std::max(shared_requests_, requests);
  shared_tokens_ = std::max(shared_tokens_, tokens);
}

int64_t DeploymentState::shared_requests(int64_t unix_window) const {
  std::lock_guard lock(mutex_);
  return shared_window_ == unix_window ? shared_requests_ : 0;
}

int64_t DeploymentState::shared_tokens(int64_t unix_window) const {
  std::lock_guard lock(mutex_);
  return shared_window_ == unix_window ? shared_tokens_ : 0;
}

bool DeploymentState::record_failure(Clock::time_point now, int64_t allowed_fails,
                                     std::chrono::milliseconds cooldown, bool immediate) {
  std::lock_guard lock(mutex_);
  if (window_failures_ == 0 || now - failure_window_start_ >= std::chrono::minutes(1)) {
    failure_window_start_ = now;
    window_failures_ = 0;
  }
  ++window_failures_;
  if (!immediate && window_failures_ <= allowed_fails) return false;
  window_failures_ = 0;
  const int64_t until = (now + cooldown).time_since_epoch().count();
  int64_t current = cooldown_until_.load(std::memory_order_relaxed);
  if (until <= current) return false;
  cooldown_until_.store(until, std::memory_order_relaxed);
  return true;
}

void DeploymentState::record_success() {
  std::lock_guard lock(mutex_);
  window_failures_ = 0;
}

DeploymentState& DeploymentStates::get(const std::string& deployment_id) {
  std::lock_guard lock(mutex_);
  auto& slot = states_[deployment_id];
  if (!slot) slot = std::make_unique<DeploymentState>();
  return *slot;
}

}  // namespace switchyard
