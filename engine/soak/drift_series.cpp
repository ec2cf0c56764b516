#include "engine/soak/drift_series.hpp"

#include <algorithm>
#include <cmath>

namespace strain::soak {
namespace {

using Kept = DriftBucket::Kept;
constexpr std::size_t kKept = DriftBucket::kKept;

// Shrinks n ascending weighted values to kKept: the values at the weighted quantiles
// (i + offset) / kKept, each standing for an equal share of the weight. A fixed offset would
// always keep the lower (or upper) of two equal neighbours and drift a little every merge;
// an offset spread over (0, 1) makes each value kept with a chance in proportion to its weight,
// as KLL's compactors do with a coin, so the median stays unbiased.
void reduce_into(const Kept* in, std::size_t n, DriftBucket& b) {
  if (n <= kKept) {
    std::copy(in, in + n, b.kept.begin());
    b.kept_size = n;
    return;
  }
  double total = 0;
  for (std::size_t i = 0; i < n; ++i)
    total += in[i].weight;
  const double share = total / static_cast<double>(kKept);
  // The golden-ratio sequence over the samples seen: deterministic, equidistributed in (0, 1).
  const double phase = static_cast<double>(b.count) * 0.6180339887498949;
  const double offset = phase - std::floor(phase);
  std::size_t j = 0;
  double below = in[0].weight;  // weight of in[0..j]
  for (std::size_t i = 0; i < kKept; ++i) {
    const double target = (static_cast<double>(i) + offset) * share;
    while (below < target && j + 1 < n)
      below += in[++j].weight;
    b.kept[i] = {in[j].value, share};
  }
  b.kept_size = kKept;
}

}  // namespace

void DriftBucket::add(double t_s, double value) {
  min = count == 0 ? value : std::min(min, value);
  max = count == 0 ? value : std::max(max, value);
  ++count;
  t_sum_s += t_s;
  std::array<Kept, kKept + 1> scratch;
  const auto at =
      std::upper_bound(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(kept_size), value,
                       [](double v, const Kept& k) { return v < k.value; });
  const auto out = std::copy(kept.begin(), at, scratch.begin());
  *out = {value, 1.0};
  std::copy(at, kept.begin() + static_cast<std::ptrdiff_t>(kept_size), out + 1);
  reduce_into(scratch.data(), kept_size + 1, *this);
}

void DriftBucket::merge(const DriftBucket& later) {
  if (later.count == 0) return;
  min = count == 0 ? later.min : std::min(min, later.min);
  max = count == 0 ? later.max : std::max(max, later.max);
  count += later.count;
  t_sum_s += later.t_sum_s;
  std::array<Kept, 2 * kKept> scratch;
  const auto end = std::merge(
      kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(kept_size), later.kept.begin(),
      later.kept.begin() + static_cast<std::ptrdiff_t>(later.kept_size), scratch.begin(),
      [](const Kept& a, const Kept& b) { return a.value < b.value; });
  reduce_into(scratch.data(), static_cast<std::size_t>(end - scratch.begin()), *this);
}

double DriftBucket::median() const {
  double total = 0;
  for (std::size_t i = 0; i < kept_size; ++i)
    total += kept[i].weight;
  double below = 0;
  for (std::size_t i = 0; i < kept_size; ++i) {
    below += kept[i].weight;
    if (below > total / 2) return kept[i].value;
    // Exactly half the weight at or below this value: the median lies between it and the next.
    if (below == total / 2 && i + 1 < kept_size) return (kept[i].value + kept[i + 1].value) / 2;
  }
  return kept_size > 0 ? kept[kept_size - 1].value : 0;
}

DriftSeries::DriftSeries(std::size_t capacity, double initial_width_s)
    : grid_(capacity, initial_width_s) {}

std::vector<TrendPoint> DriftSeries::points() const {
  std::vector<TrendPoint> out;
  out.reserve(grid_.buckets().size());
  for (const DriftBucket& b : grid_.buckets()) {
    out.push_back({b.t_sum_s / static_cast<double>(b.count), b.median(), b.segment});
  }
  return out;
}

}  // namespace strain::soak
