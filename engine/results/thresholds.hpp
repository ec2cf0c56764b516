// Thresholds: pass/fail conditions on a run's metrics, parsed from k6-style expressions
// (`latency{p99}` "< 250ms", `errors{rate}` "< 1%", `latency{name:login,p95}` "< 400ms").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/results/run_result.hpp"

namespace strain {

enum class Comparison { less, less_equal, greater, greater_equal, equal };

// One parsed threshold. Limits are in the metric's base unit: milliseconds for latencies,
// a fraction (0..1) for rates, a plain number for counts.
struct ThresholdSpec {
  std::string expression;                   // the key as written, e.g. "latency{name:login,p95}"
  std::string condition;                    // the condition as written, e.g. "< 400ms"
  std::string metric;                       // latency | service_time | errors | requests | (custom)
  std::map<std::string, std::string> tags;  // tag filters, e.g. {"name": "login"}
  std::string aggregate;                    // p50 … p99.9, avg, min, max, rate, count
  double percentile = 0;                    // for pNN aggregates, in 0..100
  Comparison comparison = Comparison::less;  // how the observed value must relate to the limit
  double limit = 0;                          // in the metric's base unit (see above)
  bool abort_on_fail = false;                // stop the run as soon as it fails (scripts)
};

// Parses `key` and `condition`. Throws UsageError naming the expression and what is wrong.
ThresholdSpec parse_threshold(std::string_view key, std::string_view condition);

// Judges every threshold against `result`. A threshold on a metric the run does not have
// fails with a note rather than passing silently.
std::vector<ThresholdVerdict> evaluate_thresholds(const std::vector<ThresholdSpec>& specs,
                                                  const RunResult& result);

}  // namespace strain
