#include "telemetry/metrics.h"

#include <algorithm>
#include <cstdio>

#include "telemetry/prometheus_text.h"

namespace switchyard {

const std::vector<double>& latency_buckets() {
  static const std::vector<double> kBounds = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                              1,     2.5,   5,    10,    30,   60,  120,  300};
  return kBounds;
}

const std::vector<double>& overhead_buckets() {
  static const std::vector<double> kBounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                              0.005,   0.01,   0.025,   0.05,   0.1,   0.25};
  return kBounds;
}

const std::vector<double>& routing_decision_buckets() {
  static const std::vector<double> kBounds = {0.000005, 0.00001, 0.000025, 0.00005, 0.0001,
                                              0.00025,  0.0005,  0.001,    0.0025,  0.01};
  return kBounds;
}

void Histogram::observe(double value) {
  if (counts.empty()) counts.assign(bounds->size() + 1, 0);
  auto it = std::lower_bound(bounds->begin(), bounds->end(), value);
  ++counts[static_cast<size_t>(it - bounds->begin())];
  sum += value;
  ++count;
}

void Histogram::merge(const Histogram& other) {
  if (other.counts.empty()) return;
  if (counts.empty()) counts.assign(other.counts.size(), 0);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
  sum += other.sum;
  count += other.count;
}

namespace {
constexpr char kSep = '\x1f';

Histogram& histogram_for(std::map<std::string, Histogram, std::less<>>& map, std::string_view key,
                         const std::vector<double>& bounds) {
  auto it = map.find(key);
  if (it == map.end()) {
    it = map.emplace(std::string(key), Histogram{}).first;
    it->second.bounds = &bounds;
  }
  return it->second;
}

std::string escape_label(std::string_view value) { return escape_prometheus_label(value); }

std::vector<std::string_view> split_key(std::string_view key) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t pos = key.find(kSep, start);
    parts.push_back(key.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

std::string format_double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void render_histograms(std::string& out, const char* name, const char* help,
                       const std::map<std::string, Histogram, std::less<>>& hists,
                       const char* label_name = "route") {
  append_prometheus_family(out, name, help, "histogram");
  for (const auto& [route, h] : hists) {
    const std::string label = std::string(label_name) + "=\"" + escape_label(route) + "\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.bounds->size(); ++i) {
      cumulative += h.counts[i];
      out += std::string(name) + "_bucket{" + label + ",le=\"" + format_double((*h.bounds)[i]) +
             "\"} " + std::to_string(cumulative) + "\n";
    }
    cumulative += h.counts.back();
    out += std::string(name) + "_bucket{" + label + ",le=\"+Inf\"} " + std::to_string(cumulative) +
           "\n";
    out += std::string(name) + "_sum{" + label + "} " + format_double(h.sum) + "\n";
    out += std::string(name) + "_count{" + label + "} " + std::to_string(h.count) + "\n";
  }
}
}  // namespace

void MetricsShard::record_request(std::string_view route, std::string_view model_group,
                                  std::string_view deployment, int status, double latency_seconds,
                                  double overhead_seconds, bool has_overhead) {
  std::lock_guard lock(mutex_);
  key_scratch_.clear();
  key_scratch_.append(route).push_back(kSep);
  key_scratch_.append(model_group).push_back(kSep);
  key_scratch_.append(deployment).push_back(kSep);
  key_scratch_.append(std::to_string(status));
  ++requests_[key_scratch_];
  histogram_for(latency_, route, latency_buckets()).observe(latency_seconds);
  if (has_overhead) histogram_for(overhead_, route, overhead_buckets()).observe(overhead_seconds);
}

namespace {
struct CounterSpec {
  const char* name;
  const char* help;
  std::initializer_list<const char*> labels;
};
const CounterSpec& counter_spec(CounterId id) {
  static const CounterSpec kSpecs[] = {
      {"switchyard_retries_total",
       "Retries of a failed upstream attempt, by model group.",
       {"model_group"}},
      {"switchyard_fallbacks_total", "Requests moved to a fallback model group.", {"from", "to"}},
      {"switchyard_deployment_cooldowns_total",
       "Times a deployment was put into cooldown (allowed_fails exceeded, or 429).",
       {"deployment"}},
      {"switchyard_no_available_deployment_total",
       "Requests refused because every deployment of the group was cooling down or at its limit.",
       {"model_group"}},
      {"llmrouter_routing_decisions_total",
       "Requests routed by a learned router, by strategy and chosen candidate model.",
       {"strategy", "model"}},
      {"llmrouter_fallbacks_total",
       "Requests a learned router could not score, routed by the fallback strategy instead.",
       {"strategy", "reason"}},
  };
  return kSpecs[static_cast<size_t>(id)];
}
}  // namespace

void MetricsShard::count(CounterId id, std::initializer_list<std::string_view> label_values) {
  std::lock_guard lock(mutex_);
  std::string key;
  for (auto v : label_values) {
    if (!key.empty()) key.push_back(kSep);
    key.append(v);
  }
  ++counters_[static_cast<size_t>(id)][key];
}

void MetricsShard::record_upstream_error(std::string_view deployment, std::string_view kind) {
  std::lock_guard lock(mutex_);
  std::string key(deployment);
  key.push_back(kSep);
  key.append(kind);
  ++upstream_errors_[key];
}

void MetricsShard::record_routing_duration(std::string_view strategy, double seconds) {
  std::lock_guard lock(mutex_);
  histogram_for(routing_duration_, strategy, routing_decision_buckets()).observe(seconds);
}

Metrics::Metrics(size_t shard_count) {
  for (size_t i = 0; i < shard_count; ++i) shards_.push_back(std::make_unique<MetricsShard>());
}

std::string Metrics::render_prometheus() {
  std::map<std::string, uint64_t> requests;
  std::map<std::string, uint64_t> upstream_errors;
  std::map<std::string, Histogram, std::less<>> latency;
  std::map<std::string, Histogram, std::less<>> overhead;
  std::map<std::string, Histogram, std::less<>> routing_duration;
  std::array<std::map<std::string, uint64_t>, static_cast<size_t>(CounterId::kCount)> counters;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex_);
    for (size_t i = 0; i < counters.size(); ++i) {
      for (const auto& [k, v] : shard->counters_[i]) counters[i][k] += v;
    }
    for (const auto& [k, v] : shard->requests_) requests[k] += v;
    for (const auto& [k, v] : shard->upstream_errors_) upstream_errors[k] += v;
    for (const auto& [k, h] : shard->latency_) {
      histogram_for(latency, k, latency_buckets()).merge(h);
    }
    for (const auto& [k, h] : shard->overhead_) {
      histogram_for(overhead, k, overhead_buckets()).merge(h);
    }
    for (const auto& [k, h] : shard->routing_duration_) {
      histogram_for(routing_duration, k, routing_decision_buckets()).merge(h);
    }
  }

  std::string out;
  out.reserve(8192);
  out +=
      "# HELP switchyard_requests_total Requests answered, by route, model group, deployment "
      "and HTTP status.\n# TYPE switchyard_requests_total counter\n";
  for (const auto& [key, value] : requests) {
    auto p = split_key(key);
    out += "switchyard_requests_total{route=\"" + escape_label(p[0]) + "\",model_group=\"" +
           escape_label(p[1]) + "\",deployment=\"" + escape_label(p[2]) + "\",status=\"" +
           std::string(p[3]) + "\"} " + std::to_string(value) + "\n";
  }
  render_histograms(out, "switchyard_request_duration_seconds",
                    "Time from request received to response complete.", latency);
  render_histograms(
      out, "switchyard_overhead_duration_seconds",
      "Time spent in the gateway itself up to the response head (elapsed minus connecting to "
      "and waiting on the upstream).",
      overhead);
  render_histograms(out, "llmrouter_routing_duration_seconds",
                    "Time for one learned-routing decision (featurize, score, rank).",
                    routing_duration, "strategy");
  out +=
      "# HELP switchyard_in_flight_requests Requests being processed now.\n"
      "# TYPE switchyard_in_flight_requests gauge\nswitchyard_in_flight_requests " +
      std::to_string(in_flight_.load()) + "\n";
  out +=
      "# HELP switchyard_open_connections Client connections open now.\n"
      "# TYPE switchyard_open_connections gauge\nswitchyard_open_connections " +
      std::to_string(open_connections_.load()) + "\n";
  out +=
      "# HELP switchyard_upstream_errors_total Upstream failures by deployment and kind "
      "(connect, reset, timeout, status_4xx, status_5xx, invalid_response, stream_interrupted).\n"
      "# TYPE switchyard_upstream_errors_total counter\n";
  for (const auto& [key, value] : upstream_errors) {
    auto p = split_key(key);
    out += "switchyard_upstream_errors_total{deployment=\"" + escape_label(p[0]) + "\",kind=\"" +
           escape_label(p[1]) + "\"} " + std::to_string(value) + "\n";
  }
  for (size_t i = 0; i < counters.size(); ++i) {
    const auto& spec = counter_spec(static_cast<CounterId>(i));
    append_prometheus_family(out, spec.name, spec.help, "counter");
    for (const auto& [key, value] : counters[i]) {
      auto values = split_key(key);
      out += spec.name;
      out += "{";
      size_t j = 0;
      for (const char* label : spec.labels) {
        if (j > 0) out += ",";
        out += label;
        out += "=\"";
        out += escape_label(j < values.size() ? values[j] : std::string_view());
        out += "\"";
        ++j;
      }
      out += "} " + std::to_string(value) + "\n";
    }
  }
  return out;
}

}  // namespace switchyard
