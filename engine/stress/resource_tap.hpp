// The watchers' latest readings, for the stress session to take at a step's start and end:
// fed on the sampler's thread, read on the session's. Bounded by the number of watchers.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/results/stress_report.hpp"
#include "engine/watch/watcher.hpp"

namespace strain::stress {

struct ComponentReadings {
  std::string component;
  std::string source;
  double t_s = -1;                       // when read; < 0: never
  std::vector<watch::Reading> readings;  // empty during a gap
  std::vector<watch::Limit> limits;      // the latest known
};

// A limit the user knows (--limit rss=64MiB): it bounds every reading whose resource `matches`
// its key, in every watched component, and wins over a limit the system reports for the same
// resource (a JVM's heap is tighter than its cgroup).
struct KnownLimit {
  std::string key;  // as typed: "rss", "memory", "fds", ...
  double value = 0;
};
using KeyMatches = std::function<bool(std::string_view key, std::string_view resource)>;

class ResourceTap {
 public:
  // Before the sampler starts.
  void set_known_limits(std::vector<KnownLimit> limits, KeyMatches matches) {
    known_ = std::move(limits);
    matches_ = std::move(matches);
  }
  // Sampler thread.
  void on_sample(double t_s, std::size_t watcher, const watch::Watcher& w,
                 const watch::Sample& sample, const std::vector<watch::Limit>* limits);
  // Session thread: a copy of the latest readings of every watcher.
  std::vector<ComponentReadings> snapshot() const;

 private:
  void apply_known(ComponentReadings& c) const;

  mutable std::mutex mutex_;
  std::vector<ComponentReadings> latest_;  // by watcher index
  std::vector<KnownLimit> known_;
  KeyMatches matches_;
};

// Each component's resources between two snapshots: counters as rates (cpu as cores in use),
// gauges at the end, each against its limit when one is known.
std::vector<StressResource> step_resources(const std::vector<ComponentReadings>& from,
                                           const std::vector<ComponentReadings>& to);

}  // namespace strain::stress
