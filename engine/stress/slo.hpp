// The service-level objective a stress step must hold, in the threshold language strain
// already has: "p99<250ms,errors<1%", "latency{name:login,p95}<400ms,errors{rate}<0.5%".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/results/run_result.hpp"
#include "engine/results/stress_report.hpp"
#include "engine/results/thresholds.hpp"

namespace strain::stress {

struct Slo {
  std::string text;                  // as given
  std::vector<ThresholdSpec> specs;  // one per condition
};

// Conditions separated by commas (outside braces). Shorthands: p99, p95, p(99.9), avg, med,
// max, min stand for latency{…}; errors for errors{rate}. Throws UsageError naming `flag`.
Slo parse_slo(std::string_view text, std::string_view flag);

// A step's window against the SLO. A stress search counts 429s as errors: a shed request was
// not served, whatever the run's accounting calls it.
struct SloJudgement {
  bool held = true;
  std::optional<StressFailure> failure;  // the first condition that broke (step left at 0)
};
SloJudgement judge_slo(const Slo& slo, const RunResult& window);

// Far past the SLO in one interval (the governor's test): a latency over 5x its limit, or
// errors over 5x theirs (at least 10%).
bool clearly_broken(const Slo& slo, const RequestMetrics& interval);

// Errors as a stress step counts them: failed requests plus 429s, over attempts.
double stress_error_rate(const RequestMetrics& m);

}  // namespace strain::stress
