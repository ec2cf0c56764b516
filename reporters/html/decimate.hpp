// Long series reduced to what a chart can show: per pixel column, the lowest and highest point.
#pragma once

#include <span>
#include <vector>

namespace strain::html {

// A point of a series in chart units (or pixels, once scaled).
struct Point {
  double x = 0;
  double y = 0;
};

// A band's point: the floor and the peak at one x.
struct BandPoint {
  double x = 0;
  double low = 0;
  double high = 0;
};

// Each run of consecutive points in one bucket of width `bucket_width` (from `x_origin`) is
// reduced to its lowest and highest point, in their original order; for points sorted by x
// that is two per bucket. Every peak and trough survives, so a one-second spike in a
// twelve-hour run is still drawn. Non-finite points are dropped.
std::vector<Point> decimate_min_max(std::span<const Point> points, double x_origin,
                                    double bucket_width);

// A band reduced the same way: one point per bucket, the lowest low and the highest high, at
// the bucket's first x.
std::vector<BandPoint> decimate_band(std::span<const BandPoint> points, double x_origin,
                                     double bucket_width);

}  // namespace strain::html
