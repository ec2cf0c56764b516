#include "engine/stress/knee.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace strain::stress {
namespace {

constexpr std::size_t kMinPoints = 4;
// How far below the diagonal of the unit square the knee must lie. y = x^1.3 stays just under
// it (0.096), y = x^1.4 reaches 0.12, y = x^2 0.25, a hockey stick with its corner mid-range
// 0.5; a straight line with noise of a few percent of its range stays below it. A gentler bend
// than x^1.3 is not a knee worth reporting.
constexpr double kMinKneeDepth = 0.1;
// Kneedle is blind to scale: a flat curve with a little noise, stretched to the unit square,
// looks as bent as a real knee. Latency is on a ratio scale, so a curve whose whole rise is
// under this share of its highest value is flat, whatever its shape.
constexpr double kMinRelativeRise = 0.1;

// The curve at one distinct x.
struct Step {
  double x = 0;
  double y = 0;           // mean of the y measured at x
  std::size_t index = 0;  // the first of the caller's points at x
};

// Repeated measurements at one throughput are samples of one latency, so they are averaged:
// keeping only the lowest would bias the curve down where the repeats are.
std::vector<Step> merged_by_x(std::span<const CurvePoint> points) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (std::isfinite(points[i].x) && std::isfinite(points[i].y)) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return points[a].x < points[b].x; });
  std::vector<Step> steps;
  std::size_t begin = 0;
  while (begin < order.size()) {
    std::size_t end = begin;
    double sum_y = 0;
    while (end < order.size() && points[order[end]].x == points[order[begin]].x) {
      sum_y += points[order[end]].y;
      ++end;
    }
    // stable_sort kept measurement order among equal x, so order[begin] was measured first.
    steps.push_back(
        {points[order[begin]].x, sum_y / static_cast<double>(end - begin), order[begin]});
    begin = end;
  }
  return steps;
}

// A running median of 3: it removes a one-step spike yet leaves any monotone run, and so a
// clean corner, exactly as it was (a moving average would round the corner and move the knee).
// The ends have one neighbour and are kept.
std::vector<double> median_of_3(const std::vector<Step>& steps) {
  std::vector<double> y(steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (i == 0 || i + 1 == steps.size()) {
      y[i] = steps[i].y;
    } else {
      y[i] = std::max(std::min(steps[i - 1].y, steps[i].y),
                      std::min(std::max(steps[i - 1].y, steps[i].y), steps[i + 1].y));
    }
  }
  return y;
}

bool rises_enough(const std::vector<double>& y) {
  const auto [lo, hi] = std::minmax_element(y.begin(), y.end());
  if (!(y.back() > y.front())) return false;  // a knee is where latency turns *upward*
  return *hi - *lo >= kMinRelativeRise * std::max(std::abs(*hi), std::abs(*lo));
}

}  // namespace

std::optional<Knee> find_knee(std::span<const CurvePoint> points) {
  const std::vector<Step> steps = merged_by_x(points);
  if (steps.size() < kMinPoints) return std::nullopt;
  const std::vector<double> y = median_of_3(steps);
  if (!rises_enough(y)) return std::nullopt;

  const double x_lo = steps.front().x;
  const double x_span = steps.back().x - x_lo;
  const auto [y_lo, y_hi] = std::minmax_element(y.begin(), y.end());
  const double y_span = *y_hi - *y_lo;
  // The ends are left out: on a convex increasing curve they lie on the diagonal, and where
  // one does not (a last step whose latency fell back) a knee at the edge of the measurements
  // is no turn of the curve.
  std::size_t best = 0;
  double best_depth = -1;
  for (std::size_t i = 1; i + 1 < steps.size(); ++i) {
    const double depth = (steps[i].x - x_lo) / x_span - (y[i] - *y_lo) / y_span;
    if (depth > best_depth) {
      best_depth = depth;
      best = i;
    }
  }
  if (best_depth < kMinKneeDepth) return std::nullopt;
  return Knee{steps[best].index, steps[best].x, steps[best].y};
}

}  // namespace strain::stress
