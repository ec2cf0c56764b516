// Test data shared by the results tests: latencies with a known shape, their brute-force
// percentile (the independent truth for a histogram's), and script metrics.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/results/run_result.hpp"

namespace strain::test {

// n latencies in µs from an exponential distribution of mean `mean_us`, deterministic: the
// quantile function at the midpoints (i + 0.5) / n. A heavy enough tail that the few samples
// above p99 of a small run spread widely, as real tails do.
inline std::vector<std::int64_t> exponential_us(int n, double mean_us) {
  std::vector<std::int64_t> v;
  for (int i = 0; i < n; ++i) {
    const double u = (i + 0.5) / n;
    v.push_back(static_cast<std::int64_t>(std::llround(-mean_us * std::log(1.0 - u))));
  }
  return v;
}

// Nearest-rank percentile of the raw samples, ms: the independent truth for the histogram's.
inline double brute_percentile_ms(std::vector<std::int64_t> v, double p) {
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return static_cast<double>(v[std::max<std::size_t>(rank, 1) - 1]) / 1000.0;
}

// A script metric with its tallies; the trend histogram starts empty.
inline CustomMetric make_metric(std::string name, CustomMetricKind kind, double sum = 0,
                                std::uint64_t count = 0, std::uint64_t nonzero = 0) {
  CustomMetric m;
  m.name = std::move(name);
  m.kind = kind;
  m.sum = sum;
  m.count = count;
  m.nonzero = nonzero;
  return m;
}

}  // namespace strain::test
