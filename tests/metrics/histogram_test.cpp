#include "engine/metrics/histogram.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "engine/core/error.hpp"
#include "tests/metrics/samples.hpp"

using namespace strain;
using strain::test::Shape;

namespace {

constexpr std::int64_t kMax64 = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t kSamples = 400'000;  // every checked percentile is an integer rank

Histogram record_all(const std::vector<std::int64_t>& samples, Histogram h = Histogram()) {
  for (const auto v : samples)
    h.record(v);
  return h;
}

std::vector<std::pair<std::int64_t, std::int64_t>> buckets(const Histogram& h) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  h.for_each_recorded([&](std::int64_t v, std::int64_t c) { out.emplace_back(v, c); });
  return out;
}

}  // namespace

// Reference figures printed by Java HdrHistogram 2.1.11 (org.HdrHistogram.Histogram fields
// unitMagnitude, subBucketHalfCountMagnitude, subBucketCount, bucketCount, countsArrayLength).
TEST_CASE("bucket layout matches Java HdrHistogram") {
  struct Row {
    std::int64_t lowest, highest;
    int digits, unit_magnitude, half_magnitude, sub_bucket_count, bucket_count, counts_len;
  };
  const Row rows[] = {
      {1, 3600000000LL, 3, 0, 10, 2048, 22, 23552},
      {1, 2LL, 0, 0, 0, 2, 2, 3},
      {1, 1000LL, 1, 0, 4, 32, 6, 112},
      {1000, 10000000000LL, 2, 9, 7, 256, 18, 2432},
      {7, 1000000LL, 5, 2, 17, 262144, 1, 262144},
      {1, 9223372036854775807LL, 3, 0, 10, 2048, 53, 55296},
      {1, 9223372036854775807LL, 5, 0, 17, 262144, 46, 6160384},
      {1024, 1099511627776LL, 4, 10, 14, 32768, 17, 294912},
      // Java's floor(log(v)/log(2)) says 48 here where the exact log2 is 47: we follow Java.
      {281474976710655, 9223372036854775807LL, 2, 48, 7, 256, 8, 1152},
  };
  for (const auto& r : rows) {
    CAPTURE(r.lowest);
    CAPTURE(r.highest);
    CAPTURE(r.digits);
    const auto l = HistogramLayout::compute(r.lowest, r.highest, r.digits);
    CHECK(l.unit_magnitude == r.unit_magnitude);
    CHECK(l.sub_bucket_half_count_magnitude == r.half_magnitude);
    CHECK(l.sub_bucket_count == r.sub_bucket_count);
    CHECK(l.bucket_count == r.bucket_count);
    CHECK(l.counts_len == r.counts_len);
  }
}

TEST_CASE("default histogram: 1 us .. 1 h at 3 digits in 188,416 bytes of counts") {
  const Histogram h;
  CHECK(h.lowest_discernible() == 1);
  CHECK(h.highest_trackable() == 3'600'000'000);
  CHECK(h.significant_digits() == 3);
  CHECK(h.counts_len() == 23552);
  CHECK(h.counts_bytes() == 188'416);
}

TEST_CASE("invalid configurations throw strain::Error") {
  CHECK_THROWS_AS(Histogram(0, 1000, 3), Error);
  CHECK_THROWS_AS(Histogram(-1, 1000, 3), Error);
  CHECK_THROWS_AS(Histogram(10, 19, 3), Error);
  CHECK_NOTHROW(Histogram(10, 20, 3));
  CHECK_THROWS_AS(Histogram(1, 1000, 6), Error);
  CHECK_THROWS_AS(Histogram(1, 1000, -1), Error);
  CHECK_THROWS_AS(Histogram(kMax64 / 4, kMax64, 5), Error);  // unit + sub-bucket magnitude > 61
}

// Reference figures printed by Java HdrHistogram 2.1.11: lowestEquivalentValue,
// highestEquivalentValue, medianEquivalentValue, sizeOfEquivalentValueRange.
TEST_CASE("value equivalence matches Java HdrHistogram") {
  struct Row {
    std::int64_t value, lowest, highest, median, size;
  };
  SUBCASE("1 .. 3.6e9, 3 digits") {
    const Histogram h(1, 3600000000LL, 3);
    const Row rows[] = {
        {0, 0, 0, 0, 1},
        {1, 1, 1, 1, 1},
        {2, 2, 2, 2, 1},
        {1023, 1023, 1023, 1023, 1},
        {1024, 1024, 1024, 1024, 1},
        {2047, 2047, 2047, 2047, 1},
        {2048, 2048, 2049, 2049, 2},
        {2049, 2048, 2049, 2049, 2},
        {2050, 2050, 2051, 2051, 2},
        {4095, 4094, 4095, 4095, 2},
        {4096, 4096, 4099, 4098, 4},
        {4097, 4096, 4099, 4098, 4},
        {10000, 10000, 10007, 10004, 8},
        {123456, 123456, 123519, 123488, 64},
        {1000000, 999936, 1000447, 1000192, 512},
        {3599999999LL, 3598712832LL, 3600809983LL, 3599761408LL, 2097152},
        {3600000000LL, 3598712832LL, 3600809983LL, 3599761408LL, 2097152},
    };
    for (const auto& r : rows) {
      CAPTURE(r.value);
      CHECK(h.lowest_equivalent_value(r.value) == r.lowest);
      CHECK(h.highest_equivalent_value(r.value) == r.highest);
      CHECK(h.median_equivalent_value(r.value) == r.median);
      CHECK(h.size_of_equivalent_value_range(r.value) == r.size);
      CHECK(h.next_non_equivalent_value(r.value) == r.highest + 1);
      CHECK(h.value_at_index(h.counts_index(r.value)) == r.lowest);
    }
  }
  SUBCASE("1000 .. 1e10, 2 digits") {
    const Histogram h(1000, 10000000000LL, 2);
    const Row rows[] = {
        {0, 0, 511, 256, 512},
        {1, 0, 511, 256, 512},
        {511, 0, 511, 256, 512},
        {512, 512, 1023, 768, 512},
        {999, 512, 1023, 768, 512},
        {1000, 512, 1023, 768, 512},
        {1500, 1024, 1535, 1280, 512},
        {65535, 65024, 65535, 65280, 512},
        {65536, 65536, 66047, 65792, 512},
        {123456789, 123207680, 123731967, 123469824, 524288},
        {9999999999LL, 9999220736LL, 10066329599LL, 10032775168LL, 67108864},
    };
    for (const auto& r : rows) {
      CAPTURE(r.value);
      CHECK(h.lowest_equivalent_value(r.value) == r.lowest);
      CHECK(h.highest_equivalent_value(r.value) == r.highest);
      CHECK(h.median_equivalent_value(r.value) == r.median);
      CHECK(h.size_of_equivalent_value_range(r.value) == r.size);
    }
  }
}

TEST_CASE("every index maps back to itself through its lowest value") {
  struct Config {
    std::int64_t lowest, highest;
    int digits;
  };
  for (const Config c : {Config{1, 3600000000LL, 3}, Config{1000, 10000000000LL, 2},
                         Config{7, 1000000, 5}, Config{1, 2, 0}}) {
    const Histogram h(c.lowest, c.highest, c.digits);
    std::int64_t previous = -1;
    for (std::int32_t i = 0; i < h.counts_len(); ++i) {
      const std::int64_t v = h.value_at_index(i);
      REQUIRE(v > previous);  // buckets are ordered and disjoint
      REQUIRE(h.counts_index(v) == i);
      previous = v;
    }
  }
}

// The figures in this case were printed by Java HdrHistogram 2.1.11 for the same values.
TEST_CASE("statistics of a small histogram match Java HdrHistogram") {
  Histogram h(1, 3600000000LL, 3);
  h.record_n(0, 3);
  for (const std::int64_t v : {1, 2, 3, 1000, 2047, 2048})
    h.record(v);
  h.record_n(2049, 5);
  h.record_n(100000, 7);
  h.record(3599999999LL);
  CHECK(h.total_count() == 22);
  CHECK(h.min() == 0);
  CHECK(h.max() == 3600809983LL);
  CHECK(h.mean() == doctest::Approx(1.636580343181818E8).epsilon(1e-12));
  CHECK(h.stddev() == doctest::Approx(7.498192302216737E8).epsilon(1e-12));
  const std::pair<double, std::int64_t> java[] = {{0.0, 0},
                                                  {10.0, 0},
                                                  {25.0, 3},
                                                  {50.0, 2049},
                                                  {75.0, 100031},
                                                  {90.0, 100031},
                                                  {99.0, 3600809983LL},
                                                  {99.9, 3600809983LL},
                                                  {100.0, 3600809983LL}};
  for (const auto& row : java) {
    CAPTURE(row.first);
    CHECK(h.value_at_percentile(row.first) == row.second);
  }
}

TEST_CASE("percentiles, min, max, mean and stddev against brute force") {
  for (const Shape shape : {Shape::uniform, Shape::lognormal, Shape::bimodal}) {
    CAPTURE(test::shape_name(shape));
    const auto samples =
        test::make_samples(shape, kSamples, 42 + static_cast<std::uint64_t>(shape));
    const Histogram h = record_all(samples);
    const test::Exact exact = test::exact_stats(samples);

    CHECK(h.total_count() == static_cast<std::int64_t>(kSamples));
    CHECK(h.saturated_count() == 0);
    CHECK(test::lower_within_3_digits(h.min(), exact.sorted.front()));
    CHECK(test::upper_within_3_digits(h.max(), exact.sorted.back()));
    for (const auto& pct : test::kPercentiles) {
      CAPTURE(pct.percent);
      const std::int64_t truth = test::nearest_rank(exact.sorted, pct.ppm);
      const std::int64_t got = h.value_at_percentile(pct.percent);
      CAPTURE(truth);
      CAPTURE(got);
      if (pct.ppm == 0) {
        CHECK(test::lower_within_3_digits(got, truth));
      } else {
        CHECK(test::upper_within_3_digits(got, truth));
      }
    }
    // Each value stands for its bucket's middle, at most 1/2048 of it away: the mean is off by
    // at most mean/2048, the standard deviation by at most rms/2048.
    CHECK(std::abs(h.mean() - exact.mean) <= exact.mean / 1000.0);
    CHECK(std::abs(h.stddev() - exact.stddev) <= exact.rms / 1000.0);
  }
}

namespace {

// A bucket as HdrHistogram defines it, restated here without the histogram's code: a value
// keeps its top log2(sub_bucket_count) bits above the unit, where sub_bucket_count is the
// smallest power of two >= 2 * 10^digits and the unit the largest power of two <= lowest.
struct RefBucket {
  std::int64_t low;    // lowest value in the bucket
  std::int64_t width;  // values in the bucket: [low, low + width)
};

RefBucket ref_bucket(std::int64_t value, int digits, std::int64_t lowest) {
  std::int64_t two_times_ten_pow = 2;
  for (int i = 0; i < digits; ++i)
    two_times_ten_pow *= 10;
  std::int64_t sub_bucket_count = 1;
  while (sub_bucket_count < two_times_ten_pow)
    sub_bucket_count *= 2;
  int shift = 0;
  while ((std::int64_t{2} << shift) <= lowest)
    ++shift;
  while ((value >> shift) >= sub_bucket_count)
    ++shift;
  return {(value >> shift) << shift, std::int64_t{1} << shift};
}

// The precision the header states: a reported value is within a relative 10^-digits of the
// truth; below lowest_discernible, within lowest_discernible. `off` = |reported - truth|.
bool within_digits(std::int64_t off, std::int64_t truth, int digits, std::int64_t lowest) {
  std::int64_t ten_pow = 1;
  for (int i = 0; i < digits; ++i)
    ten_pow *= 10;
  return off >= 0 && off * ten_pow < std::max(truth, lowest * ten_pow);
}

struct Range {
  const char* name;
  std::int64_t lowest;  // the histogram's lowest discernible value
  std::function<std::int64_t(std::mt19937_64&)> draw;
};

std::int64_t log_uniform(std::mt19937_64& rng, double lo, double hi) {
  std::uniform_real_distribution<double> e(std::log(lo), std::log(hi));
  return std::clamp<std::int64_t>(std::llround(std::exp(e(rng))), static_cast<std::int64_t>(lo),
                                  static_cast<std::int64_t>(hi));
}

}  // namespace

// For every precision and several ranges, up to the 1 h default top: each percentile equals
// the top of the bucket holding the brute-force nearest-rank value (so never below it), and
// lies within 10^-digits of it; min, max and mean within the same precision.
TEST_CASE("error bounds at every precision against brute force") {
  constexpr std::int64_t kTop = Histogram::kDefaultHighestTrackable;
  const Range ranges[] = {
      {"1 .. 1000 us, uniform", 1,
       [](std::mt19937_64& rng) {
         return std::uniform_int_distribution<std::int64_t>(1, 1000)(rng);
       }},
      {"1 us .. 1 h, log-uniform over 31 powers of two", 1,
       [](std::mt19937_64& rng) { return log_uniform(rng, 1.0, static_cast<double>(kTop)); }},
      {"1 ms .. 10 s, uniform", 1,
       [](std::mt19937_64& rng) {
         return std::uniform_int_distribution<std::int64_t>(1'000, 10'000'000)(rng);
       }},
      {"within 2 of a power of two, 2 .. 2^31", 1,
       [](std::mt19937_64& rng) {
         const int k = std::uniform_int_distribution<int>(1, 31)(rng);
         const auto off = std::uniform_int_distribution<std::int64_t>(-2, 2)(rng);
         return std::max<std::int64_t>(1, (std::int64_t{1} << k) + off);
       }},
      {"lowest discernible 1000 (unit 512), 1 us .. 1 h log-uniform", 1000,
       [](std::mt19937_64& rng) { return log_uniform(rng, 1.0, static_cast<double>(kTop)); }},
  };
  std::int64_t fixed_ppm[] = {0,       1,       10,      1'000,   10'000,   100'000,
                              250'000, 500'000, 750'000, 900'000, 950'000,  990'000,
                              999'000, 999'900, 999'990, 999'999, 1'000'000};
  std::mt19937_64 rng(20261201);
  for (int digits = 0; digits <= 5; ++digits) {
    for (const Range& range : ranges) {
      CAPTURE(digits);
      CAPTURE(range.name);
      // Sizes vary so that some ranks are whole and some are rounded up.
      const std::size_t n = 20'000 + static_cast<std::size_t>(digits) * 1'237;
      std::vector<std::int64_t> samples(n);
      for (auto& v : samples)
        v = range.draw(rng);
      Histogram h(range.lowest, kTop, digits);
      for (const auto v : samples)
        h.record(v);
      const test::Exact exact = test::exact_stats(samples);
      REQUIRE(h.total_count() == static_cast<std::int64_t>(n));
      REQUIRE(h.saturated_count() == 0);

      std::vector<std::int64_t> ppms(std::begin(fixed_ppm), std::end(fixed_ppm));
      std::uniform_int_distribution<std::int64_t> any_ppm(1, 1'000'000);
      for (int i = 0; i < 24; ++i)
        ppms.push_back(any_ppm(rng));
      for (const std::int64_t ppm : ppms) {
        const std::int64_t truth = test::nearest_rank(exact.sorted, ppm);
        const RefBucket b = ref_bucket(truth, digits, range.lowest);
        const std::int64_t got = h.value_at_percentile(static_cast<double>(ppm) / 10'000.0);
        CAPTURE(ppm);
        CAPTURE(truth);
        CAPTURE(got);
        if (ppm == 0) {  // p0 reports the bottom of the smallest value's bucket
          CHECK(got == b.low);
          CHECK(within_digits(truth - got, truth, digits, range.lowest));
        } else {
          CHECK(got == b.low + b.width - 1);
          CHECK(within_digits(got - truth, truth, digits, range.lowest));
        }
      }

      const std::int64_t lo = exact.sorted.front();
      const std::int64_t hi = exact.sorted.back();
      CHECK(h.min() == ref_bucket(lo, digits, range.lowest).low);
      CHECK(within_digits(lo - h.min(), lo, digits, range.lowest));
      const RefBucket top = ref_bucket(hi, digits, range.lowest);
      CHECK(h.max() == top.low + top.width - 1);
      CHECK(within_digits(h.max() - hi, hi, digits, range.lowest));

      // The mean stands each value for its bucket's middle, at most half a bucket away, and a
      // bucket spans at most max(lowest, v / 10^digits): the mean is off by at most the mean
      // of those half-widths, the standard deviation by at most their root mean square.
      const long double ten_pow = std::pow(10.0L, static_cast<long double>(digits));
      long double half_sum = 0;
      long double half_sq = 0;
      for (const auto v : samples) {
        const long double w = std::max<long double>(static_cast<long double>(range.lowest),
                                                    static_cast<long double>(v) / ten_pow);
        half_sum += w / 2;
        half_sq += (w / 2) * (w / 2);
      }
      const auto mean_bound = static_cast<double>(half_sum / static_cast<long double>(n));
      const auto stddev_bound =
          static_cast<double>(std::sqrt(half_sq / static_cast<long double>(n)));
      CHECK(std::abs(h.mean() - exact.mean) <= mean_bound + 1e-9 * exact.mean);
      CHECK(std::abs(h.stddev() - exact.stddev) <= stddev_bound + 1e-9 * exact.rms);
    }
  }
}

TEST_CASE("percentile edge cases") {
  Histogram h;
  CHECK(h.value_at_percentile(50) == 0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  CHECK(h.mean() == 0.0);
  CHECK(h.stddev() == 0.0);
  for (std::int64_t v = 1; v <= 1000; ++v)
    h.record(v);
  CHECK(h.value_at_percentile(99.9) == 999);  // rank 999, not 1000 through round-off
  CHECK(h.value_at_percentile(0.1) == 1);
  CHECK(h.value_at_percentile(0.10001) == 2);
  CHECK(h.value_at_percentile(150.0) == 1000);
  CHECK(h.value_at_percentile(-3.0) == 1);
  CHECK(h.value_at_percentile(std::nan("")) == 1);
  CHECK(h.value_at_percentile(0.0) == 1);
}

TEST_CASE("saturation: values above the range are clamped and counted, never lost") {
  Histogram h;              // 1 .. 3.6e9
  h.record(3'600'000'000);  // the limit itself is in range
  h.record(3'600'000'001);
  h.record(1'000'000'000'000);
  h.record(kMax64);
  h.record_n(7'200'000'000, 5);
  CHECK(h.total_count() == 9);
  CHECK(h.saturated_count() == 8);
  CHECK(h.count_at_value(3'600'000'000) == 9);
  CHECK(h.max() == 3600809983LL);  // the top of the bucket holding 3.6e9 (Java's figure)
  CHECK(h.value_at_percentile(100) == 3600809983LL);

  SUBCASE("negative values count as zero") {
    Histogram n;
    n.record(-5);
    n.record(std::numeric_limits<std::int64_t>::min());
    n.record_n(-1, 3);
    n.record(10);
    CHECK(n.total_count() == 6);
    CHECK(n.saturated_count() == 0);
    CHECK(n.count_at_value(0) == 5);
    CHECK(n.min() == 0);
    CHECK(n.max() == 10);
    CHECK(n.value_at_percentile(50) == 0);
  }
  SUBCASE("a histogram tracking up to INT64_MAX saturates its equivalence arithmetic") {
    Histogram w(1, kMax64, 3);
    w.record(kMax64);
    w.record(kMax64 - 1);
    CHECK(w.saturated_count() == 0);
    CHECK(w.max() == kMax64);
    CHECK(w.value_at_percentile(100) == kMax64);
    CHECK(w.min() <= kMax64 - 1);
    CHECK(w.mean() > 9.2e18);
  }
}

TEST_CASE("record_n equals n records; zero counts change nothing") {
  Histogram a;
  Histogram b;
  for (int i = 0; i < 17; ++i)
    a.record(12345);
  b.record_n(12345, 17);
  b.record_n(999'999, 0);
  CHECK(a == b);
  CHECK(b.max() == a.max());
  CHECK(b.total_count() == 17);
}

TEST_CASE("count_at_value and for_each_recorded") {
  Histogram h;
  h.record(5);
  h.record(5);
  h.record(4096);
  h.record(4099);  // same bucket as 4096 (size 4)
  h.record(1'000'000);
  CHECK(h.count_at_value(5) == 2);
  CHECK(h.count_at_value(4097) == 2);
  CHECK(h.count_at_value(6) == 0);
  CHECK(h.count_at_value(-1) == 0);
  CHECK(h.count_at_value(kMax64) == 0);
  const std::vector<std::pair<std::int64_t, std::int64_t>> expected = {
      {5, 2}, {4096, 2}, {999936, 1}};
  CHECK(buckets(h) == expected);
}

TEST_CASE("merge is exact: four random parts add up to the whole") {
  for (const Shape shape : {Shape::uniform, Shape::lognormal, Shape::bimodal}) {
    CAPTURE(test::shape_name(shape));
    auto samples = test::make_samples(shape, 100'000, 7 + static_cast<std::uint64_t>(shape));
    samples.push_back(9'000'000'000);  // one saturated value travels through the merge too
    const Histogram whole = record_all(samples);

    std::vector<Histogram> parts(4);
    std::mt19937_64 rng(99);
    std::uniform_int_distribution<std::size_t> pick(0, 3);
    for (const auto v : samples)
      parts[pick(rng)].record(v);
    Histogram merged;
    for (const auto& p : parts)
      merged.add(p);

    CHECK(merged == whole);
    CHECK(buckets(merged) == buckets(whole));
    CHECK(merged.total_count() == whole.total_count());
    CHECK(merged.saturated_count() == 1);
    CHECK(merged.min() == whole.min());
    CHECK(merged.max() == whole.max());
    CHECK(merged.mean() == doctest::Approx(whole.mean()).epsilon(1e-12));
    for (const auto& pct : test::kPercentiles) {
      CHECK(merged.value_at_percentile(pct.percent) == whole.value_at_percentile(pct.percent));
    }
  }
}

TEST_CASE("merge across configurations") {
  const auto samples = test::make_samples(Shape::lognormal, 100'000, 5);

  SUBCASE("finer into coarser equals the coarser histogram of the raw values") {
    // 3-digit buckets nest inside 2-digit ones (both power-of-two aligned, same unit), so
    // re-recording each fine bucket at its lowest value lands in the right coarse bucket.
    const Histogram fine = record_all(samples, Histogram(1, 3'600'000'000, 3));
    Histogram coarse(1, 3'600'000'000, 2);
    coarse.add(fine);
    CHECK(coarse == record_all(samples, Histogram(1, 3'600'000'000, 2)));
  }
  SUBCASE("coarser into finer keeps every count, within the coarse precision") {
    const Histogram coarse = record_all(samples, Histogram(1000, 10'000'000'000, 2));
    Histogram fine;
    fine.add(coarse);
    const auto exact = test::exact_stats(samples);
    CHECK(fine.total_count() == 100'000);
    for (const auto& pct : test::kPercentiles) {
      if (pct.ppm == 0) continue;
      const auto truth = test::nearest_rank(exact.sorted, pct.ppm);
      const auto got = fine.value_at_percentile(pct.percent);
      CAPTURE(pct.percent);
      // 2 digits above a 512 unit: a bucket spans at most max(512, v/128).
      CHECK(std::abs(got - truth) <= std::max<std::int64_t>(512, truth / 64));
    }
  }
  SUBCASE("saturated values keep counting once after a merge into a wider range") {
    Histogram small_range(1, 10'000'000, 3);  // clamps at 1e7
    small_range.record(20'000'000);
    small_range.record(500);
    Histogram wide(1, 1'000'000'000'000, 3);
    wide.add(small_range);
    CHECK(wide.total_count() == 2);
    CHECK(wide.saturated_count() == 1);
  }
  SUBCASE("values beyond a narrower target saturate there, and only once") {
    Histogram wide(1, 1'000'000'000'000, 3);  // clamps at 1e12
    wide.record(1000);
    wide.record(5'000'000'000);
    wide.record(100'000'000'000);
    wide.record(2'000'000'000'000);  // saturates here already
    CHECK(wide.saturated_count() == 1);
    Histogram target;  // 1 .. 3.6e9
    target.add(wide);
    CHECK(target.total_count() == 4);
    CHECK(target.saturated_count() == 3);
    CHECK(target.count_at_value(3'600'000'000) == 3);
  }
}

TEST_CASE("reset empties the histogram whatever was recorded") {
  Histogram h;
  const auto samples = test::make_samples(Shape::bimodal, 10'000, 3);
  for (const auto v : samples)
    h.record(v);
  h.record(-1);
  h.record(kMax64);
  h.reset();
  CHECK(h.total_count() == 0);
  CHECK(h.saturated_count() == 0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  for (std::int32_t i = 0; i < h.counts_len(); ++i)
    REQUIRE(h.count_at_index(i) == 0);
  CHECK(h == Histogram());
  h.record(42);
  CHECK(h.min() == 42);
  CHECK(h.max() == 42);
  CHECK(h.value_at_percentile(50) == 42);
}

TEST_CASE("copies are deep; equality needs the same config") {
  Histogram a;
  a.record(10);
  Histogram b = a;
  b.record(20);
  CHECK(a.total_count() == 1);
  CHECK(b.total_count() == 2);
  CHECK_FALSE(a == b);
  CHECK(a.same_config(b));
  const Histogram c(1, 3'600'000'000, 2);
  CHECK_FALSE(a.same_config(c));
  CHECK_FALSE(Histogram() == c);
}
