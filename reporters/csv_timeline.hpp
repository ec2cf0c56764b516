// The timeline as CSV: one row per interval, for spreadsheets and plotting scripts.
#pragma once

#include <string>

#include "engine/results/run_result.hpp"

namespace strain {

// A header line, then one row per timeline point (comma separated, '.' decimals).
std::string render_csv_timeline(const RunResult& result);

}  // namespace strain
