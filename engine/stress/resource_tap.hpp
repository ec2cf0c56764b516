// The watchers' latest readings, for the stress session to take at a step's start and end:
// fed on the sampler's thread, read on the session's. Bounded by the number of watchers.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
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

class ResourceTap {
 public:
  // Sampler thread.
  void on_sample(double t_s, std::size_t watcher, const watch::Watcher& w,
                 const watch::Sample& sample, const std::vector<watch::Limit>* limits);
  // Session thread: a copy of the latest readings of every watcher.
  std::vector<ComponentReadings> snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::vector<ComponentReadings> latest_;  // by watcher index
};

// Each component's resources between two snapshots: counters as rates (cpu as cores in use),
// gauges at the end, each against its limit when one is known.
std::vector<StressResource> step_resources(const std::vector<ComponentReadings>& from,
                                           const std::vector<ComponentReadings>& to);

}  // namespace strain::stress
