// FloorSeries: a resource's samples over a long run in fixed memory, kept as per-bucket
// minimum and maximum: the floor a leak is judged on, and the peaks beside it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/soak/bucket_grid.hpp"
#include "engine/soak/trend.hpp"

namespace strain::soak {

// One bucket of a FloorSeries: the samples of one segment within one grid cell.
struct FloorBucket {
  std::int64_t cell = 0;      // grid cell index at the series' current width
  std::uint32_t segment = 0;  // the segment every sample here belongs to
  std::uint64_t count = 0;    // samples merged into this bucket
  double t_min_s = 0;         // time of the smallest sample (the earliest, on ties)
  double min = 0;             // the smallest sample: the floor
  double t_max_s = 0;         // time of the largest sample
  double max = 0;             // the largest sample: the peak

  void add(double t_s, double value);
  void merge(const FloorBucket& later);
};

// Bounded memory for an 8-hour run at one sample a second: at most `capacity` buckets, starting
// `initial_width_s` wide and doubling when full. A minimum of minima is exact: a window over
// points() has the floor of the raw samples it covers. Not thread-safe: one sampler owns it.
class FloorSeries {
 public:
  // All memory is taken here; add() never allocates.
  explicit FloorSeries(std::size_t capacity = 512, double initial_width_s = 1.0);

  // Times in seconds, non-decreasing; a restart of the watched thing gives a new segment.
  void add(double t_s, double value, std::uint32_t segment = 0) { grid_.add(t_s, value, segment); }

  // One point per bucket: (time of the minimum, the minimum, segment), in time order.
  std::vector<TrendPoint> points() const;
  std::span<const FloorBucket> buckets() const { return grid_.buckets(); }
  std::uint64_t samples() const { return grid_.samples(); }  // raw samples added (finite)
  std::size_t capacity() const { return grid_.capacity(); }  // most buckets ever kept
  double bucket_width_s() const { return grid_.width_s(); }  // current cell width
  // Buckets dropped, oldest first, when no two neighbours shared a segment to merge.
  std::uint64_t dropped_buckets() const { return grid_.dropped_buckets(); }

 private:
  BucketGrid<FloorBucket> grid_;
};

}  // namespace strain::soak
