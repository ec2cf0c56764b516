#include "engine/soak/floor_series.hpp"

namespace strain::soak {

void FloorBucket::add(double t_s, double value) {
  if (count == 0 || value < min) {
    min = value;
    t_min_s = t_s;
  }
  if (count == 0 || value > max) {
    max = value;
    t_max_s = t_s;
  }
  ++count;
}

void FloorBucket::merge(const FloorBucket& later) {
  if (later.count == 0) return;
  if (count == 0 || later.min < min) {
    min = later.min;
    t_min_s = later.t_min_s;
  }
  if (count == 0 || later.max > max) {
    max = later.max;
    t_max_s = later.t_max_s;
  }
  count += later.count;
}

FloorSeries::FloorSeries(std::size_t capacity, double initial_width_s)
    : grid_(capacity, initial_width_s) {}

std::vector<TrendPoint> FloorSeries::points() const {
  std::vector<TrendPoint> out;
  out.reserve(grid_.buckets().size());
  for (const FloorBucket& b : grid_.buckets())
    out.push_back({b.t_min_s, b.min, b.segment});
  return out;
}

}  // namespace strain::soak
