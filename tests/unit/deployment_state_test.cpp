#include "routing/deployment_state.h"

#include <gtest/gtest.h>

using namespace switchyard;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {
// 200 ms before a clock minute starts.
Clock::time_point just_before_a_minute() {
  return Clock::time_point(std::chrono::minutes(1000) - milliseconds(200));
}
}  // namespace

TEST(DeploymentState, FailuresAcrossAClockMinuteStillCountTogether) {
  DeploymentState state;
  const auto t0 = just_before_a_minute();
  EXPECT_FALSE(state.record_failure(t0, 1, seconds(30), false));
  // 400 ms later, in the next clock minute: the second failure within 60 s.
  EXPECT_TRUE(state.record_failure(t0 + milliseconds(400), 1, seconds(30), false));
  EXPECT_TRUE(state.cooling_down(t0 + seconds(10)));
  EXPECT_FALSE(state.cooling_down(t0 + milliseconds(400) + seconds(30)));
}

TEST(DeploymentState, FailuresMoreThanAMinuteApartDoNotAddUp) {
  DeploymentState state;
  const auto t0 = just_before_a_minute();
  EXPECT_FALSE(state.record_failure(t0, 1, seconds(30), false));
  EXPECT_FALSE(state.record_failure(t0 + seconds(61), 1, seconds(30), false));
  EXPECT_FALSE(state.cooling_down(t0 + seconds(62)));
  // ...but two within the new window do.
  EXPECT_TRUE(state.record_failure(t0 + seconds(90), 1, seconds(30), false));
}

TEST(DeploymentState, SuccessResetsTheCountAndA429CoolsAtOnce) {
  DeploymentState state;
  const auto t0 = just_before_a_minute();
  EXPECT_FALSE(state.record_failure(t0, 1, seconds(30), false));
  state.record_success();
  EXPECT_FALSE(state.record_failure(t0 + seconds(1), 1, seconds(30), false));
  EXPECT_TRUE(state.record_failure(t0 + seconds(2), 5, seconds(7), true));
  EXPECT_EQ(state.cooldown_until(), t0 + seconds(9));
}
