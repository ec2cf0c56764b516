// Human-readable output: the end-of-run summary (the live view is reporters/live_view).
#pragma once

#include <cstdio>
#include <string>

#include "engine/results/run_result.hpp"

namespace strain {

// The summary printed after a run, wrk-like but with the percentiles that matter.
std::string render_summary(const RunResult& result);

}  // namespace strain
