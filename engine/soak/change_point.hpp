// The best single change point of a floor series: where two lines explain the data much better
// than one (a cache that fills, then a leak; a step, then flat).
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "engine/soak/trend.hpp"

namespace strain::soak {

// A split of time-ordered points into an earlier and a later part.
struct ChangePoint {
  std::size_t index = 0;  // first point of the later part
  double t_s = 0;         // its time
  double rss_one = 0;     // residual sum of squares of one least-squares line over all points
  double rss_two = 0;     // the same for two independent lines, one per part
};

// Least-squares lines with one intercept per segment and a common slope, so a restart is not
// mistaken for a change. Considers every split leaving at least `min_before` and `min_after`
// points; returns the one with the least rss_two if rss_two <= max_rss_ratio * rss_one, else
// nullopt. `points` must be in time order. O(n^2).
std::optional<ChangePoint> find_change_point(std::span<const TrendPoint> points,
                                             std::size_t min_before, std::size_t min_after,
                                             double max_rss_ratio);

// The residual sum of squares of that line (per-segment intercepts, common slope) over
// `points`, and its slope in value units per second.
struct LineFit {
  double slope = 0;  // value units per second
  double rss = 0;    // sum of squared residuals
};
LineFit fit_line(std::span<const TrendPoint> points);

}  // namespace strain::soak
