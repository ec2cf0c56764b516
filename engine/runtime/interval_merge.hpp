// Gathers the workers' reports of each interval, merges them exactly, and folds each finished
// interval into the run's result. Pure bookkeeping: no threads, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/results/interval_snapshot.hpp"
#include "engine/results/run_result.hpp"
#include "engine/runtime/worker.hpp"
#include "engine/schedule/scenario.hpp"

namespace strain {

class IntervalMerger {
 public:
  // `result` outlives the merger; its scenarios list is set up here, one per plan scenario.
  IntervalMerger(std::size_t workers, std::span<const Scenario> scenarios, RunResult& result);

  // Adds a worker's report to its interval. Returns true when that interval now has a report
  // from every worker still running.
  bool add(WorkerReport report);
  // A worker could not start: it will send nothing more. Returns the intervals that were only
  // waiting for it.
  std::vector<std::uint64_t> drop_worker();
  // Merges complete interval `seq` into a snapshot (its timing filled in by the caller) and
  // folds it into the result: totals, series, scenarios, script stats, schedule, timeline.
  // `draining`: the interval belongs to the drain (its responses are not throughput).
  IntervalSnapshot close(std::uint64_t seq, double start_s, double length_s, double planned_s,
                         bool draining);
  bool pending() const noexcept { return !pending_.empty(); }
  // The reports merged by close() since the last call, for their histograms to be reused.
  std::vector<WorkerReport> take_spent() { return std::exchange(spent_, {}); }
  std::vector<std::uint64_t> complete_sequences() const;

  // Workers' latest cumulative counters, summed.
  std::uint64_t connects() const;
  std::uint64_t stale_retries() const;
  std::uint64_t connect_backoffs() const;
  std::uint64_t requests_started() const;
  // Intervals closed so far, and each worker's summed CPU busy fraction over them.
  std::uint64_t intervals() const noexcept { return intervals_; }
  const std::vector<double>& busy_sums() const noexcept { return busy_; }

 private:
  struct Pending {
    std::vector<WorkerReport> reports;
  };
  void add_series(RequestMetrics m);

  std::size_t workers_;
  std::size_t live_workers_;
  RunResult& result_;
  std::map<std::uint64_t, Pending> pending_;  // a few intervals at most: workers answer in order
  std::vector<WorkerReport> spent_;           // merged reports; emptied by take_spent()
  std::map<std::string, std::size_t> series_index_;  // name and tags → result_.by_name index
  // A worker's cumulative counters, as of its last report.
  struct Counters {
    std::uint64_t requests_started = 0;
    std::uint64_t connects = 0;
    std::uint64_t stale_retries = 0;
    std::uint64_t connect_backoffs = 0;
  };
  std::vector<Counters> latest_;  // per worker
  std::vector<double> busy_;      // per worker: summed busy fraction
  std::uint64_t intervals_ = 0;
};

}  // namespace strain
