// Runs a plan as a command's session and reports it: live progress, --out, the summary.
#pragma once

#include "engine/results/run_result.hpp"
#include "engine/runtime/load_plan.hpp"
#include "tools/strain/run_flags.hpp"

namespace strain {

// Returns the exit code. `result_out`, when given, receives the result of a load that ran.
// Throws strain::Error for start-up problems (an --out file that cannot be written, a worker
// thread that cannot start).
int run_and_report(const LoadPlan& plan, const OutputFlags& output, RunResult* result_out = nullptr);

}  // namespace strain
