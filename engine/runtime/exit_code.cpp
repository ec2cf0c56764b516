#include "engine/runtime/exit_code.hpp"

#include <algorithm>

namespace strain {

ExitCode exit_code_for(const RunResult& r) {
  if (!r.aborted_reason.empty()) return ExitCode::run_failed;
  if (!r.threshold_abort.empty()) return ExitCode::thresholds_failed;
  if (r.partial) return ExitCode::interrupted;
  if (r.stress) {
    // A search drives the target past what it holds on purpose: a late arrival at a broken
    // step is the target's doing, and the search itself says when strain was the limit.
    if (r.stress->generator_limited()) return ExitCode::generator_bound;
    if (r.stress->failed()) return ExitCode::thresholds_failed;
    return ExitCode::passed;
  }
  if (r.generator.generator_bound) return ExitCode::generator_bound;
  const bool threshold_failed = std::any_of(r.thresholds.begin(), r.thresholds.end(),
                                            [](const ThresholdVerdict& v) { return !v.passed; });
  if (threshold_failed) return ExitCode::thresholds_failed;
  if (r.soak && r.soak->failed()) return ExitCode::thresholds_failed;
  if (r.total.responses == 0 && r.script.iterations == 0) return ExitCode::run_failed;
  return ExitCode::passed;
}

std::string exit_reason(const RunResult& r, ExitCode code) {
  switch (code) {
    case ExitCode::run_failed:
      if (!r.aborted_reason.empty()) return "the run stopped early: " + r.aborted_reason;
      return "no response was received from " +
             (r.config.url.empty() ? r.config.script : r.config.url);
    case ExitCode::thresholds_failed:
      if (!r.threshold_abort.empty())
        return "stopped early: threshold " + r.threshold_abort + " failed (abort_on_fail)";
      return {};
    case ExitCode::interrupted:
      return "interrupted: the result covers what ran and is marked partial";
    default:
      return {};
  }
}

}  // namespace strain
