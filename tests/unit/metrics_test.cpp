#include <gtest/gtest.h>

#include "telemetry/metrics.h"
#include "telemetry/prometheus_text.h"

using namespace switchyard;

TEST(Metrics, MergesShardsIntoPrometheusText) {
  Metrics metrics(2);
  metrics.shard(0).record_request("/v1/chat/completions", "gpt", "dep-1", 200, 0.02, 0.0003, true);
  metrics.shard(1).record_request("/v1/chat/completions", "gpt", "dep-1", 200, 0.2, 0.0004, true);
  metrics.shard(1).record_request("/v1/chat/completions", "gpt", "dep-\"2", 502, 0.001, 0, true);
  metrics.shard(0).record_upstream_error("dep-1", "timeout");
  metrics.in_flight() = 3;
  const std::string text = metrics.render_prometheus();
  EXPECT_NE(text.find("switchyard_requests_total{route=\"/v1/chat/completions\",model_group=\"gpt\","
                      "deployment=\"dep-1\",status=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("deployment=\"dep-\\\"2\",status=\"502\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("switchyard_request_duration_seconds_bucket{route=\"/v1/chat/completions\","
                      "le=\"0.025\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("switchyard_request_duration_seconds_count{route=\"/v1/chat/completions\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("switchyard_overhead_duration_seconds_bucket{route=\"/v1/chat/completions\","
                      "le=\"0.0005\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("switchyard_in_flight_requests 3\n"), std::string::npos);
  EXPECT_NE(text.find("switchyard_upstream_errors_total{deployment=\"dep-1\",kind=\"timeout\"} 1\n"),
            std::string::npos);
}

TEST(PrometheusText, FamiliesAndEscapedLabels) {
  std::string out;
  append_prometheus_family(out, "x_total", "Things.", "counter");
  append_prometheus_sample(out, "x_total", {{"source", "s3://b/k\"1\\\n"}, {"result", "ok"}},
                           uint64_t{7});
  append_prometheus_sample(out, "y_seconds", {}, 1.5);
  EXPECT_EQ(out,
            "# HELP x_total Things.\n# TYPE x_total counter\n"
            "x_total{source=\"s3://b/k\\\"1\\\\\\n\",result=\"ok\"} 7\n"
            "y_seconds 1.5\n");
}
