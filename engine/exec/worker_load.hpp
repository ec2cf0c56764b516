// What a worker runs on its event loop, and the plain values it hands up each interval.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/metrics/histogram_stock.hpp"
#include "engine/results/run_result.hpp"

namespace strain {

// Iterations that ended, by how.
struct IterationCounts {
  std::uint64_t completed = 0;    // ran to their end
  std::uint64_t failed = 0;       // ended by an error in the body (a script error)
  std::uint64_t interrupted = 0;  // cut short by the stop or a graceful stop
  void add(const IterationCounts& o) noexcept {
    completed += o.completed;
    failed += o.failed;
    interrupted += o.interrupted;
  }
};

// One scenario on one worker over an interval.
struct ScenarioInterval {
  IterationCounts iterations;  // iterations that ended in the interval
  // Arrival-rate scenarios with arrivals on this worker: the interval's arrivals, backlog, lag
  // and peak VUs. Empty otherwise (its histograms cost 376 KB a second to make and send).
  std::optional<ScheduleStats> schedule;
  std::uint32_t busy_vus = 0;  // VUs in an iteration when the interval was taken
  std::uint32_t peak_vus = 0;  // most VUs in an iteration at once during the interval
};

// A worker's interval, handed up as plain values.
struct WorkerInterval {
  RequestMetrics total;                       // every request answered or failed in the interval
  std::vector<RequestMetrics> series{};       // scripted runs: per request name and tags
  ScriptStats script{};                       // scripted runs: checks, custom metrics, errors
  std::vector<ScenarioInterval> scenarios{};  // by scenario, in the plan's order
  std::uint64_t requests_started = 0;         // requests started so far (cumulative)
  std::uint64_t connects = 0;                 // connections opened so far (cumulative)
  std::uint64_t stale_retries = 0;            // stale keep-alive resends so far (cumulative)
  std::uint64_t connect_backoffs = 0;         // connects that waited out a back-off (cumulative)
  std::uint64_t in_flight = 0;                // requests in flight now
  std::uint32_t active_vus = 0;               // VUs in an iteration now
  std::optional<PhaseMetrics> phases{};       // the final report only: the whole run's phases
};

// A worker's load: the plan's scenarios with their bodies (--url requests or Lua VUs) and
// transports. Lives on the worker's thread; every call but running_for_ns() comes from it.
class WorkerLoad {
 public:
  virtual ~WorkerLoad() = default;
  // Scenario clocks count from `origin_ns` (now_ns() clock): the run's start.
  virtual void start(std::int64_t origin_ns) = 0;
  // The load phase ended at `end_ns` (now_ns() clock, the controller's instant, so the same on
  // every worker): open-model arrivals due by then still start if a VU is free, nothing else
  // does; requests in flight complete and are recorded.
  virtual void stop(std::int64_t end_ns) = 0;
  // The drain gave up: what is still in flight is abandoned, recorded as such. After stop().
  virtual void abandon(std::int64_t now_ns) = 0;
  // The phases of every answered request so far; null when this load does not keep them.
  virtual const PhaseMetrics* phases() const { return nullptr; }
  // Closes every connection and cancels every timer. After abandon().
  virtual void shutdown() = 0;
  // An arrival-rate scenario's rate becomes `per_s` from `at_ns` (the same instant on every
  // worker). Others ignore it (the controller has checked the scenario).
  virtual void set_rate(std::size_t scenario, double per_s, std::int64_t at_ns) = 0;
  // A closed-model scenario runs at most `vus` VUs (scenario-wide; this worker takes its share)
  // from now; VUs above the line finish their iteration and rest. Others ignore it.
  virtual void set_vus(std::size_t scenario, std::uint32_t vus) = 0;
  // Every scenario has finished on this worker.
  virtual bool done() const = 0;
  virtual std::uint64_t in_flight() const = 0;
  // The interval's figures; counters marked cumulative above are totals so far. `out` is
  // fresh; the histograms it needs beyond those come from `stock`, never made on the loop.
  virtual void take_interval(WorkerInterval& out, HistogramStock& stock) = 0;
  // Thread-safe: how long the body now running has run without yielding (scripts), else 0.
  virtual std::int64_t running_for_ns() const noexcept { return 0; }
};

}  // namespace strain
