// Human-readable output: the live progress line and the end-of-run summary.
#pragma once

#include <cstdio>
#include <string>

#include "engine/results/run_result.hpp"

namespace strain {

// The summary printed after a run, wrk-like but with the percentiles that matter.
std::string render_summary(const RunResult& result);

// One progress line: "[ 3s/10s] 41.2k req/s  p50 1.1ms  p99 3.2ms  errors 0  50 VUs".
std::string render_progress(double elapsed_s, double planned_s, const IntervalPoint& interval,
                            std::uint64_t failed_total, std::uint32_t vus);

}  // namespace strain
