// Open-model runs: did strain keep its schedule, and if not, whose limit was it? A pure
// judgement on a finished RunResult, so the decision can be tested without timing anything.
#pragma once

#include "engine/results/run_result.hpp"

namespace strain {

// The limits the judgement uses.
struct ScheduleTolerance {
  double min_started_share = 0.99;     // of the arrivals due
  double lag_ms = 10.0;                // p99 of schedule lag, of strain's own lateness, of loop lag
  double busy_fraction = 0.90;         // workers' mean CPU busy fraction
  double target_failing_share = 0.10;  // of attempts failed: the target failed first
};

// For a result with a schedule (offered_rps set): when fewer than min_started_share of the due
// arrivals started, or their schedule lag p99 passed lag_ms, decides whose limit it was and
// adds a note saying so. strain's, when its own lateness or its event loop's lag passed
// lag_ms at p99 or its CPU was busy_fraction busy, unless the target was failing: then sets
// generator.generator_bound. Otherwise the target did not keep up. Does nothing when the
// schedule was kept or the run had none.
void judge_schedule(RunResult& result, const ScheduleTolerance& tolerance = {});

}  // namespace strain
