// What --metrics-listen serves, as plain data: folded from each interval and the final result,
// rendered as Prometheus metric families. No sockets here (see metrics_exporter.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "engine/results/interval_snapshot.hpp"
#include "engine/results/run_result.hpp"

namespace prometheus {
struct MetricFamily;
}

namespace strain::live_metrics {

// The run's counters so far. They only grow; after the last interval they equal the result's.
struct Counters {
  std::uint64_t responses = 0;                                   // complete HTTP responses
  std::array<std::uint64_t, 6> status_classes{};                 // as RequestMetrics
  std::array<std::uint64_t, error_kind_count> errors_by_kind{};  // requests without a response
  std::uint64_t failed = 0;                  // RequestMetrics::failed(): what errors{rate} counts
  std::uint64_t rate_limited = 0;            // responses with status 429
  std::uint64_t bytes_in = 0;                // response bytes read
  std::uint64_t bytes_out = 0;               // request bytes written
  std::uint64_t arrivals_due = 0;            // open model: arrivals due in the load phase
  std::uint64_t arrivals_started = 0;        // open model: arrivals that began an iteration
  std::uint64_t iterations = 0;              // scripted: iterations that ran to their end
  std::uint64_t iterations_failed = 0;       // scripted: ended by a script error
  std::uint64_t iterations_interrupted = 0;  // scripted: cut short at a scenario's end
  std::uint64_t check_passes = 0;            // scripted: checks that held
  std::uint64_t check_fails = 0;             // scripted: checks that did not

  // One interval's counts (or a whole run's), added.
  void add(const RequestMetrics& total, const ScheduleStats& schedule, const ScriptStats& script);
  bool operator==(const Counters&) const = default;
};

// A latency as a Prometheus summary: quantiles of the last interval (NaN when it had no
// values), count and sum over the run so far.
struct Quantiles {
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
  double p50_s = kNone;     // median of the last interval, seconds
  double p90_s = kNone;     // 90th percentile of the last interval
  double p99_s = kNone;     // 99th percentile of the last interval
  double max_s = kNone;     // slowest of the last interval
  std::uint64_t count = 0;  // values recorded over the run
  double sum_s = 0;         // their sum, seconds (from the histograms' bucket midpoints)

  // The interval's histogram of microseconds: its quantiles replace the last, counts add.
  void on_interval(const Histogram& interval_us);
};

// Where a stress search stands, parsed from its one-line state ("step 5 at 800.0/s: judging").
struct StressState {
  std::uint32_t step = 0;                     // steps begun
  double level = 0;                           // the rate (or VUs) offered now
  bool vus = false;                           // --vus-search: level is VUs
  std::string phase;                          // warming, judging, cooling or done
  std::optional<double> max_sustainable_rps;  // from the final report
  std::optional<std::uint32_t> max_sustainable_vus;
};
// Empty when `line` is not a search's state.
std::optional<StressState> parse_stress_state(const std::string& line);

// One watched series of a soak: its slope (so far, then final) and, at the end, its last bucket.
struct SoakFigures {
  std::string component;                 // as SoakVerdict
  std::string resource;                  // as SoakVerdict (counters: "<name>_per_s")
  std::string unit;                      // of the values below
  std::optional<double> slope_per_hour;  // judged series: so far, then the report's
  std::optional<double> floor;           // the last bucket's floor
  std::optional<double> peak;            // the last bucket's peak
};

// Everything served.
struct State {
  Counters counters;
  Quantiles response_time;            // completion − intended start
  Quantiles service_time;             // completion − actual send
  Quantiles schedule_lag;             // open model: actual start − intended start
  Quantiles loop_lag;                 // the workers' event-loop lag
  bool open_model = false;            // an arrival-rate scenario runs: arrivals and lag are served
  bool scripted = false;              // a script runs: iterations and checks are served
  std::string command;                // run | stress | soak
  std::string executor;               // the load model
  double elapsed_s = 0;               // run time at the end of the last interval
  double planned_s = 0;               // the planned load phase
  bool draining = false;              // the load phase is over
  bool finished = false;              // the final result is in
  std::uint32_t active_vus = 0;       // VUs in an iteration at the last interval's end
  std::uint64_t in_flight = 0;        // requests in flight then
  double busy_ratio = 0;              // the workers' mean CPU busy fraction in the last interval
  std::optional<StressState> stress;  // strain stress only
  std::vector<SoakFigures> soak;      // when watchers ran: slopes so far, then the report's
};

void fold_interval(State& state, const IntervalSnapshot& snap, const RunResult& so_far,
                   const std::string& stress_state);
// Mid-run verdicts: their slopes replace the last ones.
void fold_soak_verdicts(State& state, const std::vector<SoakVerdict>& so_far);
// Sets the counters to the result's totals. False when the intervals had not added up to
// them (a bug in the fold or in the result), the result's figures being served either way.
bool fold_result(State& state, const RunResult& result);

std::vector<prometheus::MetricFamily> render(const State& state);

}  // namespace strain::live_metrics
