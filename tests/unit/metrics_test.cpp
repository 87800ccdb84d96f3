#include <gtest/gtest.h>

#include "telemetry/metrics.h"

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
