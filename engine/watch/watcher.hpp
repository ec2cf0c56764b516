// One component's resources, read on demand: the soak sampler asks every watcher once a period.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace strain::watch {

// A gauge is a level (RSS, fds, bytes on disk) whose trend is judged; a counter only grows (CPU
// seconds, bytes read) and is charted as a rate, never judged for leaks.
enum class Kind : std::uint8_t { gauge, counter };

// One resource's value at one instant.
struct Reading {
  std::string resource;  // "rss", "fds", "threads", "cpu", "read_bytes", "memory.current", a
                         // Prometheus series "jvm_memory_used_bytes{area=\"heap\"}", "disk_bytes"
  std::string unit;      // "bytes", "count" or "seconds"
  Kind kind = Kind::gauge;
  double value = 0;  // in `unit`
};

// A limit the target cannot pass, known from the system: a projection reaches it.
struct Limit {
  std::string resource;  // the reading it bounds ("rss" by memory.max, "fds" by RLIMIT_NOFILE)
  double value = 0;      // in the reading's unit
  std::string source;    // what set it: "memory.max", "RLIMIT_NOFILE", "--limit"
};

// What one call to sample() saw. Either readings or a gap with its reason, never both empty.
struct Sample {
  std::vector<Reading> readings;  // empty when the watcher could not read (a gap)
  std::string gap_reason;         // why nothing was read: "no process 1234", "scrape timed out"
  std::optional<std::int64_t> restarted_pid;  // --watch-process: the name now resolves to a new pid
};

// Reads one component (a pid, a process name, a cgroup, a metrics URL, a directory).
// sample() runs on the sampler's thread, never throws, and returns within its own timeout.
class Watcher {
 public:
  virtual ~Watcher() = default;
  virtual const std::string& component() const = 0;  // "api" if named, else e.g. "pid 1234"
  virtual const std::string& source() const = 0;     // "pid", "process", "cgroup", "metrics",
                                                     // "path" or "self"
  virtual Sample sample() = 0;
  virtual std::vector<Limit> limits() = 0;  // known limits, read now (may be empty)
};

}  // namespace strain::watch
