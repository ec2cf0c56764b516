// The top of the page: what ran against what, the verdicts that decide the exit code, the
// headline figures, and strain's notes about itself.
#pragma once

#include <string>

#include "engine/results/run_result.hpp"

namespace strain::html {

// The page's <header>: title, target, configuration, partial/aborted marks and verdicts.
std::string render_header(const RunResult& result);

// The headline figures (requests, throughput, errors, latency) and the generator's notes.
std::string render_summary(const RunResult& result);

}  // namespace strain::html
