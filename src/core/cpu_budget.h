#pragma once
// How many CPUs this process may actually use, for the default number of
// worker threads. std::thread::hardware_concurrency() counts the machine's
// CPUs; a container limited to 1 CPU on a 64-core node, or a process pinned
// with taskset, would then run 64 workers that time-slice one core (more
// context switches and a longer latency tail, measured in docs/benchmarks.md).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard {

struct CpuBudget {
  size_t machine = 1;           // hardware_concurrency()
  size_t affinity = 1;          // CPUs in the scheduler affinity mask
  std::optional<double> quota;  // cgroup CPU quota in CPUs (e.g. 1.5), if one is set
  // The usable count: min(affinity, ceil(quota)), at least 1.
  size_t usable() const;
  // "affinity 1 of 2 CPUs, cgroup quota 1.5 CPUs" (for the start-up log).
  std::string describe() const;
};

// Reads the affinity mask and the cgroup (v2 cpu.max, or v1
// cpu.cfs_quota_us / cpu.cfs_period_us) quota of this process and of every
// ancestor cgroup, the tightest of which applies.
CpuBudget current_cpu_budget();

// Parsers, exposed for tests.
// cgroup v2 "cpu.max": "max 100000" -> nullopt, "150000 100000" -> 1.5.
std::optional<double> parse_cgroup_v2_cpu_max(std::string_view text);
// cgroup v1: quota "-1" -> nullopt; "50000" with period "100000" -> 0.5.
std::optional<double> parse_cgroup_v1_quota(std::string_view quota_us, std::string_view period_us);
// The process's cgroup path from /proc/self/cgroup: the v2 line "0::/a/b",
// or for v1 the line whose controller list contains "cpu" ("4:cpu,cpuacct:/a").
std::optional<std::string> cgroup_path_from_proc(std::string_view proc_self_cgroup, bool v2);

}  // namespace switchyard
