#include "engine/metrics/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/core/error.hpp"

namespace strain {

namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

std::int64_t saturate(std::uint64_t v) noexcept {
  return v > static_cast<std::uint64_t>(kInt64Max) ? kInt64Max : static_cast<std::int64_t>(v);
}

// HdrHistogram's getBucketsNeededToCoverValue: the k'th bucket covers [0, sub_bucket_count *
// 2^(k + unit)); the last one may reach past INT64_MAX.
int buckets_needed_to_cover(std::int64_t value, int sub_bucket_count, int unit_magnitude) {
  std::int64_t smallest_untrackable = static_cast<std::int64_t>(sub_bucket_count) << unit_magnitude;
  int buckets_needed = 1;
  while (smallest_untrackable <= value) {
    if (smallest_untrackable > kInt64Max / 2) return buckets_needed + 1;
    smallest_untrackable <<= 1;
    ++buckets_needed;
  }
  return buckets_needed;
}

}  // namespace

HistogramLayout HistogramLayout::compute(std::int64_t lowest_discernible,
                                         std::int64_t highest_trackable, int significant_digits) {
  if (lowest_discernible < 1) {
    throw Error("histogram: lowest discernible value must be >= 1, got " +
                std::to_string(lowest_discernible));
  }
  if (lowest_discernible > highest_trackable / 2) {
    throw Error("histogram: highest trackable value (" + std::to_string(highest_trackable) +
                ") must be at least twice the lowest discernible value (" +
                std::to_string(lowest_discernible) + ")");
  }
  if (significant_digits < 0 || significant_digits > 5) {
    throw Error("histogram: significant digits must be in 0..5, got " +
                std::to_string(significant_digits));
  }
  HistogramLayout l;
  l.lowest_discernible = lowest_discernible;
  l.highest_trackable = highest_trackable;
  l.significant_digits = significant_digits;

  // Both magnitudes use the floating-point formulas of Java and HdrHistogram_c on purpose:
  // for lowest values near 2^48 and above, floor(log(v)/log(2)) differs from the exact
  // integer log2, and the layout must match theirs bit for bit for encodings to agree.
  std::int64_t largest_single_unit = 2;
  for (int i = 0; i < significant_digits; ++i)
    largest_single_unit *= 10;
  const auto sub_bucket_count_magnitude = static_cast<int>(
      std::ceil(std::log(static_cast<double>(largest_single_unit)) / std::log(2.0)));
  l.sub_bucket_half_count_magnitude = std::max(sub_bucket_count_magnitude, 1) - 1;
  l.unit_magnitude = static_cast<int>(
      std::floor(std::log(static_cast<double>(lowest_discernible)) / std::log(2.0)));
  if (l.unit_magnitude + l.sub_bucket_half_count_magnitude > 61) {
    throw Error("histogram: lowest discernible value " + std::to_string(lowest_discernible) +
                " is too large for " + std::to_string(significant_digits) + " significant digits");
  }
  l.sub_bucket_count = 1 << (l.sub_bucket_half_count_magnitude + 1);
  l.bucket_count = buckets_needed_to_cover(highest_trackable, l.sub_bucket_count, l.unit_magnitude);
  l.counts_len = (l.bucket_count + 1) * (l.sub_bucket_count / 2);
  return l;
}

Histogram::Histogram(std::int64_t lowest_discernible, std::int64_t highest_trackable,
                     int significant_digits)
    : layout_(HistogramLayout::compute(lowest_discernible, highest_trackable, significant_digits)),
      highest_trackable_(highest_trackable),
      sub_mask_(static_cast<std::uint64_t>(layout_.sub_bucket_count - 1) << layout_.unit_magnitude),
      leading_zero_count_base_(64 - layout_.unit_magnitude -
                               (layout_.sub_bucket_half_count_magnitude + 1)),
      sub_bucket_half_count_(layout_.sub_bucket_count / 2),
      counts_(static_cast<std::size_t>(layout_.counts_len), 0) {}

void Histogram::record_n(std::int64_t value, std::int64_t count) noexcept {
  STRAIN_ASSERT(count >= 0);
  if (count <= 0) return;  // keeps min/max meaning "smallest/largest with a count"
  const bool over = value > highest_trackable_;
  saturated_ += over ? count : 0;
  value = over ? highest_trackable_ : value;
  value = value < 0 ? 0 : value;
  counts_[static_cast<std::size_t>(counts_index(value))] += count;
  total_ += count;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::add(const Histogram& other) {
  if (other.total_ == 0) return;
  if (!same_config(other)) {
    const std::int64_t saturated_before = saturated_;
    other.for_each_recorded(
        [this](std::int64_t value, std::int64_t count) { record_n(value, count); });
    // record_n has just counted whatever lies above our range. Other's saturated values sit
    // at or below its own clamp point: if that is in our range they were not counted again
    // and add up; if not, they are (at least mostly) among the ones just counted.
    const std::int64_t newly = saturated_ - saturated_before;
    const bool clamp_point_in_range =
        other.lowest_equivalent_value(other.highest_trackable_) <= highest_trackable_;
    saturated_ = saturated_before + (clamp_point_in_range ? newly + other.saturated_
                                                          : std::max(newly, other.saturated_));
    return;
  }
  const std::int32_t first = counts_index(other.min_);
  const std::int32_t last = counts_index(other.max_);
  for (std::int32_t i = first; i <= last; ++i) {
    counts_[static_cast<std::size_t>(i)] += other.counts_[static_cast<std::size_t>(i)];
  }
  total_ += other.total_;
  saturated_ += other.saturated_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::reset() noexcept {
  if (total_ != 0) {
    const auto first = static_cast<std::ptrdiff_t>(counts_index(min_));
    const auto last = static_cast<std::ptrdiff_t>(counts_index(max_));
    std::fill(counts_.begin() + first, counts_.begin() + last + 1, 0);
  }
  total_ = 0;
  saturated_ = 0;
  min_ = kInt64Max;
  max_ = 0;
}

bool Histogram::same_config(const Histogram& other) const noexcept {
  return layout_.lowest_discernible == other.layout_.lowest_discernible &&
         layout_.highest_trackable == other.layout_.highest_trackable &&
         layout_.significant_digits == other.layout_.significant_digits;
}

bool Histogram::operator==(const Histogram& other) const noexcept {
  return same_config(other) && total_ == other.total_ && counts_ == other.counts_;
}

std::int64_t Histogram::min() const noexcept {
  return total_ == 0 ? 0 : lowest_equivalent_value(min_);
}

std::int64_t Histogram::max() const noexcept {
  // As HdrHistogram: a histogram holding only zeros reports 0, not the top of bucket 0.
  return max_ == 0 ? 0 : highest_equivalent_value(max_);
}

double Histogram::mean() const noexcept {
  if (total_ == 0) return 0.0;
  // Each bucket stands for its median equivalent value, as in HdrHistogram's getMean: the
  // error per value is then at most half a bucket, i.e. 1/(2 * sub_bucket_half_count).
  double sum = 0.0;
  for_each_recorded([&](std::int64_t value, std::int64_t count) {
    sum += static_cast<double>(median_equivalent_value(value)) * static_cast<double>(count);
  });
  return sum / static_cast<double>(total_);
}

double Histogram::stddev() const noexcept {
  if (total_ == 0) return 0.0;
  const double m = mean();
  double sum_sq = 0.0;
  for_each_recorded([&](std::int64_t value, std::int64_t count) {
    const double d = static_cast<double>(median_equivalent_value(value)) - m;
    sum_sq += d * d * static_cast<double>(count);
  });
  return std::sqrt(sum_sq / static_cast<double>(total_));
}

std::int64_t Histogram::value_at_percentile(double percentile) const noexcept {
  if (total_ == 0) return 0;
  // Java's rule (nearest rank): one ulp off the percentile so that 99.9% of 1000 is rank 999
  // and not 1000 through round-off, then ceil. HdrHistogram_c rounds half up instead, which
  // can land one rank short of the nearest rank; we keep Java's, the reference reader's.
  double p = std::nextafter(percentile, -std::numeric_limits<double>::infinity());
  p = std::isnan(p) ? 0.0 : std::clamp(p, 0.0, 100.0);
  const double fp_count = p * static_cast<double>(total_) / 100.0;
  const auto target = std::max<std::int64_t>(static_cast<std::int64_t>(std::ceil(fp_count)), 1);
  std::int64_t running = 0;
  const std::int32_t last = counts_index(max_);
  for (std::int32_t i = counts_index(min_); i <= last; ++i) {
    running += counts_[static_cast<std::size_t>(i)];
    if (running >= target) {
      const std::int64_t v = value_at_index(i);
      return percentile == 0.0 ? lowest_equivalent_value(v) : highest_equivalent_value(v);
    }
  }
  return highest_equivalent_value(max_);  // unreachable while total_ matches the counts
}

std::int64_t Histogram::count_at_value(std::int64_t value) const noexcept {
  const std::int32_t index = value < 0 ? 0 : counts_index(value);
  return counts_[static_cast<std::size_t>(std::min(index, layout_.counts_len - 1))];
}

std::int64_t Histogram::value_at_index(std::int32_t index) const noexcept {
  STRAIN_ASSERT(index >= 0 && index < layout_.counts_len);
  const int half_mag = layout_.sub_bucket_half_count_magnitude;
  int bucket = (index >> half_mag) - 1;
  int sub = (index & (sub_bucket_half_count_ - 1)) + sub_bucket_half_count_;
  if (bucket < 0) {
    sub -= sub_bucket_half_count_;
    bucket = 0;
  }
  const int shift = bucket + layout_.unit_magnitude;
  // The last bucket of a histogram tracking up to INT64_MAX reaches past it.
  if (shift >= 63 ||
      static_cast<std::uint64_t>(sub) > (static_cast<std::uint64_t>(kInt64Max) >> shift)) {
    return kInt64Max;
  }
  return static_cast<std::int64_t>(sub) << shift;
}

std::int64_t Histogram::size_of_equivalent_value_range(std::int64_t value) const noexcept {
  const int bucket = bucket_index(value);
  const auto sub = value >> (bucket + layout_.unit_magnitude);
  const int adjusted = sub >= layout_.sub_bucket_count ? bucket + 1 : bucket;
  return std::int64_t{1} << (layout_.unit_magnitude + adjusted);
}

std::int64_t Histogram::lowest_equivalent_value(std::int64_t value) const noexcept {
  const int shift = bucket_index(value) + layout_.unit_magnitude;
  return (value >> shift) << shift;
}

// The three below compute in uint64 so that the top bucket of a histogram tracking up to
// INT64_MAX saturates at INT64_MAX instead of overflowing (Java wraps to negative there).
std::int64_t Histogram::next_non_equivalent_value(std::int64_t value) const noexcept {
  return saturate(static_cast<std::uint64_t>(lowest_equivalent_value(value)) +
                  static_cast<std::uint64_t>(size_of_equivalent_value_range(value)));
}

std::int64_t Histogram::highest_equivalent_value(std::int64_t value) const noexcept {
  return saturate(static_cast<std::uint64_t>(lowest_equivalent_value(value)) +
                  static_cast<std::uint64_t>(size_of_equivalent_value_range(value)) - 1);
}

std::int64_t Histogram::median_equivalent_value(std::int64_t value) const noexcept {
  return saturate(static_cast<std::uint64_t>(lowest_equivalent_value(value)) +
                  static_cast<std::uint64_t>(size_of_equivalent_value_range(value) >> 1));
}

}  // namespace strain
