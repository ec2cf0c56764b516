// One reporting interval of a run in progress, merged over the workers: what live observers
// (the console, the stress search, soak watchers, an .hlog writer) see after every interval.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/metrics/histogram.hpp"
#include "engine/results/run_result.hpp"

namespace strain {

// Everything measured in one interval, exactly as it will be folded into the RunResult:
// histograms are the interval's own (not cumulative), counters count the interval only.
struct IntervalSnapshot {
  std::uint64_t sequence = 0;           // 0, 1, 2 … in order
  double start_s = 0;                   // interval start, seconds from the run's start
  double length_s = 0;                  // its length, seconds
  double planned_s = 0;                 // the planned load phase, seconds
  bool draining = false;                // the load phase is over: this interval is the drain
  RequestMetrics total;                 // every request answered or failed in the interval
  std::vector<RequestMetrics> by_name;  // scripted runs: the same per request name and tags
  ScriptStats script;                   // checks, custom metrics, iterations, script errors
  // By scenario, in the plan's order; empty when no scenario is arrival-rate.
  std::vector<ScheduleStats> schedules;
  ScheduleStats schedule;        // every scenario's together
  Histogram loop_lag_us;         // the workers' event-loop lag in the interval, µs
  double busy_fraction = 0;      // the workers' mean CPU busy fraction in the interval
  std::uint32_t active_vus = 0;  // VUs in an iteration when the interval ended
  std::uint64_t in_flight = 0;   // requests in flight when the interval ended
  IntervalPoint point;           // the timeline's point for this interval
};

// What an interval observer asks of the controller.
enum class IntervalVerdict : std::uint8_t {
  go_on,  // keep running
  stop,   // end the load phase now (drain, then finish), as when the plan ends
};

}  // namespace strain
