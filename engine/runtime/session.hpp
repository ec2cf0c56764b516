// A whole command's run: setup() → load → teardown(), its signals, and its verdict. Every
// command (run, demo, and later soak and stress) runs its plan through one of these.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/results/interval_snapshot.hpp"
#include "engine/results/run_result.hpp"
#include "engine/runtime/controller.hpp"
#include "engine/runtime/load_plan.hpp"

namespace strain {

// Optional hooks, all called on the thread that called run_session().
struct SessionHooks {
  // A step begins or a note is due: "running setup()".
  std::function<void(std::string_view)> on_note;
  // The load is about to start (with --start-at: has just begun at the instant): the
  // controller, for a command that steers it (stress) or watches alongside it (soak).
  std::function<void(Controller&)> on_start;
  // Every interval, after the thresholds' abort_on_fail judgement (see ControllerHooks).
  std::function<IntervalVerdict(const IntervalSnapshot&, const RunResult& so_far)> on_interval;
  // The load has ended and its result is whole: a last word on it (soak verdicts) before the
  // exit code is decided from it.
  std::function<void(RunResult&)> on_result;
};

struct SessionOutcome {
  bool ran = false;                  // the load ran: `result` holds what it measured
  RunResult result;                  // thresholds judged; partial when interrupted
  ExitCode code = ExitCode::passed;  // what the process should exit with
  std::vector<std::string> errors;   // lines for stderr explaining a non-zero code
};

// Runs `plan` to its end on the calling thread (workers get their own). SIGINT or SIGTERM:
// the first ends the current step (setup: no load is run; the load: it drains and the result
// is marked partial; teardown: cut short), the second also gives up on what is in flight.
// Throws strain::Error only for start-up problems (a worker thread that cannot start).
SessionOutcome run_session(const LoadPlan& plan, const SessionHooks& hooks);

}  // namespace strain
