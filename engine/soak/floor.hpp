// Reducing a raw series to the points a trend is fitted on: per-window minima (the floor of a
// garbage-collected sawtooth) or per-window medians (drift of a per-interval metric).
#pragma once

#include <span>
#include <vector>

#include "engine/soak/trend.hpp"

namespace strain::soak {

// Per-window minima: for each window of `window_s` seconds (anchored at each segment's first
// point; a window never spans two segments), the smallest value and the time it was seen.
// Windows holding fewer than half the samples of a typical window (a segment's ragged end, a
// gap) are left out: their minimum may have missed the collection. Non-finite values are
// skipped. Output in (segment, time) order. window_s <= 0 chooses auto_window_s(points, true).
std::vector<TrendPoint> window_minima(std::span<const TrendPoint> points, double window_s = 0);

// Per-window medians, windows as above, each at the mean time of its samples.
// window_s <= 0 chooses auto_window_s(points, false).
std::vector<TrendPoint> window_medians(std::span<const TrendPoint> points, double window_s = 0);

// A window width for `points`: about 50 windows over the covered time, at least 3 samples wide,
// and, when `sawtooth` and a sawtooth is seen, at least two collection periods wide (relaxed to
// 1.2 periods when that alone would leave fewer than 20 windows). 0 when fewer than 2 points.
double auto_window_s(std::span<const TrendPoint> points, bool sawtooth);

// The typical period between collections of a sawtooth (seconds): the median time between
// big drops, a big drop being larger than 4x the median step. 0 when there is no sawtooth:
// fewer than 3 big drops, or not at least 3x as many big drops as big rises (noise is
// symmetric, a sawtooth is not).
double sawtooth_period_s(std::span<const TrendPoint> points);

}  // namespace strain::soak
