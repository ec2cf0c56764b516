// The soak section of the console summary: one line per judged resource, gaps and restarts.
#pragma once

#include <string>

#include "engine/results/soak_report.hpp"

namespace strain {

// "  soak  target rss      LEAK  +17.2 GiB/h [16.9, 17.5]  p 1e-9  reaches 1 GiB in 0.1 h".
std::string render_soak(const SoakReport& soak);

}  // namespace strain
