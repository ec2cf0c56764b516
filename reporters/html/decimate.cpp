#include "reporters/html/decimate.hpp"

#include <cmath>
#include <cstdint>

namespace strain::html {
namespace {

std::int64_t bucket_of(double x, double x_origin, double bucket_width) {
  return static_cast<std::int64_t>(std::floor((x - x_origin) / bucket_width));
}

}  // namespace

std::vector<Point> decimate_min_max(std::span<const Point> points, double x_origin,
                                    double bucket_width) {
  std::vector<Point> out;
  if (!(bucket_width > 0)) return out;
  std::size_t i = 0;
  while (i < points.size()) {
    if (!std::isfinite(points[i].x) || !std::isfinite(points[i].y)) {
      ++i;
      continue;
    }
    const std::int64_t bucket = bucket_of(points[i].x, x_origin, bucket_width);
    std::size_t low = i;
    std::size_t high = i;
    std::size_t j = i + 1;
    for (; j < points.size(); ++j) {
      const Point& p = points[j];
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      if (bucket_of(p.x, x_origin, bucket_width) != bucket) break;
      // Strict comparisons keep the first of equal values: the output is stable.
      if (p.y < points[low].y) low = j;
      if (p.y > points[high].y) high = j;
    }
    // In x order, so the line still goes forward in time through the column.
    const std::size_t first = low < high ? low : high;
    const std::size_t second = low < high ? high : low;
    out.push_back(points[first]);
    if (second != first) out.push_back(points[second]);
    i = j;
  }
  return out;
}

std::vector<BandPoint> decimate_band(std::span<const BandPoint> points, double x_origin,
                                     double bucket_width) {
  std::vector<BandPoint> out;
  if (!(bucket_width > 0)) return out;
  bool open = false;
  std::int64_t bucket = 0;
  for (const BandPoint& p : points) {
    if (!std::isfinite(p.x) || !std::isfinite(p.low) || !std::isfinite(p.high)) continue;
    const std::int64_t b = bucket_of(p.x, x_origin, bucket_width);
    if (!open || b != bucket) {
      out.push_back(p);
      bucket = b;
      open = true;
      continue;
    }
    BandPoint& last = out.back();
    if (p.low < last.low) last.low = p.low;
    if (p.high > last.high) last.high = p.high;
  }
  return out;
}

}  // namespace strain::html
