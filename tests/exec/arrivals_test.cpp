#include "engine/exec/arrivals.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <vector>

using namespace strain;
using namespace std::chrono_literals;
using std::chrono::nanoseconds;

namespace {

RateProfile constant(double per_s, nanoseconds d) {
  return RateProfile{per_s, {{d, per_s}}};
}
RateProfile ramp(double from, double to, nanoseconds d) {
  return RateProfile{from, {{d, to}}};
}
// Leading zero-rate stretch, then a ramp.
RateProfile zero_then_ramp() {
  return RateProfile{0, {{5s, 0}, {10s, 1000}}};
}
// Ramp up, a jump down (zero-length stage), a flat, a ramp down to 0.
RateProfile multi() {
  return RateProfile{100, {{2s, 300}, {0s, 50}, {3s, 50}, {1s, 0}}};
}

// Independent truth: the rate at `t_s` seconds, walking the stages by hand.
double rate_at(const RateProfile& p, double t_s) {
  double from = p.start_per_s;
  double offset = 0;
  for (const RateStage& st : p.stages) {
    const double len = static_cast<double>(st.duration.count()) * 1e-9;
    if (t_s < offset + len) return from + (st.target_per_s - from) * (t_s - offset) / len;
    offset += len;
    from = st.target_per_s;
  }
  return 0;
}

// Independent truth: the integral of rate_at up to each checkpoint (whole µs), by the
// midpoint rule over 1 µs steps (exact for linear pieces whose ends fall on whole µs).
std::vector<double> brute_integral(const RateProfile& p, const std::vector<std::int64_t>& at_us) {
  std::vector<double> out;
  long double sum = 0;
  std::int64_t step = 0;
  for (std::int64_t end : at_us) {
    for (; step < end; ++step)
      sum += static_cast<long double>(rate_at(p, (static_cast<double>(step) + 0.5) * 1e-6)) * 1e-6L;
    out.push_back(static_cast<double>(sum));
  }
  return out;
}

std::vector<nanoseconds> drain(ArrivalSchedule s) {
  std::vector<nanoseconds> out;
  while (auto t = s.next())
    out.push_back(*t);
  return out;
}

std::vector<nanoseconds> all(const RateProfile& p, ArrivalProcess process, std::uint64_t seed) {
  return drain(ArrivalSchedule(p, process, seed, 0, 1));
}

// The union of `workers` workers' shares, sorted; checks each share is itself in order.
std::vector<nanoseconds> merged(const RateProfile& p, ArrivalProcess process, std::uint64_t seed,
                                std::uint32_t workers) {
  std::vector<nanoseconds> out;
  for (std::uint32_t w = 0; w < workers; ++w) {
    const auto share = drain(ArrivalSchedule(p, process, seed, w, workers));
    CHECK(std::is_sorted(share.begin(), share.end()));
    out.insert(out.end(), share.begin(), share.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Successive gaps in seconds, the first measured from the scenario start.
std::vector<double> gaps_s(const std::vector<nanoseconds>& times, std::size_t n) {
  std::vector<double> out;
  nanoseconds prev{0};
  for (std::size_t i = 0; i < n && i < times.size(); ++i) {
    out.push_back(static_cast<double>((times[i] - prev).count()) * 1e-9);
    prev = times[i];
  }
  return out;
}

// Kolmogorov–Smirnov D of `sample` against Exp(rate): the largest gap between the empirical
// CDF (a step at each sorted point) and 1 - exp(-rate x), on either side of each step.
double ks_exponential(std::vector<double> sample, double rate) {
  std::sort(sample.begin(), sample.end());
  const double n = static_cast<double>(sample.size());
  double d = 0;
  for (std::size_t i = 0; i < sample.size(); ++i) {
    const double f = 1 - std::exp(-rate * sample[i]);
    d = std::max({d, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  return d;
}

// Critical value at alpha = 0.05 for large n.
double ks_critical(std::size_t n) {
  return 1.36 / std::sqrt(static_cast<double>(n));
}

}  // namespace

TEST_CASE("expected_arrivals matches closed forms") {
  const auto c = constant(1000, 10s);
  CHECK(expected_arrivals(c, 0s) == 0);
  CHECK(expected_arrivals(c, -1s) == 0);
  CHECK(expected_arrivals(c, 2500ms) == doctest::Approx(2500).epsilon(1e-12));
  CHECK(expected_arrivals(c, 10s) == doctest::Approx(10000).epsilon(1e-12));
  CHECK(expected_arrivals(c, 20s) == doctest::Approx(10000).epsilon(1e-12));

  // 0 -> 1000/s over 10 s: rate 100 t, integral 50 t^2.
  const auto up = ramp(0, 1000, 10s);
  CHECK(expected_arrivals(up, 1s) == doctest::Approx(50).epsilon(1e-12));
  CHECK(expected_arrivals(up, 5s) == doctest::Approx(1250).epsilon(1e-12));
  CHECK(expected_arrivals(up, 10s) == doctest::Approx(5000).epsilon(1e-12));

  // 1000 -> 0/s over 10 s: integral 1000 t - 50 t^2.
  const auto down = ramp(1000, 0, 10s);
  CHECK(expected_arrivals(down, 1s) == doctest::Approx(950).epsilon(1e-12));
  CHECK(expected_arrivals(down, 5s) == doctest::Approx(3750).epsilon(1e-12));
  CHECK(expected_arrivals(down, 10s) == doctest::Approx(5000).epsilon(1e-12));

  const auto z = zero_then_ramp();
  CHECK(expected_arrivals(z, 3s) == 0);
  CHECK(expected_arrivals(z, 5s) == 0);
  CHECK(expected_arrivals(z, 10s) == doctest::Approx(1250).epsilon(1e-12));
  CHECK(expected_arrivals(z, 15s) == doctest::Approx(5000).epsilon(1e-12));

  // 100->300 over 2 s (400), jump to 50, 50 for 3 s (150), 50->0 over 1 s (25).
  const auto m = multi();
  CHECK(expected_arrivals(m, 1s) == doctest::Approx(150).epsilon(1e-12));
  CHECK(expected_arrivals(m, 2s) == doctest::Approx(400).epsilon(1e-12));
  CHECK(expected_arrivals(m, 3500ms) == doctest::Approx(475).epsilon(1e-12));
  CHECK(expected_arrivals(m, 5s) == doctest::Approx(550).epsilon(1e-12));
  CHECK(expected_arrivals(m, 5500ms) == doctest::Approx(568.75).epsilon(1e-12));
  CHECK(expected_arrivals(m, 6s) == doctest::Approx(575).epsilon(1e-12));
  CHECK(expected_arrivals(m, 7s) == doctest::Approx(575).epsilon(1e-12));
  CHECK(profile_length(m) == 6s);
}

TEST_CASE("expected_arrivals matches brute-force integration over 1 us steps") {
  for (const RateProfile& p :
       {constant(1000, 10s), ramp(0, 1000, 10s), ramp(1000, 0, 10s), zero_then_ramp(), multi()}) {
    const std::int64_t len_us = profile_length(p).count() / 1000;
    std::vector<std::int64_t> at_us;
    for (std::int64_t t = 0; t <= len_us; t += 123457)
      at_us.push_back(t);
    at_us.push_back(len_us);
    const auto truth = brute_integral(p, at_us);
    for (std::size_t i = 0; i < at_us.size(); ++i) {
      CAPTURE(at_us[i]);
      CHECK(expected_arrivals(p, nanoseconds(at_us[i] * 1000)) ==
            doctest::Approx(truth[i]).epsilon(1e-9).scale(1));
    }
  }
}

TEST_CASE("time_of_arrivals inverts expected_arrivals") {
  for (const RateProfile& p :
       {constant(1000, 10s), ramp(0, 1000, 10s), ramp(1000, 0, 10s), zero_then_ramp(), multi()}) {
    const nanoseconds len = profile_length(p);
    std::vector<nanoseconds> points;
    for (nanoseconds t{0}; t < len; t += nanoseconds(7'654'321))
      points.push_back(t);
    // The last 100 us too, where a ramp down to 0 is at its most ill-conditioned.
    for (nanoseconds t = len - 100us; t < len; t += nanoseconds(997))
      points.push_back(t);
    for (nanoseconds t : points) {
      CAPTURE(t.count());
      const double c = expected_arrivals(p, t);
      const auto back = time_of_arrivals(p, c);
      // Within rounding of the total (a ramp to 0 ends with a sliver worth < 1e-9 of it) the
      // count is the total, which has no time.
      const double total = expected_arrivals(p, len);
      if (c >= total - 1e-9 * total) {
        CHECK_FALSE(back.has_value());
        continue;
      }
      REQUIRE(back.has_value());
      // In a zero-rate stretch the count stands still; the inverse skips to its end (5 s).
      if (p.start_per_s == 0 && p.stages.size() == 2 && t < 5s) {
        CHECK(back->count() == 5'000'000'000);
        continue;
      }
      // 1 ns, plus what the count's own rounding (a few ulps of c) is worth in time where the
      // rate is small: a count error dc moves the time by dc / rate.
      const double rate = rate_at(p, static_cast<double>(t.count()) * 1e-9);
      const double tol_ns =
          1 + (rate > 0 ? 8 * std::numeric_limits<double>::epsilon() * c / rate * 1e9 : 0);
      CHECK(static_cast<double>(std::llabs((*back - t).count())) <= tol_ns);
    }
    // Counts at or past the total (within rounding: 1e-9 of it) have no time; below that, the
    // last ns at most.
    const double total = expected_arrivals(p, len);
    CHECK_FALSE(time_of_arrivals(p, total).has_value());
    CHECK_FALSE(time_of_arrivals(p, total + 1).has_value());
    CHECK_FALSE(time_of_arrivals(p, total * (1 - 1e-12)).has_value());
    const auto last = time_of_arrivals(p, total * (1 - 1e-8));
    REQUIRE(last.has_value());
    CHECK(*last < len);
  }
  // Rounding in the integral must not add an arrival: 500/s for 30 s sums to 15000.000000000002.
  for (const double rate : {500.0, 333.0, 1e6 / 7}) {
    ArrivalSchedule sched(constant(rate, 30s), ArrivalProcess::uniform, 1, 0, 1);
    std::uint64_t n = 0;
    while (sched.next())
      ++n;
    CHECK(n == static_cast<std::uint64_t>(std::ceil(rate * 30 - 1e-6)));
  }
  // Counts reached exactly at a stage boundary before a zero-rate stretch skip past it.
  const RateProfile gap{1000, {{1s, 1000}, {0s, 0}, {2s, 0}, {0s, 1000}, {1s, 1000}}};
  CHECK(time_of_arrivals(gap, 999.5) == nanoseconds(999'500'000));
  CHECK(time_of_arrivals(gap, 1000) == 3s);
  CHECK(time_of_arrivals(gap, 1500) == 3500ms);
  CHECK_FALSE(time_of_arrivals(RateProfile{}, 0).has_value());
  CHECK_FALSE(time_of_arrivals(constant(0, 10s), 0).has_value());
}

TEST_CASE("uniform at a constant 1000/s for 10 s: 10,000 arrivals 1 ms apart") {
  const auto p = constant(1000, 10s);
  const auto times = all(p, ArrivalProcess::uniform, 1);
  REQUIRE(times.size() == 10'000);
  CHECK(times.front() == 0ns);
  for (std::size_t k = 0; k < times.size(); ++k)
    REQUIRE(std::llabs(
                (times[k] - nanoseconds(static_cast<std::int64_t>(k) * 1'000'000)).count()) <= 1);
  for (std::size_t k = 1; k < times.size(); ++k)
    REQUIRE(std::llabs((times[k] - times[k - 1] - 1ms).count()) <= 1);

  // Three workers: the shares partition the single worker's schedule exactly.
  std::size_t sum = 0;
  for (std::uint32_t w = 0; w < 3; ++w) {
    ArrivalSchedule s(p, ArrivalProcess::uniform, 1, w, 3);
    std::size_t n = 0;
    while (auto t = s.next()) {
      CHECK(s.index() == w + 3 * n);
      CHECK(*t == times[s.index()]);
      ++n;
    }
    CHECK(n == (w == 0 ? 3334u : 3333u));
    CHECK_FALSE(s.next().has_value());  // stays ended
    sum += n;
  }
  CHECK(sum == 10'000);
  CHECK(merged(p, ArrivalProcess::uniform, 1, 3) == times);
}

TEST_CASE("uniform skips zero-rate stretches") {
  const auto z = all(zero_then_ramp(), ArrivalProcess::uniform, 1);
  REQUIRE(z.size() == 5000);
  CHECK(z.front() == 5s);
  const RateProfile gap{1000, {{1s, 1000}, {0s, 0}, {2s, 0}, {0s, 1000}, {1s, 1000}}};
  const auto g = all(gap, ArrivalProcess::uniform, 1);
  REQUIRE(g.size() == 2000);
  CHECK(g[999] == 999ms);
  CHECK(g[1000] == 3s);
  CHECK(g.back() == 3999ms);
}

TEST_CASE("uniform ramp 0 -> 1000/s over 10 s follows the stage's line each second") {
  const auto times = all(ramp(0, 1000, 10s), ArrivalProcess::uniform, 1);
  CHECK(times.size() == 5000);  // 50 t^2 at t = 10 s
  std::vector<std::int64_t> per_second(10, 0);
  for (nanoseconds t : times)
    ++per_second[static_cast<std::size_t>(t / 1s)];
  for (std::size_t i = 0; i < per_second.size(); ++i) {
    CAPTURE(i);
    // The line's integral over [i, i + 1): 50 (i + 1)^2 - 50 i^2.
    const double expected = 50.0 * static_cast<double>((i + 1) * (i + 1) - i * i);
    CHECK(std::abs(static_cast<double>(per_second[i]) - expected) <= 1);
    if (i >= 1) CHECK(std::abs(static_cast<double>(per_second[i]) - expected) <= 0.02 * expected);
  }
  // Several workers still sum to the scenario's count and merge to the same schedule.
  CHECK(merged(ramp(0, 1000, 10s), ArrivalProcess::uniform, 1, 4) == times);
}

TEST_CASE("poisson at 500/s: exponential gaps (KS), with a negative control") {
  const auto p = constant(500, 60s);
  const auto times = all(p, ArrivalProcess::poisson, 42);
  const std::size_t n = 20'000;
  REQUIRE(times.size() > n);
  CHECK(std::is_sorted(times.begin(), times.end()));
  const double d = ks_exponential(gaps_s(times, n), 500);
  MESSAGE("KS D = " << d << ", critical = " << ks_critical(n));
  CHECK(d < ks_critical(n));

  // The same test must reject what is not exponential: the uniform schedule's constant gaps,
  // and random gaps with the same mean drawn uniformly from [0, 4 ms).
  const auto even = all(p, ArrivalProcess::uniform, 42);
  CHECK(ks_exponential(gaps_s(even, n), 500) > ks_critical(n));
  std::mt19937_64 gen(7);
  std::uniform_real_distribution<double> flat(0, 0.004);
  std::vector<double> flat_gaps(n);
  for (double& g : flat_gaps)
    g = flat(gen);
  CHECK(ks_exponential(flat_gaps, 500) > ks_critical(n));

  // Over 20 seeds, a 5% test may fail about once; more than 3 is P < 2% for a correct process.
  int failures = 0;
  for (std::uint64_t seed = 100; seed < 120; ++seed)
    failures +=
        ks_exponential(gaps_s(all(p, ArrivalProcess::poisson, seed), n), 500) >= ks_critical(n) ? 1
                                                                                                : 0;
  CHECK(failures <= 3);
}

TEST_CASE("poisson at 500/s over 60 s: mean count within 3 sigma of 30,000") {
  const auto p = constant(500, 60s);
  const int seeds = 20;
  double sum = 0;
  for (int seed = 1; seed <= seeds; ++seed)
    sum += static_cast<double>(
        all(p, ArrivalProcess::poisson, static_cast<std::uint64_t>(seed)).size());
  const double mean = sum / seeds;
  // A Poisson count has variance = mean; the mean of `seeds` counts has sigma sqrt(30000 / seeds).
  const double sigma = std::sqrt(30'000.0 / seeds);
  MESSAGE("mean count = " << mean << ", sigma = " << sigma);
  CHECK(std::abs(mean - 30'000) <= 3 * sigma);
}

TEST_CASE("poisson is deterministic per seed and shared exactly between workers") {
  const auto p = constant(500, 10s);
  const auto a = all(p, ArrivalProcess::poisson, 9);
  CHECK(all(p, ArrivalProcess::poisson, 9) == a);
  CHECK(all(p, ArrivalProcess::poisson, 10) != a);
  // Every worker walks the same global sequence, so the shares are one process split in three.
  CHECK(merged(p, ArrivalProcess::poisson, 9, 3) == a);
  ArrivalSchedule w1(p, ArrivalProcess::poisson, 9, 1, 3);
  std::size_t n = 0;
  while (auto t = w1.next()) {
    CHECK(w1.index() == 1 + 3 * n);
    CHECK(*t == a[w1.index()]);
    ++n;
  }
  CHECK(n == (a.size() + 1) / 3);
}

TEST_CASE("poisson on a ramp: rescaled gaps are Exp(1) and counts follow the integral") {
  // Time rescaling: if arrivals form a Poisson process of intensity r(t), then the gaps of
  // Lambda(t_i) (the integral, checked above against brute force) are Exp(1).
  const auto p = ramp(0, 1000, 60s);  // 30,000 expected
  const auto times = all(p, ArrivalProcess::poisson, 5);
  const std::size_t n = 20'000;
  REQUIRE(times.size() > n);
  std::vector<double> rescaled;
  double prev = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double c = expected_arrivals(p, times[i]);
    rescaled.push_back(c - prev);
    prev = c;
  }
  const double d = ks_exponential(rescaled, 1);
  MESSAGE("ramp rescaled KS D = " << d);
  CHECK(d < ks_critical(n));
  // Per 10 s window, the count is within 4 sigma of the line's integral (1000/60/2) t^2 there.
  for (std::int64_t i = 0; i < 60; i += 10) {
    const double expected = (1000.0 / 60 / 2) * static_cast<double>((i + 10) * (i + 10) - i * i);
    const auto lo = std::lower_bound(times.begin(), times.end(), std::chrono::seconds(i));
    const auto hi = std::lower_bound(times.begin(), times.end(), std::chrono::seconds(i + 10));
    CAPTURE(i);
    CHECK(std::abs(static_cast<double>(hi - lo) - expected) <= 4 * std::sqrt(expected));
  }
}
