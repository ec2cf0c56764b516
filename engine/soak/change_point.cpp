#include "engine/soak/change_point.hpp"

#include <limits>

namespace strain::soak {

LineFit fit_line(std::span<const TrendPoint> points) {
  // Within-segment least squares: each segment is centred on its own means, so its intercept
  // is free and only the slope is shared. Two passes (means, then deviations) keep the sums
  // exact enough for values near 1e9 with noise near 1e5.
  double sxx = 0;
  double sxy = 0;
  double syy = 0;
  std::size_t begin = 0;
  while (begin < points.size()) {
    std::size_t end = begin + 1;
    while (end < points.size() && points[end].segment == points[begin].segment)
      ++end;
    double t_mean = 0;
    double v_mean = 0;
    for (std::size_t i = begin; i < end; ++i) {
      t_mean += points[i].t_s;
      v_mean += points[i].value;
    }
    t_mean /= static_cast<double>(end - begin);
    v_mean /= static_cast<double>(end - begin);
    for (std::size_t i = begin; i < end; ++i) {
      const double dt = points[i].t_s - t_mean;
      const double dv = points[i].value - v_mean;
      sxx += dt * dt;
      sxy += dt * dv;
      syy += dv * dv;
    }
    begin = end;
  }
  LineFit fit;
  fit.slope = sxx > 0 ? sxy / sxx : 0;
  fit.rss = sxx > 0 ? syy - fit.slope * sxy : syy;
  if (fit.rss < 0) fit.rss = 0;
  return fit;
}

std::optional<ChangePoint> find_change_point(std::span<const TrendPoint> points,
                                             std::size_t min_before, std::size_t min_after,
                                             double max_rss_ratio) {
  if (min_before < 2) min_before = 2;
  if (min_after < 2) min_after = 2;
  if (points.size() < min_before + min_after) return std::nullopt;
  ChangePoint best;
  best.rss_one = fit_line(points).rss;
  best.rss_two = std::numeric_limits<double>::infinity();
  for (std::size_t k = min_before; k + min_after <= points.size(); ++k) {
    const double rss = fit_line(points.first(k)).rss + fit_line(points.subspan(k)).rss;
    if (rss < best.rss_two) {
      best.rss_two = rss;
      best.index = k;
      best.t_s = points[k].t_s;
    }
  }
  if (!(best.rss_one > 0) || best.rss_two > max_rss_ratio * best.rss_one) return std::nullopt;
  return best;
}

}  // namespace strain::soak
