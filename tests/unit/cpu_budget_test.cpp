#include "core/cpu_budget.h"

#include <gtest/gtest.h>
#include <sched.h>

namespace switchyard {
namespace {

TEST(CpuBudget, CgroupV2CpuMax) {
  EXPECT_FALSE(parse_cgroup_v2_cpu_max("max 100000\n").has_value());
  EXPECT_DOUBLE_EQ(parse_cgroup_v2_cpu_max("150000 100000\n").value(), 1.5);
  EXPECT_DOUBLE_EQ(parse_cgroup_v2_cpu_max("50000 100000").value(), 0.5);
  EXPECT_FALSE(parse_cgroup_v2_cpu_max("").has_value());
  EXPECT_FALSE(parse_cgroup_v2_cpu_max("garbage").has_value());
  EXPECT_FALSE(parse_cgroup_v2_cpu_max("100000 0").has_value());
  EXPECT_FALSE(parse_cgroup_v2_cpu_max("12x 100000").has_value());
}

TEST(CpuBudget, CgroupV1Quota) {
  EXPECT_FALSE(parse_cgroup_v1_quota("-1\n", "100000\n").has_value());
  EXPECT_DOUBLE_EQ(parse_cgroup_v1_quota("200000\n", "100000\n").value(), 2.0);
  EXPECT_DOUBLE_EQ(parse_cgroup_v1_quota("25000", "100000").value(), 0.25);
  EXPECT_FALSE(parse_cgroup_v1_quota("abc", "100000").has_value());
}

TEST(CpuBudget, CgroupPathFromProc) {
  const char* v2 = "0::/kubepods.slice/pod1/ctr\n";
  EXPECT_EQ(cgroup_path_from_proc(v2, true).value(), "/kubepods.slice/pod1/ctr");
  EXPECT_FALSE(cgroup_path_from_proc(v2, false).has_value());

  const char* v1 =
      "12:memory:/docker/abc\n"
      "4:cpu,cpuacct:/docker/abc\n"
      "3:cpuset:/docker/abc\n"
      "0::/\n";
  EXPECT_EQ(cgroup_path_from_proc(v1, false).value(), "/docker/abc");
  EXPECT_EQ(cgroup_path_from_proc(v1, true).value(), "/");
  // "cpuset" alone is not the cpu controller.
  EXPECT_FALSE(cgroup_path_from_proc("3:cpuset:/x\n", false).has_value());
  EXPECT_FALSE(cgroup_path_from_proc("nonsense\n", true).has_value());
}

TEST(CpuBudget, UsableIsTheTightestLimitRoundedUp) {
  CpuBudget b;
  b.machine = 64;
  b.affinity = 64;
  EXPECT_EQ(b.usable(), 64u);
  b.quota = 1.5;
  EXPECT_EQ(b.usable(), 2u);
  b.quota = 0.25;
  EXPECT_EQ(b.usable(), 1u);
  b.quota = 4.0;
  EXPECT_EQ(b.usable(), 4u);
  b.affinity = 2;
  EXPECT_EQ(b.usable(), 2u);
  b.quota.reset();
  b.affinity = 0;
  EXPECT_EQ(b.usable(), 1u);
  EXPECT_NE(b.describe().find("of 64 CPUs"), std::string::npos);
}

TEST(CpuBudget, CurrentBudgetMatchesTheAffinityMask) {
  // The test runner's own mask: taskset -c 0 makes this 1.
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  const CpuBudget b = current_cpu_budget();
  EXPECT_EQ(b.affinity, static_cast<size_t>(CPU_COUNT(&set)));
  EXPECT_LE(b.usable(), b.affinity);
  EXPECT_GE(b.usable(), 1u);
}

}  // namespace
}  // namespace switchyard
