// Human-readable output: the live progress line and the end-of-run summary.
#pragma once

#include <cstdio>
#include <string>

#include "engine/results/interval_snapshot.hpp"
#include "engine/results/run_result.hpp"

namespace strain {

// The summary printed after a run, wrk-like but with the percentiles that matter.
std::string render_summary(const RunResult& result);

// One progress line after an interval:
// "[ 3s/10s] 41.2k req/s  p50 1.1ms  p99 3.2ms  failed 0  50 VUs".
std::string render_progress(const IntervalSnapshot& interval, const RunResult& so_far);

}  // namespace strain
