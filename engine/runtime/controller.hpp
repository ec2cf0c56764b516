// Runs a LoadPlan: starts the workers, gathers their interval reports, stops and drains them,
// and returns the merged RunResult.
#pragma once

#include <functional>

#include "engine/results/run_result.hpp"
#include "engine/runtime/load_plan.hpp"

namespace strain {

// A live view after each reporting interval, on the controller's (calling) thread.
struct Progress {
  double elapsed_s = 0;         // since the load started
  double planned_s = 0;         // the planned load duration
  IntervalPoint interval;       // the interval just finished
  std::uint64_t responses = 0;  // responses so far
  std::uint64_t failed = 0;     // failed requests so far
  std::uint32_t vus = 0;        // virtual users running
  bool stopping = false;        // the load phase is over; draining
};

struct RunHooks {
  std::function<void(const Progress&)> on_interval;  // optional
};

// Runs the plan to completion on the calling thread (workers get their own threads).
// SIGINT/SIGTERM: the first drains and returns a partial result; the second stops at once.
// Throws strain::Error only for start-up problems (bad request template, fd limit).
RunResult run_load(const LoadPlan& plan, const RunHooks& hooks);

}  // namespace strain
