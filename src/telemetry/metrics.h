#pragma once
// Prometheus metrics. Each worker thread records into its own shard (a mutex
// that is only contended while /metrics is being scraped); the scrape merges
// shards. Lives as long as the server; shards are created before workers start.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchyard {

struct Histogram {
  const std::vector<double>* bounds = nullptr;  // upper bounds, seconds
  std::vector<uint64_t> counts;                 // one per bound, plus +Inf
  double sum = 0;
  uint64_t count = 0;
  void observe(double value);
  void merge(const Histogram& other);
};

// Plain labelled counters beyond the core request metrics. Each id has one
// fixed name, help text and label set (see metrics.cpp).
enum class CounterId {
  kRetries,          // switchyard_retries_total{model_group}
  kFallbacks,        // switchyard_fallbacks_total{from,to}
  kCooldowns,        // switchyard_deployment_cooldowns_total{deployment}
  kNoDeployment,     // switchyard_no_available_deployment_total{model_group}
  kRouterDecisions,  // llmrouter_routing_decisions_total{strategy,model}
  kRouterFallbacks,  // llmrouter_fallbacks_total{strategy,reason}
  kCount,
};

class MetricsShard {
 public:
  void count(CounterId id, std::initializer_list<std::string_view> label_values);
  void record_request(std::string_view route, std::string_view model_group,
                      std::string_view deployment, int status, double latency_seconds,
                      double overhead_seconds, bool has_overhead);
  void record_upstream_error(std::string_view deployment, std::string_view kind);
  // Time for one learned-routing decision (featurize + score + rank).
  void record_routing_duration(std::string_view strategy, double seconds);

 private:
  friend class Metrics;
  std::mutex mutex_;
  std::unordered_map<std::string, uint64_t> requests_;              // key: labels joined by \x1f
  std::map<std::string, Histogram, std::less<>> latency_;           // by route
  std::map<std::string, Histogram, std::less<>> overhead_;          // by route
  std::map<std::string, Histogram, std::less<>> routing_duration_;  // by strategy
  std::unordered_map<std::string, uint64_t> upstream_errors_;
  std::array<std::unordered_map<std::string, uint64_t>, static_cast<size_t>(CounterId::kCount)>
      counters_;
  std::string key_scratch_;
};

class Metrics {
 public:
  explicit Metrics(size_t shard_count);
  MetricsShard& shard(size_t index) { return *shards_[index]; }
  std::atomic<int64_t>& in_flight() { return in_flight_; }
  std::atomic<int64_t>& open_connections() { return open_connections_; }
  std::string render_prometheus();

 private:
  std::vector<std::unique_ptr<MetricsShard>> shards_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> open_connections_{0};
};

const std::vector<double>& latency_buckets();
const std::vector<double>& overhead_buckets();
const std::vector<double>& routing_decision_buckets();

}  // namespace switchyard
