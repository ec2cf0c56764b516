// The live console: what a run looks like while it runs. On a terminal a few lines redrawn in
// place several times a second; in a log, one plain line every --progress-every.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/results/interval_snapshot.hpp"
#include "engine/results/run_result.hpp"

namespace strain {

// The figures the view shows: the last interval's, and the run's so far. Plain data, copied
// from the controller's thread to the console's.
struct LiveFigures {
  double elapsed_s = 0;               // since the load started (the clock's, not the interval's)
  double planned_s = 0;               // the planned load phase; 0 when open-ended
  double rate_rps = 0;                // responses per second in the last interval
  std::optional<double> offered_rps;  // arrivals due per second in the last interval (open model)
  double p50_ms = 0;                  // last interval
  double p99_ms = 0;                  // last interval
  std::uint64_t requests = 0;         // responses so far
  std::uint64_t failed = 0;           // failed requests so far
  double interval_error_rate = 0;     // failed / attempts in the last interval
  std::uint32_t active_vus = 0;       // VUs in an iteration at the interval's end
  bool draining = false;              // the load phase is over, waiting for in-flight requests
  std::string mode;                   // stress: the search's state; soak: the slopes so far
};

// Takes the figures from an interval and the result so far. elapsed_s is the interval's end.
LiveFigures live_figures(const IntervalSnapshot& snap, const RunResult& so_far);

// The terminal view: two or three lines, each at most `width` columns.
std::vector<std::string> render_live_view(const LiveFigures& f, std::size_t width);

// The plain line for logs: "[  20s/60s]  1.23k req/s (offered 1.25k/s)  p50 ...".
std::string render_live_line(const LiveFigures& f);

}  // namespace strain
