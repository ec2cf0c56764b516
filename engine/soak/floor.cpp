#include "engine/soak/floor.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace strain::soak {
namespace {

std::vector<TrendPoint> finite_sorted(std::span<const TrendPoint> points) {
  std::vector<TrendPoint> out;
  out.reserve(points.size());
  for (const TrendPoint& p : points) {
    if (std::isfinite(p.t_s) && std::isfinite(p.value)) out.push_back(p);
  }
  std::stable_sort(out.begin(), out.end(), [](const TrendPoint& a, const TrendPoint& b) {
    return a.segment < b.segment || (a.segment == b.segment && a.t_s < b.t_s);
  });
  return out;
}

double median_in_place(std::vector<double>& v) {
  const std::size_t n = v.size();
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (n % 2 == 1) return *mid;
  return (*mid + *std::max_element(v.begin(), mid)) / 2;
}

// One window's samples, [begin, end) of the sorted points.
struct Window {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// Cuts sorted points into windows of width_s anchored at each segment's first point, then
// drops the windows with fewer than half the samples of the median window.
std::vector<Window> cut(const std::vector<TrendPoint>& sorted, double width_s) {
  std::vector<Window> windows;
  std::size_t seg_begin = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i].segment != sorted[seg_begin].segment) seg_begin = i;
    const double cell = std::floor((sorted[i].t_s - sorted[seg_begin].t_s) / width_s);
    const bool same = !windows.empty() && i > 0 && sorted[i - 1].segment == sorted[i].segment &&
                      std::floor((sorted[i - 1].t_s - sorted[seg_begin].t_s) / width_s) == cell;
    if (same) {
      windows.back().end = i + 1;
    } else {
      windows.push_back({i, i + 1});
    }
  }
  if (windows.empty()) return windows;
  std::vector<double> counts;
  counts.reserve(windows.size());
  for (const Window& w : windows)
    counts.push_back(static_cast<double>(w.end - w.begin));
  const double typical = median_in_place(counts);
  std::erase_if(
      windows, [&](const Window& w) { return static_cast<double>(w.end - w.begin) < typical / 2; });
  return windows;
}

}  // namespace

std::vector<TrendPoint> window_minima(std::span<const TrendPoint> points, double window_s) {
  if (!(window_s > 0)) window_s = auto_window_s(points, true);
  const std::vector<TrendPoint> sorted = finite_sorted(points);
  std::vector<TrendPoint> out;
  if (sorted.empty()) return out;
  if (!(window_s > 0)) return sorted;  // a single point: it is its own floor
  for (const Window& w : cut(sorted, window_s)) {
    const auto lowest = std::min_element(
        sorted.begin() + static_cast<std::ptrdiff_t>(w.begin),
        sorted.begin() + static_cast<std::ptrdiff_t>(w.end),
        [](const TrendPoint& a, const TrendPoint& b) { return a.value < b.value; });
    out.push_back(*lowest);
  }
  return out;
}

std::vector<TrendPoint> window_medians(std::span<const TrendPoint> points, double window_s) {
  if (!(window_s > 0)) window_s = auto_window_s(points, false);
  const std::vector<TrendPoint> sorted = finite_sorted(points);
  std::vector<TrendPoint> out;
  if (sorted.empty()) return out;
  if (!(window_s > 0)) return sorted;
  std::vector<double> values;
  for (const Window& w : cut(sorted, window_s)) {
    values.clear();
    double t_sum = 0;
    for (std::size_t i = w.begin; i < w.end; ++i) {
      values.push_back(sorted[i].value);
      t_sum += sorted[i].t_s;
    }
    out.push_back({t_sum / static_cast<double>(w.end - w.begin), median_in_place(values),
                   sorted[w.begin].segment});
  }
  return out;
}

double auto_window_s(std::span<const TrendPoint> points, bool sawtooth) {
  const std::vector<TrendPoint> sorted = finite_sorted(points);
  std::vector<double> steps;
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    const double dt = sorted[i].t_s - sorted[i - 1].t_s;
    if (sorted[i].segment == sorted[i - 1].segment && dt > 0) steps.push_back(dt);
  }
  if (steps.empty()) return 0;
  const double spacing = median_in_place(steps);
  // The time the samples cover: each segment's span plus one spacing (its last sample's share).
  double covered = 0;
  std::size_t seg_begin = 0;
  for (std::size_t i = 1; i <= sorted.size(); ++i) {
    if (i == sorted.size() || sorted[i].segment != sorted[seg_begin].segment) {
      covered += sorted[i - 1].t_s - sorted[seg_begin].t_s + spacing;
      seg_begin = i;
    }
  }
  const double period = sawtooth ? sawtooth_period_s(points) : 0;
  // About 50 windows keeps Mann–Kendall's pairs many and the fit cheap; a window must hold a
  // few samples, and a collection or two: a window without one has no floor in it, only a
  // point on the way up, and a run of those looks like a trend.
  double width = std::max({covered / 50, 3 * spacing, 2 * period});
  if (covered / width < 20) width = std::max({covered / 20, 3 * spacing, 1.2 * period});
  return width;
}

double sawtooth_period_s(std::span<const TrendPoint> points) {
  const std::vector<TrendPoint> sorted = finite_sorted(points);
  std::vector<double> steps;
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].segment == sorted[i - 1].segment) {
      steps.push_back(std::fabs(sorted[i].value - sorted[i - 1].value));
    }
  }
  if (steps.size() < 4) return 0;
  const double big = 4 * median_in_place(steps);
  std::size_t drops = 0;
  std::size_t rises = 0;
  std::vector<double> gaps;
  double last_drop_t = 0;
  bool have_drop = false;
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].segment != sorted[i - 1].segment) {
      have_drop = false;  // a gap across a restart is no period
      continue;
    }
    const double d = sorted[i].value - sorted[i - 1].value;
    if (d > big) ++rises;
    if (d < -big) {
      ++drops;
      if (have_drop) gaps.push_back(sorted[i].t_s - last_drop_t);
      last_drop_t = sorted[i].t_s;
      have_drop = true;
    }
  }
  if (drops < 3 || drops < 3 * rises || gaps.empty()) return 0;
  return median_in_place(gaps);
}

}  // namespace strain::soak
