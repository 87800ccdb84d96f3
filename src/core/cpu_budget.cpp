#include "core/cpu_budget.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <thread>

namespace switchyard {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<long long> parse_integer(std::string_view s) {
  s = trim(s);
  long long value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text;
}

// The tightest quota found on `path` and its ancestors below `mount`; `read`
// gives the quota of one cgroup directory.
template <typename ReadQuota>
std::optional<double> tightest_quota(const std::string& mount, std::string path, ReadQuota read) {
  std::optional<double> best;
  auto consider = [&](std::optional<double> q) {
    if (q && (!best || *q < *best)) best = q;
  };
  bool found_own_dir = false;
  for (;;) {
    std::string dir = mount + (path == "/" ? "" : path);
    if (auto q = read(dir); q.has_value()) {
      found_own_dir = true;
      consider(*q);
    }
    if (path == "/" || path.empty()) break;
    auto slash = path.find_last_of('/');
    path = slash == 0 ? "/" : path.substr(0, slash);
  }
  // Without a cgroup namespace the path names the host's hierarchy, which a
  // container does not see: its own cgroup is then mounted at the root.
  if (!found_own_dir) consider(read(mount).value_or(std::nullopt));
  return best;
}

std::optional<double> cgroup_quota() {
  auto proc = read_small_file("/proc/self/cgroup");
  if (!proc) return std::nullopt;
  if (auto path = cgroup_path_from_proc(*proc, true)) {
    // The outer optional: the directory had a cpu.max file at all.
    auto read_v2 = [](const std::string& dir) -> std::optional<std::optional<double>> {
      auto text = read_small_file(dir + "/cpu.max");
      if (!text) return std::nullopt;
      return parse_cgroup_v2_cpu_max(*text);
    };
    if (auto q = tightest_quota("/sys/fs/cgroup", *path, read_v2)) return q;
  }
  if (auto path = cgroup_path_from_proc(*proc, false)) {
    auto read_v1 = [](const std::string& dir) -> std::optional<std::optional<double>> {
      auto quota = read_small_file(dir + "/cpu.cfs_quota_us");
      auto period = read_small_file(dir + "/cpu.cfs_period_us");
      if (!quota || !period) return std::nullopt;
      return parse_cgroup_v1_quota(*quota, *period);
    };
    for (const char* mount : {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"}) {
      if (auto q = tightest_quota(mount, *path, read_v1)) return q;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<double> parse_cgroup_v2_cpu_max(std::string_view text) {
  text = trim(text);
  auto space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto quota = text.substr(0, space);
  if (quota == "max") return std::nullopt;
  auto q = parse_integer(quota);
  auto p = parse_integer(text.substr(space + 1));
  if (!q || !p || *q <= 0 || *p <= 0) return std::nullopt;
  return static_cast<double>(*q) / static_cast<double>(*p);
}

std::optional<double> parse_cgroup_v1_quota(std::string_view quota_us, std::string_view period_us) {
  auto q = parse_integer(quota_us);
  auto p = parse_integer(period_us);
  if (!q || !p || *q <= 0 || *p <= 0) return std::nullopt;  // -1 = no limit
  return static_cast<double>(*q) / static_cast<double>(*p);
}

std::optional<std::string> cgroup_path_from_proc(std::string_view proc_self_cgroup, bool v2) {
  while (!proc_self_cgroup.empty()) {
    auto eol = proc_self_cgroup.find('\n');
    auto line = proc_self_cgroup.substr(0, eol);
    proc_self_cgroup =
        eol == std::string_view::npos ? std::string_view() : proc_self_cgroup.substr(eol + 1);
    // hierarchy-ID:controller-list:cgroup-path
    auto first = line.find(':');
    if (first == std::string_view::npos) continue;
    auto second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    auto id = line.substr(0, first);
    auto controllers = line.substr(first + 1, second - first - 1);
    auto path = std::string(line.substr(second + 1));
    if (path.empty() || path.front() != '/') continue;
    if (v2) {
      if (id == "0" && controllers.empty()) return path;
      continue;
    }
    // v1: the hierarchy whose controller list has "cpu" as one entry.
    while (!controllers.empty()) {
      auto comma = controllers.find(',');
      if (controllers.substr(0, comma) == "cpu") return path;
      if (comma == std::string_view::npos) break;
      controllers.remove_prefix(comma + 1);
    }
  }
  return std::nullopt;
}

size_t CpuBudget::usable() const {
  size_t n = std::max<size_t>(1, affinity);
  if (quota) n = std::min(n, static_cast<size_t>(std::max(1.0, std::ceil(*quota - 1e-9))));
  return n;
}

std::string CpuBudget::describe() const {
  std::string s =
      "affinity " + std::to_string(affinity) + " of " + std::to_string(machine) + " CPUs";
  if (quota) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", *quota);
    s += ", cgroup quota ";
    s += buf;
    s += " CPUs";
  }
  return s;
}

CpuBudget current_cpu_budget() {
  CpuBudget budget;
  budget.machine = std::max(1u, std::thread::hardware_concurrency());
  budget.affinity = budget.machine;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    budget.affinity = std::max(1, CPU_COUNT(&set));
  }
  budget.quota = cgroup_quota();
  return budget;
}

}  // namespace switchyard
