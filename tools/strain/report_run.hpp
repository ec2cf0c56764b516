// Runs a plan as a command's session and reports it: live progress, --out, the summary.
#pragma once

#include "engine/results/run_result.hpp"
#include "engine/runtime/load_plan.hpp"
#include "engine/soak/soak_session.hpp"
#include "engine/stress/stress_session.hpp"
#include "tools/strain/run_flags.hpp"

namespace strain {

// Returns the exit code. `result_out`, when given, receives the result of a load that ran.
// Throws strain::Error for start-up problems (an --out file that cannot be written, a worker
// thread that cannot start).
// `soak`, when given, watches the target through the load and judges it into the result.
// `stress`, when given, steers the load's rate (a breaking-point search) and reports it; the
// live line shows its state, and each finished step is printed as a row.
int run_and_report(const LoadPlan& plan, const OutputFlags& output, RunResult* result_out = nullptr,
                   soak::SoakSession* soak = nullptr, stress::StressSession* stress = nullptr);

}  // namespace strain
