// The page's tables: requests by name and tags, checks, thresholds, scenarios, script errors.
#pragma once

#include <string>

#include "engine/results/run_result.hpp"

namespace strain::html {

// Requests by name, checks and thresholds (saying so when there are none), then scenarios and
// script errors when there are any.
std::string render_tables(const RunResult& result);

}  // namespace strain::html
