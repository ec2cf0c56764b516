// Live metrics for the dashboards a team already has: the Prometheus text format served on
// --metrics-listen during the run, updated after every interval.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/results/interval_snapshot.hpp"
#include "engine/results/run_result.hpp"

namespace strain {

class MetricsExporter {
 public:
  // Listens on "host:port" (loopback unless a host is given). Throws strain::UsageError
  // naming the address when it cannot.
  static std::unique_ptr<MetricsExporter> start(const std::string& listen);
  virtual ~MetricsExporter() = default;

  // After every interval: counters grow by the interval's counts, gauges take its values.
  // `so_far` is the result folded so far; `stress_state` the search's one-line state ("" if
  // no search runs). Called from the controller's thread.
  virtual void on_interval(const IntervalSnapshot& snap, const RunResult& so_far,
                           const std::string& stress_state) = 0;
  // A soak's judgement mid-run (SoakSession::verdicts_so_far()): slopes so far, served until
  // the final result replaces them. Called from the controller's thread.
  virtual void on_soak_verdicts(const std::vector<SoakVerdict>& so_far) = 0;
  // The final result: counters are set to its totals (equal to the sum of the intervals).
  virtual void on_result(const RunResult& result) = 0;
};

}  // namespace strain
