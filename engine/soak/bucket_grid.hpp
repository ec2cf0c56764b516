// A bounded time series: at most `capacity` buckets on a time grid whose cell width doubles
// (adjacent buckets merge pairwise) whenever it is full. The storage of FloorSeries and
// DriftSeries; the bucket type says what a bucket keeps.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace strain::soak {

// Bucket needs: `std::int64_t cell; std::uint32_t segment;` and
// `void add(double t_s, double value)`, `void merge(const Bucket& later)`.
template <class Bucket>
class BucketGrid {
 public:
  // All memory is taken here; add() never allocates. capacity >= 2; width_s > 0.
  BucketGrid(std::size_t capacity, double initial_width_s)
      : capacity_(capacity < 2 ? 2 : capacity),
        width_s_(initial_width_s > 0 ? initial_width_s : 1.0) {
    // Made and cleared at once, not just reserved: the pages are touched now, so a soak's own
    // RSS does not creep up over its first minutes as buckets fill (which a short run would
    // judge as strain leaking).
    buckets_.resize(capacity_);
    buckets_.clear();
  }

  // Times must not go backwards (a late sample joins the latest bucket); a restart gives a
  // new segment id. Non-finite values are counted in skipped() and otherwise ignored.
  void add(double t_s, double value, std::uint32_t segment) {
    if (!std::isfinite(t_s) || !std::isfinite(value)) {
      ++skipped_;
      return;
    }
    if (samples_ == 0) origin_s_ = last_t_s_ = t_s;
    if (t_s < last_t_s_) t_s = last_t_s_;
    last_t_s_ = t_s;
    ++samples_;
    for (;;) {
      const auto cell = static_cast<std::int64_t>(std::floor((t_s - origin_s_) / width_s_));
      if (!buckets_.empty() && buckets_.back().segment == segment && buckets_.back().cell == cell) {
        buckets_.back().add(t_s, value);
        return;
      }
      if (buckets_.size() < capacity_) {
        Bucket b{};
        b.cell = cell;
        b.segment = segment;
        b.add(t_s, value);
        buckets_.push_back(b);
        return;
      }
      compact();
    }
  }

  std::span<const Bucket> buckets() const { return buckets_; }
  std::size_t capacity() const { return capacity_; }
  double width_s() const { return width_s_; }
  std::uint64_t samples() const { return samples_; }
  std::uint64_t skipped() const { return skipped_; }
  std::uint64_t dropped_buckets() const { return dropped_; }

 private:
  // Doubles the width and merges neighbours that now share a cell and a segment, until a slot
  // is free. When no two neighbours share a segment (a target restarting every sample) no
  // doubling helps: the oldest bucket goes instead, and dropped_buckets() says so.
  void compact() {
    bool mergeable = false;
    for (std::size_t i = 1; i < buckets_.size() && !mergeable; ++i)
      mergeable = buckets_[i].segment == buckets_[i - 1].segment;
    while (mergeable && buckets_.size() == capacity_) {
      width_s_ *= 2;
      std::size_t kept = 0;
      for (std::size_t i = 0; i < buckets_.size(); ++i) {
        Bucket b = buckets_[i];
        b.cell = b.cell >> 1;  // cells are never negative: times never precede the origin
        if (kept > 0 && buckets_[kept - 1].segment == b.segment &&
            buckets_[kept - 1].cell == b.cell) {
          buckets_[kept - 1].merge(b);
        } else {
          buckets_[kept++] = b;
        }
      }
      buckets_.erase(buckets_.begin() + static_cast<std::ptrdiff_t>(kept), buckets_.end());
    }
    if (buckets_.size() == capacity_) {
      buckets_.erase(buckets_.begin());
      ++dropped_;
    }
  }

  std::size_t capacity_;
  double width_s_;
  std::vector<Bucket> buckets_;
  double origin_s_ = 0;
  double last_t_s_ = 0;
  std::uint64_t samples_ = 0;
  std::uint64_t skipped_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace strain::soak
