// --watch-cgroup: a cgroup v2 directory's memory, pids, CPU and I/O, read from its interface files.
#pragma once

#include <string>

#include "engine/watch/watcher.hpp"

namespace strain::watch {

// Readings: "memory.current" (bytes, gauge), "pids.current" (count, gauge), "cpu" (cpu.stat
// usage_usec as seconds, counter), "read_bytes" and "write_bytes" (io.stat rbytes and wbytes
// summed over devices, counters). A file missing because its controller is not enabled leaves
// its reading out; the directory gone is a gap. Limits: "memory.current" by memory.max and
// "pids.current" by pids.max, unless they say "max"; "cpu" (cores) by cpu.max's quota over its
// period, or when there is no quota by the count of cpuset.cpus.effective.
class CgroupWatcher final : public Watcher {
 public:
  // `path` is absolute, or relative to `cgroup_root`; an absolute path that is not a directory is
  // also tried under `cgroup_root` (as /proc/PID/cgroup prints it). Throws UsageError when the
  // directory is missing or has no cgroup.controllers (not cgroup v2).
  CgroupWatcher(const std::string& path, std::string component,
                const std::string& cgroup_root = "/sys/fs/cgroup");

  const std::string& component() const override { return component_; }
  const std::string& source() const override { return source_; }
  Sample sample() override;
  std::vector<Limit> limits() override;

  const std::string& directory() const { return dir_; }  // the resolved cgroup directory

 private:
  std::string dir_;
  std::string component_;
  std::string source_ = "cgroup";
};

}  // namespace strain::watch
