// `strain compare` on the console: a table of figures per series, the notes, a verdict line.
#pragma once

#include <string>

#include "engine/results/compare.hpp"

namespace strain {

// The table (one row per figure of every series in both runs, one line per series in only
// one), then the notes and a final "verdict: ..." line.
std::string render_comparison(const RunComparison& comparison);

}  // namespace strain
