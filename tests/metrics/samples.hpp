// Seeded latency samples and brute-force statistics: the independent truth histogram tests check
// against.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace strain::test {

enum class Shape { uniform, lognormal, bimodal };

inline std::string shape_name(Shape s) {
  switch (s) {
    case Shape::uniform:
      return "uniform";
    case Shape::lognormal:
      return "lognormal";
    case Shape::bimodal:
      return "bimodal";
  }
  return "?";
}

// Microsecond samples:
//   uniform   1 .. 100,000 µs
//   lognormal median 2 ms (mu = ln 2000, sigma = 1)
//   bimodal   99% normal(1 ms, 0.1 ms), 1% uniform 2 .. 5 s: the far tail
inline std::vector<std::int64_t> make_samples(Shape shape, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::int64_t> out;
  out.reserve(n);
  std::uniform_int_distribution<std::int64_t> uniform(1, 100'000);
  std::lognormal_distribution<double> lognormal(std::log(2000.0), 1.0);
  std::normal_distribution<double> bulk(1000.0, 100.0);
  std::uniform_int_distribution<std::int64_t> tail(2'000'000, 5'000'000);
  std::uniform_int_distribution<int> percent(0, 99);
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t v = 0;
    switch (shape) {
      case Shape::uniform:
        v = uniform(rng);
        break;
      case Shape::lognormal:
        v = std::llround(lognormal(rng));
        break;
      case Shape::bimodal:
        v = percent(rng) == 0 ? tail(rng) : std::llround(bulk(rng));
        break;
    }
    out.push_back(std::max<std::int64_t>(v, 1));
  }
  return out;
}

// Exact figures from the raw samples.
struct Exact {
  std::vector<std::int64_t> sorted;  // the samples in ascending order
  double mean = 0.0;                 // arithmetic mean
  double stddev = 0.0;               // population standard deviation
  double rms = 0.0;                  // sqrt(mean of squares): scales the bucket error of stddev
};

inline Exact exact_stats(std::vector<std::int64_t> samples) {
  Exact e;
  std::sort(samples.begin(), samples.end());
  e.sorted = std::move(samples);
  if (e.sorted.empty()) return e;
  long double sum = 0;
  for (const auto v : e.sorted)
    sum += static_cast<long double>(v);
  const long double mean = sum / static_cast<long double>(e.sorted.size());
  long double sq = 0;
  long double sq0 = 0;
  for (const auto v : e.sorted) {
    const long double d = static_cast<long double>(v) - mean;
    sq += d * d;
    sq0 += static_cast<long double>(v) * static_cast<long double>(v);
  }
  e.mean = static_cast<double>(mean);
  e.stddev = static_cast<double>(std::sqrt(sq / static_cast<long double>(e.sorted.size())));
  e.rms = static_cast<double>(std::sqrt(sq0 / static_cast<long double>(e.sorted.size())));
  return e;
}

// Nearest-rank percentile with the percentile given in parts per million, in exact integer
// arithmetic: the sample of rank max(1, ceil(ppm * n / 1e6)).
inline std::int64_t nearest_rank(const std::vector<std::int64_t>& sorted, std::int64_t ppm) {
  const auto n = static_cast<std::int64_t>(sorted.size());
  const std::int64_t rank = std::max<std::int64_t>(1, (ppm * n + 999'999) / 1'000'000);
  return sorted[static_cast<std::size_t>(rank - 1)];
}

// The promise of 3 significant digits, stated without the histogram's own functions: a
// reported upper bound lies at or above the truth by at most 1/1000 of it (exact below 1000).
inline bool upper_within_3_digits(std::int64_t reported, std::int64_t truth) {
  return reported >= truth && (reported - truth) * 1000 <= truth;
}
// Same for a reported lower bound (min, p0).
inline bool lower_within_3_digits(std::int64_t reported, std::int64_t truth) {
  return reported <= truth && (truth - reported) * 1000 <= truth;
}

// The percentiles every test checks, as (ppm, percent).
struct Pct {
  std::int64_t ppm;
  double percent;
};
inline constexpr Pct kPercentiles[] = {{0, 0.0},         {500'000, 50.0},   {900'000, 90.0},
                                       {950'000, 95.0},  {990'000, 99.0},   {999'000, 99.9},
                                       {999'900, 99.99}, {1'000'000, 100.0}};

}  // namespace strain::test
