// The HTML report: one self-contained page (inline SVG charts, no fetches) rendered from a
// RunResult, for a run, a soak or a stress search.
#pragma once

#include <string>

#include "engine/results/run_result.hpp"

namespace strain {

// The whole page. Pure: the same result gives the same bytes.
std::string render_html_report(const RunResult& result);

}  // namespace strain
