// Thresholds: pass/fail conditions on a run's metrics, parsed from k6-style expressions
// (`latency{p99}` "< 250ms", `errors{rate}` "< 1%", `latency{name:login,p95}` "< 400ms",
// `checks{group:::checkout,rate}` "> 99%", `cart_ms{p(95)}` "< 300ms" for a script's trend).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/results/run_result.hpp"

namespace strain {

enum class Comparison { less, less_equal, greater, greater_equal, equal };

// One parsed threshold. Limits are in the metric's base unit: milliseconds for latencies
// (and for durations written against a script's metric), a fraction (0..1) for rates of
// outcomes, per second for requests/iterations/counter rates, a plain number for counts.
struct ThresholdSpec {
  std::string expression;  // the key as written, e.g. "latency{name:login,p95}"
  std::string condition;   // the condition as written, e.g. "< 400ms"
  std::string metric;      // latency | service_time | errors | requests | checks | iterations |
                           // script_errors | a script's custom metric
  std::map<std::string, std::string> tags;  // tag filters, e.g. {"name": "login"}
  std::string aggregate;  // p50 … p99.9, p(NN), avg, min, max, med, rate, count, passes, fails
  double percentile = 0;  // for pNN aggregates, in 0..100
  Comparison comparison = Comparison::less;  // how the observed value must relate to the limit
  double limit = 0;                          // in the metric's base unit (see above)
  bool abort_on_fail = false;                // stop the run as soon as it fails (scripts)
  std::chrono::nanoseconds delay_abort_eval{
      0};  // abort_on_fail is not judged before this much of the run
};

// Whether `observed` satisfies `comparison` against `limit`.
bool holds(Comparison comparison, double observed, double limit);

// Parses `key` and `condition`. Built-in metrics are validated strictly; any other name is
// taken as a custom metric the script declares at run time. Throws UsageError naming the
// expression and what is wrong.
ThresholdSpec parse_threshold(std::string_view key, std::string_view condition);

// Judges every threshold against `result`. A threshold on a metric the run does not have
// fails with a note rather than passing silently.
std::vector<ThresholdVerdict> evaluate_thresholds(const std::vector<ThresholdSpec>& specs,
                                                  const RunResult& result);

// For a run in progress: "expression condition" of the first abort_on_fail spec, past its
// delay_abort_eval at `elapsed_s` seconds, whose observed value fails its condition on the
// cumulative `partial` result. A threshold with nothing to observe yet never aborts.
std::optional<std::string> first_abort(const std::vector<ThresholdSpec>& specs,
                                       const RunResult& partial, double elapsed_s);

}  // namespace strain
