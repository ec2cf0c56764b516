// HDR histogram: fixed range and precision, O(1) record, exact merge; layout and value
// equivalence identical to HdrHistogram (Java 2.1.x, HdrHistogram_c), so encodings interoperate.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "engine/core/assert.hpp"

namespace strain {

namespace detail {
// The codec's write access to a histogram's counts; nothing else uses it.
struct HistogramAccess;
}  // namespace detail

// The bucket layout implied by (lowest_discernible, highest_trackable, significant_digits),
// computed exactly as HdrHistogram does; field names follow HdrHistogram_c.
struct HistogramLayout {
  std::int64_t lowest_discernible = 0;      // smallest value told apart from 0, in value units
  std::int64_t highest_trackable = 0;       // largest value recorded without saturating
  int significant_digits = 0;               // decimal digits kept, 0..5
  int unit_magnitude = 0;                   // floor(log2(lowest_discernible))
  int sub_bucket_half_count_magnitude = 0;  // log2(sub_bucket_count) - 1
  int sub_bucket_count = 0;                 // linear sub-buckets per bucket (power of 2)
  int bucket_count = 0;                     // power-of-2 buckets covering highest_trackable
  int counts_len = 0;                       // (bucket_count + 1) * sub_bucket_count / 2

  // Throws strain::Error naming the bad parameter when the configuration is invalid
  // (lowest < 1, highest < 2 * lowest, digits outside 0..5, unit too large).
  static HistogramLayout compute(std::int64_t lowest_discernible, std::int64_t highest_trackable,
                                 int significant_digits);
};

// Values are int64 in the caller's unit (strain records microseconds). Constant memory: a
// `counts_len` array of int64 allocated once by the constructor. The default (1 µs .. 1 h,
// 3 digits) has 23,552 counts: 188,416 bytes of counts plus a 120-byte object.
// Copies are deep; a moved-from histogram may only be assigned to or destroyed.
// Not thread-safe: each worker owns its histograms and posts copies (or swaps) upward.
class Histogram {
 public:
  static constexpr std::int64_t kDefaultHighestTrackable = 3'600'000'000;  // 1 hour in µs

  // Throws strain::Error on an invalid configuration (see HistogramLayout::compute).
  explicit Histogram(std::int64_t lowest_discernible = 1,
                     std::int64_t highest_trackable = kDefaultHighestTrackable,
                     int significant_digits = 3);

  // Hot path: no allocation, no branch beyond the clamp. Negative values count as 0; values
  // above highest_trackable() count at highest_trackable() and in saturated_count().
  void record(std::int64_t value) noexcept {
    const bool over = value > highest_trackable_;
    saturated_ += static_cast<std::int64_t>(over);
    value = over ? highest_trackable_ : value;
    value = value < 0 ? 0 : value;
    counts_[static_cast<std::size_t>(counts_index(value))] += 1;
    total_ += 1;
    min_ = value < min_ ? value : min_;
    max_ = value > max_ ? value : max_;
  }
  // As record(), `count` times (count >= 0).
  void record_n(std::int64_t value, std::int64_t count) noexcept;

  // Exact merge. Same config: counts add bucket for bucket. Different config: each of
  // other's buckets is re-recorded at its lowest equivalent value (as HdrHistogram does).
  void add(const Histogram& other);
  // Back to empty; clears only the populated index range, so it is cheap when sparse.
  void reset() noexcept;
  // Same lowest_discernible, highest_trackable and significant_digits.
  bool same_config(const Histogram& other) const noexcept;
  // Same config and the same count in every bucket (min/max/saturated follow or are not
  // carried by encodings, so they are not compared).
  bool operator==(const Histogram& other) const noexcept;

  // --- queries. Empty histogram: counts, min, max, mean, stddev and percentiles are 0.
  std::int64_t total_count() const noexcept { return total_; }
  // Values recorded above highest_trackable() (they are in the counts, at the top). Exact,
  // except after an add() across configs of a histogram that itself holds values merged
  // across configs from a wider range: then a lower bound.
  std::int64_t saturated_count() const noexcept { return saturated_; }
  // For readers of saved histograms: the encodings do not carry the saturated count, so files
  // store it beside them and it is put back here (n >= 0, already among the counts).
  void restore_saturated_count(std::int64_t n) noexcept { saturated_ = n; }
  // Lowest equivalent value of the smallest recorded value.
  std::int64_t min() const noexcept;
  // Highest equivalent value of the largest recorded value (as HdrHistogram reports it).
  std::int64_t max() const noexcept;
  // Mean and population standard deviation over bucket median-equivalent values.
  double mean() const noexcept;
  double stddev() const noexcept;
  // Nearest-rank percentile, as Java's getValueAtPercentile: the count to reach is
  // ceil(p/100 * total) (at least 1); returns the highest equivalent value of the bucket
  // reaching it (lowest equivalent for p == 0). p is clamped to [0, 100].
  std::int64_t value_at_percentile(double percentile) const noexcept;
  // Count in the bucket holding `value` (clamped into the counts array).
  std::int64_t count_at_value(std::int64_t value) const noexcept;
  // Calls f(lowest_equivalent_value, count) for every non-empty bucket, in value order.
  template <class F>
  void for_each_recorded(F&& f) const {
    if (total_ == 0) return;
    const std::int32_t last = counts_index(max_);
    for (std::int32_t i = counts_index(min_); i <= last; ++i) {
      const std::int64_t c = counts_[static_cast<std::size_t>(i)];
      if (c != 0) f(value_at_index(i), c);
    }
  }

  // --- value equivalence (HdrHistogram semantics); value in [0, top of the counts array].
  // highest/median/next saturate at INT64_MAX where a bucket of a histogram tracking up to
  // INT64_MAX reaches past it (Java overflows there).
  std::int64_t lowest_equivalent_value(std::int64_t value) const noexcept;
  std::int64_t highest_equivalent_value(std::int64_t value) const noexcept;
  std::int64_t median_equivalent_value(std::int64_t value) const noexcept;
  std::int64_t next_non_equivalent_value(std::int64_t value) const noexcept;
  std::int64_t size_of_equivalent_value_range(std::int64_t value) const noexcept;

  // --- configuration and layout
  std::int64_t lowest_discernible() const noexcept { return layout_.lowest_discernible; }
  std::int64_t highest_trackable() const noexcept { return highest_trackable_; }
  int significant_digits() const noexcept { return layout_.significant_digits; }
  const HistogramLayout& layout() const noexcept { return layout_; }
  std::int32_t counts_len() const noexcept { return layout_.counts_len; }
  // Bytes of the counts array (the only allocation).
  std::size_t counts_bytes() const noexcept { return counts_.size() * sizeof(std::int64_t); }

  // Index of `value`'s bucket in the counts array; value in [0, top of the counts array].
  std::int32_t counts_index(std::int64_t value) const noexcept {
    const int bucket = bucket_index(value);
    const auto sub = static_cast<std::int32_t>(value >> (bucket + layout_.unit_magnitude));
    const std::int32_t index =
        ((bucket + 1) << layout_.sub_bucket_half_count_magnitude) + sub - sub_bucket_half_count_;
    STRAIN_ASSERT(index >= 0);
    return index;
  }
  // Lowest value of the bucket at `index` (saturates at INT64_MAX past the int64 range).
  std::int64_t value_at_index(std::int32_t index) const noexcept;
  std::int64_t count_at_index(std::int32_t index) const noexcept {
    return counts_[static_cast<std::size_t>(index)];
  }

 private:
  friend struct detail::HistogramAccess;

  // HdrHistogram's getBucketIndex: the power-of-2 bucket, from the position of the top bit.
  int bucket_index(std::int64_t value) const noexcept {
    return leading_zero_count_base_ -
           __builtin_clzll(static_cast<std::uint64_t>(value) | sub_mask_);
  }

  HistogramLayout layout_;
  std::int64_t highest_trackable_;      // copy of layout_.highest_trackable for the hot path
  std::uint64_t sub_mask_;              // (sub_bucket_count - 1) << unit_magnitude
  int leading_zero_count_base_;         // 64 - unit_magnitude - log2(sub_bucket_count)
  std::int32_t sub_bucket_half_count_;  // sub_bucket_count / 2
  std::int64_t total_ = 0;              // sum of all counts
  std::int64_t saturated_ = 0;          // recordings clamped down to highest_trackable_
  std::int64_t min_ = std::numeric_limits<std::int64_t>::max();  // smallest recorded (clamped)
  std::int64_t max_ = 0;                                         // largest recorded (clamped)
  std::vector<std::int64_t> counts_;  // counts_len entries; non-zero only in [idx(min_), idx(max_)]
};

}  // namespace strain
