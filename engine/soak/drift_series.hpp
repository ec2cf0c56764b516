// DriftSeries: a per-interval metric (p99 latency, error rate) over a long run in fixed
// memory, kept as an approximate median per bucket: the level a drift is judged on.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/soak/bucket_grid.hpp"
#include "engine/soak/trend.hpp"

namespace strain::soak {

// One bucket of a DriftSeries: a small weighted sample of its values that keeps the median.
struct DriftBucket {
  static constexpr std::size_t kKept = 32;  // weighted values kept per bucket
  struct Kept {
    double value = 0;   // one retained value
    double weight = 0;  // how many samples it stands for
  };

  std::int64_t cell = 0;           // grid cell index at the series' current width
  std::uint32_t segment = 0;       // the segment every sample here belongs to
  std::uint64_t count = 0;         // samples merged into this bucket
  double t_sum_s = 0;              // sum of the samples' times (their mean is the bucket's time)
  double min = 0;                  // the smallest sample
  double max = 0;                  // the largest sample
  std::array<Kept, kKept> kept{};  // up to kKept values, ascending, weights summing to count
  std::size_t kept_size = 0;       // entries of `kept` in use

  void add(double t_s, double value);
  void merge(const DriftBucket& later);
  // The weighted median of the kept values: exact up to kKept samples, then approximate (in
  // tests its rank among the bucket's samples strays by about 0.03, unbiased).
  double median() const;
};

// Bounded memory for a drift series: at most `capacity` buckets starting `initial_width_s`
// wide and doubling when full; each bucket keeps count, min, max and an approximate median.
// Not thread-safe: one sampler owns it.
class DriftSeries {
 public:
  // All memory is taken here; add() never allocates.
  explicit DriftSeries(std::size_t capacity = 256, double initial_width_s = 1.0);

  // Times in seconds, non-decreasing; a restart of the watched thing gives a new segment.
  void add(double t_s, double value, std::uint32_t segment = 0) { grid_.add(t_s, value, segment); }

  // One point per bucket: (mean time of its samples, its median, segment), in time order.
  std::vector<TrendPoint> points() const;
  std::span<const DriftBucket> buckets() const { return grid_.buckets(); }
  std::uint64_t samples() const { return grid_.samples(); }  // raw samples added (finite)
  std::size_t capacity() const { return grid_.capacity(); }  // most buckets ever kept
  double bucket_width_s() const { return grid_.width_s(); }  // current cell width
  // Buckets dropped, oldest first, when no two neighbours shared a segment to merge.
  std::uint64_t dropped_buckets() const { return grid_.dropped_buckets(); }

 private:
  BucketGrid<DriftBucket> grid_;
};

}  // namespace strain::soak
