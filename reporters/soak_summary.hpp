// The soak section of the console summary: one line per judged resource, gaps and restarts.
#pragma once

#include <string>
#include <vector>

#include "engine/results/soak_report.hpp"

namespace strain {

// "  soak  target rss      LEAK  +17.2 GiB/h [16.9, 17.5]  p 1e-9  reaches 1 GiB in 0.1 h".
std::string render_soak(const SoakReport& soak);

// The live line of a soak's verdicts so far, the most worrying first (at most three):
// "soak so far: api rss +12.1 MiB/h leak; api fds +0/h stable".
std::string render_soak_progress(const std::vector<SoakVerdict>& so_far);

}  // namespace strain
