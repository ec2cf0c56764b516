// The soak part of the page: each watched resource's timeline with its fitted floor trend,
// the verdicts with their projections, and the gaps and restarts seen.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "engine/results/soak_report.hpp"
#include "reporters/html/decimate.hpp"

namespace strain::html {

// HTML for a <section>; `duration_s` is the load's length (the charts' time axis).
std::string render_soak_section(const SoakReport& soak, double duration_s);

// The verdict's slope drawn through the floors it was fitted to, from the first bucket after
// the warm-up to the last. The result keeps the slope but not the intercept, so the intercept
// is Theil–Sen's own: the median of floor − slope × t over those buckets. None when the verdict
// fitted nothing (too short to judge) or fewer than two buckets follow the warm-up.
std::optional<std::array<Point, 2>> fitted_trend(const SoakVerdict& verdict,
                                                 const SoakSeries& series, double warmup_s);

}  // namespace strain::html
