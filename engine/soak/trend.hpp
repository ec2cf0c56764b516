// Trend statistics of a time series: Theil–Sen slope with Sen's confidence interval and the
// Mann–Kendall test, both pooled over segments (a watched process that restarted).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace strain::soak {

// One observation of a series.
struct TrendPoint {
  double t_s = 0;             // seconds since the run started
  double value = 0;           // in the series' own unit (bytes, count, ms, fraction)
  std::uint32_t segment = 0;  // life of the watched thing: a restart starts a larger id
};

// Mann–Kendall test for a monotonic trend. Pairs are formed within one segment only; S and
// Var(S) are summed over segments (each segment is an independent series under H0).
struct MannKendall {
  double s = 0;           // sum of sign(later - earlier) over the pairs
  double var_s = 0;       // Var(S) under H0, corrected for ties in value within each segment
  double var_factor = 1;  // Var(S) was multiplied by this for z (serial correlation; 1: none)
  double z = 0;           // (S - sign(S)) / sqrt(var_factor Var S): with continuity correction
  double p_value = 1;     // two-sided, normal approximation; 1 when Var(S) is 0
};

// Theil–Sen slope: the median of the pairwise slopes within segments. With no pair at all,
// slope, intercept and the interval are NaN.
struct TheilSen {
  double slope = 0;       // value units per second
  double intercept = 0;   // value at t = 0 of the line through the last segment's points
  double ci_low = 0;      // lower bound of Sen's interval (Gilbert 1987, ranks from Var S)
  double ci_high = 0;     // upper bound of the same interval
  std::size_t pairs = 0;  // N': pairwise slopes the median was taken over
};

// Mann–Kendall over `points` (any order). Pairs at equal times are left out; times within a
// segment are expected to be distinct. `var_factor` scales Var(S) for serially correlated
// points (serial_correlation). O(n^2) time, O(n) memory.
MannKendall mann_kendall(std::span<const TrendPoint> points, double var_factor = 1);

// Theil–Sen slope and its two-sided `confidence` interval over `points` (any order), the
// interval's Var(S) scaled by `var_factor`. O(n^2) time and memory (n(n-1)/2 doubles):
// callers reduce long series first (floor.hpp).
TheilSen theil_sen(std::span<const TrendPoint> points, double confidence = 0.95,
                   double var_factor = 1);

// Serial correlation of the points about a line of `slope` (each segment with its own
// intercept), from the ranks of the residuals, pairs within a segment only.
struct SerialCorrelation {
  double var_factor = 1;  // Hamed & Rao (1998) n/n*_s: lags significant at 5%; never below 1,
                          // so negative correlation never makes a test bolder
  double lag1 = 0;        // lag-1 autocorrelation of the residuals' ranks
};
SerialCorrelation serial_correlation(std::span<const TrendPoint> points, double slope);

// Median of value - slope * t over the points of `segment`: the intercept of that segment's
// line with the given slope. NaN when the segment has no point.
double segment_intercept(std::span<const TrendPoint> points, double slope, std::uint32_t segment);

// The standard normal quantile (inverse CDF) at p in (0, 1).
double normal_quantile(double p);

}  // namespace strain::soak
