// The exit code as a pure function of the result: the decision table, precedence included.
#include "engine/runtime/exit_code.hpp"

#include <doctest/doctest.h>

using namespace strain;

namespace {

RunResult answered() {
  RunResult r;
  r.total.responses = 10;
  return r;
}

}  // namespace

TEST_CASE("exit codes: each outcome alone") {
  CHECK(exit_code_for(answered()) == ExitCode::passed);
  RunResult silent;
  CHECK(exit_code_for(silent) == ExitCode::run_failed);
  CHECK(exit_reason(silent, ExitCode::run_failed).find("no response was received") == 0);
  RunResult iterations_only;  // a script that made no request but ran its iterations
  iterations_only.script.iterations = 3;
  CHECK(exit_code_for(iterations_only) == ExitCode::passed);
  RunResult aborted = answered();
  aborted.aborted_reason = "worker 1 could not start: out of descriptors";
  CHECK(exit_code_for(aborted) == ExitCode::run_failed);
  CHECK(exit_reason(aborted, ExitCode::run_failed) ==
        "the run stopped early: worker 1 could not start: out of descriptors");
  RunResult threshold = answered();
  threshold.thresholds = {{"latency{p99}", "< 1ms", 5.0, false, ""}};
  CHECK(exit_code_for(threshold) == ExitCode::thresholds_failed);
  RunResult passing = answered();
  passing.thresholds = {{"latency{p99}", "< 10ms", 5.0, true, ""}};
  CHECK(exit_code_for(passing) == ExitCode::passed);
  RunResult bound = answered();
  bound.generator.generator_bound = true;
  CHECK(exit_code_for(bound) == ExitCode::generator_bound);
  RunResult partial = answered();
  partial.partial = true;
  CHECK(exit_code_for(partial) == ExitCode::interrupted);
  RunResult threshold_abort = answered();
  threshold_abort.partial = true;
  threshold_abort.threshold_abort = "errors{rate} < 1%";
  CHECK(exit_code_for(threshold_abort) == ExitCode::thresholds_failed);
  CHECK(exit_reason(threshold_abort, ExitCode::thresholds_failed) ==
        "stopped early: threshold errors{rate} < 1% failed (abort_on_fail)");
}

TEST_CASE("exit codes: precedence when several hold") {
  RunResult r = answered();
  r.thresholds = {{"latency{p99}", "< 1ms", 5.0, false, ""}};
  r.generator.generator_bound = true;
  // strain's own limit comes before a verdict on the target it could not load properly.
  CHECK(exit_code_for(r) == ExitCode::generator_bound);
  r.partial = true;
  CHECK(exit_code_for(r) == ExitCode::interrupted);
  r.threshold_abort = "latency{p99} < 1ms";
  CHECK(exit_code_for(r) == ExitCode::thresholds_failed);
  r.aborted_reason = "worker 0 could not start";
  CHECK(exit_code_for(r) == ExitCode::run_failed);
}
