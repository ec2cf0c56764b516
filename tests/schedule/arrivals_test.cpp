#include "engine/schedule/arrivals.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <utility>
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
  return drain(ArrivalSchedule(p, process, seed, ArrivalSplit(Share{0, 1}, 1)));
}

// The union of `workers` workers' shares, sorted; checks each share is itself in order.
std::vector<nanoseconds> merged(const RateProfile& p, ArrivalProcess process, std::uint64_t seed,
                                std::uint32_t workers) {
  std::vector<nanoseconds> out;
  for (std::uint32_t w = 0; w < workers; ++w) {
    const auto share =
        drain(ArrivalSchedule(p, process, seed, ArrivalSplit(Share{w, workers}, workers)));
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
double seconds_of(nanoseconds d) {
  return static_cast<double>(d.count()) * 1e-9;
}

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
    ArrivalSchedule sched(constant(rate, 30s), ArrivalProcess::uniform, 1,
                          ArrivalSplit(Share{0, 1}, 1));
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
    ArrivalSchedule s(p, ArrivalProcess::uniform, 1, ArrivalSplit(Share{w, 3}, 3));
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
  ArrivalSchedule w1(p, ArrivalProcess::poisson, 9, ArrivalSplit(Share{1, 3}, 3));
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

// --- changing the rate of a running schedule (the stress search's next step)

namespace {

// Arrivals of `workers` schedules, each retimed to `per_s` from `at` once it has handed out
// every arrival before `at` (as a worker does when the change reaches it), merged and sorted.
std::vector<nanoseconds> retimed(const RateProfile& p, ArrivalProcess process,
                                 std::uint32_t workers, nanoseconds at, double per_s,
                                 nanoseconds seen_until) {
  std::vector<nanoseconds> out;
  for (std::uint32_t w = 0; w < workers; ++w) {
    ArrivalSchedule s(p, process, 3, ArrivalSplit(Share{w, workers}, workers));
    std::optional<nanoseconds> pending = s.next();
    // The worker has handed out what was due by `seen_until` when the change arrives.
    while (pending && *pending < seen_until) {
      out.push_back(*pending);
      pending = s.next();
    }
    const auto moved = s.retime(rate_from(s.profile(), at, per_s), pending.has_value());
    pending = moved ? moved : s.next();
    while (pending) {
      out.push_back(*pending);
      pending = s.next();
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("rate_from: the same integral before the change, the new rate after, the same end") {
  for (const RateProfile& p :
       {constant(1000, 10s), ramp(0, 1000, 10s), multi(), zero_then_ramp()}) {
    const nanoseconds len = profile_length(p);
    for (const nanoseconds at : {nanoseconds(0s), nanoseconds(1s), nanoseconds(2500ms),
                                 nanoseconds(len / 2), nanoseconds(len - 1ms)}) {
      CAPTURE(at.count());
      const RateProfile q = rate_from(p, at, 250);
      CHECK(profile_length(q) == len);
      for (nanoseconds t = 0s; t <= at; t += 250ms)
        CHECK(std::abs(expected_arrivals(q, t) - expected_arrivals(p, t)) <=
              1e-9 * std::max(1.0, expected_arrivals(p, t)));
      // After the change, exactly 250/s.
      const double base = expected_arrivals(q, at);
      CHECK(std::abs(expected_arrivals(q, len) - base - 250 * seconds_of(len - at)) < 1e-6 * 250);
    }
    // A change at or past the end changes nothing.
    CHECK(profile_length(rate_from(p, len, 5)) == len);
    CHECK(expected_arrivals(rate_from(p, len + 1s, 5), len) == expected_arrivals(p, len));
  }
}

TEST_CASE("retime: uniform 1000/s, then 3000/s from 1 s: exactly 1000 + 3000, partitioned") {
  const auto p = constant(1000, 2s);
  // The truth: the schedule of the changed profile from the start (it agrees before 1 s).
  const auto truth = all(rate_from(p, 1s, 3000), ArrivalProcess::uniform, 1);
  REQUIRE(truth.size() == 4000);
  for (std::uint32_t workers : {1u, 2u, 3u}) {
    CAPTURE(workers);
    // Workers see the change on time, or late (they had already handed out arrivals past it).
    CHECK(retimed(p, ArrivalProcess::uniform, workers, 1s, 3000, 1s) == truth);
    // Late, 200 ms after the change: each worker had handed out arrivals up to 1.2 s at the
    // old rate (arrival k at k ms). Every index is still taken exactly once: indices up to 1199
    // keep their old times, the rest follow the new profile, where index 1200 falls at
    // 1 s + 200/3000 s. So the count is exactly that of the new profile, 4000; before 1.2 s
    // fall the 1200 old ones and the new ones with index 1200..1599 (the new integral reaches
    // 1600 at 1.2 s).
    const auto late = retimed(p, ArrivalProcess::uniform, workers, 1s, 3000, 1200ms);
    CHECK(late.size() == 4000);
    CHECK(std::count_if(late.begin(), late.end(), [](nanoseconds t) { return t < 1200ms; }) ==
          1600);
  }
}

TEST_CASE("retime: poisson stays one process shared exactly between workers") {
  const auto p = constant(800, 3s);
  const auto one = retimed(p, ArrivalProcess::poisson, 1, 1500ms, 200, 1500ms);
  CHECK(retimed(p, ArrivalProcess::poisson, 3, 1500ms, 200, 1500ms) == one);
  // Before the change about 1200, after it about 300.
  const auto cut = std::lower_bound(one.begin(), one.end(), 1500ms) - one.begin();
  CHECK(std::abs(static_cast<double>(cut) - 1200) < 5 * std::sqrt(1200.0));
  CHECK(std::abs(static_cast<double>(one.size() - static_cast<std::size_t>(cut)) - 300) <
        5 * std::sqrt(300.0));
}

TEST_CASE("retime: a pause (rate 0) ends nothing for good; a later rate brings arrivals back") {
  ArrivalSchedule s(constant(100, 10s), ArrivalProcess::uniform, 1, ArrivalSplit::whole());
  std::optional<nanoseconds> t = s.next();
  while (t && *t < 1s)
    t = s.next();
  REQUIRE(t == 1s);
  // Paused from 1 s: the pending arrival, due exactly at the change, belongs after it (a count
  // reached at a stage's end belongs to the next stage with a rate): it is gone for now, and
  // nothing comes after it.
  auto moved = s.retime(rate_from(s.profile(), 1s, 0), true);
  CHECK_FALSE(moved.has_value());
  CHECK_FALSE(s.next().has_value());
  // 50/s from 4 s: the schedule runs again from 4 s, that arrival first: 300 more.
  moved = s.retime(rate_from(s.profile(), 4s, 50), false);
  CHECK_FALSE(moved.has_value());  // nothing pending: next() looks again
  std::vector<nanoseconds> rest;
  while (auto u = s.next())
    rest.push_back(*u);
  REQUIRE(rest.size() == 300);
  CHECK(rest.front() == 4s);
  CHECK(rest.back() < 10s);
}

TEST_CASE("split: every arrival is owned by exactly one worker, in proportion to its VUs") {
  for (std::uint64_t vus : {1u, 2u, 3u, 5u, 7u, 10u, 64u, 1000u}) {
    for (std::uint32_t workers : {1u, 2u, 3u, 4u, 8u}) {
      CAPTURE(vus);
      CAPTURE(workers);
      std::vector<ArrivalSplit> splits;
      for (std::uint32_t w = 0; w < workers; ++w)
        splits.emplace_back(Share{w, workers}, vus);
      std::vector<std::uint64_t> taken(workers, 0);
      const std::uint64_t n = vus * 3;
      for (std::uint64_t k = 0; k < n; ++k) {
        int owners = 0;
        for (std::uint32_t w = 0; w < workers; ++w) {
          if (splits[w].owns(k)) {
            ++owners;
            ++taken[w];
          }
        }
        REQUIRE(owners == 1);
      }
      for (std::uint32_t w = 0; w < workers; ++w) {
        // Three whole cycles: exactly three times the worker's share of the VUs.
        CHECK(taken[w] == 3 * Share{w, workers}.of(vus));
        CHECK(splits[w].per_cycle() == Share{w, workers}.of(vus));
        if (splits[w].per_cycle() == 0) CHECK_FALSE(splits[w].first_from(0).has_value());
      }
    }
  }
  // 3 VUs on 2 workers: 2 and 1, interleaved 0,1,0 | 0,1,0 ...
  const ArrivalSplit a(Share{0, 2}, 3), b(Share{1, 2}, 3);
  CHECK(a.owns(0));
  CHECK(b.owns(1));
  CHECK(a.owns(2));
  CHECK(a.first_from(1) == 2u);
  CHECK(b.first_from(2) == 4u);
}

TEST_CASE("split: shares interleave, so no worker gets a long run of arrivals") {
  // 10,001 VUs over 2 workers: a round-robin, not the first 5,001 arrivals to worker 0.
  const ArrivalSplit w0(Share{0, 2}, 10'001);
  std::uint64_t longest = 0, run = 0;
  for (std::uint64_t k = 0; k < 30'000; ++k) {
    run = w0.owns(k) ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  CHECK(longest <= 2);
}

TEST_CASE("segments: every segment draws the same sequence and keeps its own arrivals") {
  // Each (segment, worker) schedule's arrivals, by scenario-wide index, put together must be
  // exactly the whole run's: every index once, at the very same time (uniform and Poisson).
  struct Profile {
    const char* name;
    RateProfile profile;
  };
  const std::vector<Profile> profiles = {
      {"constant 400/s for 5 s", constant(400, 5s)},
      {"ramp 0 -> 800/s over 3 s", ramp(0, 800, 3s)},
      {"multi-stage", multi()},
  };
  for (const Profile& pr : profiles) {
    for (const ArrivalProcess process : {ArrivalProcess::uniform, ArrivalProcess::poisson}) {
      for (const std::uint64_t vus : {1u, 7u, 50u}) {
        std::vector<std::pair<std::uint64_t, nanoseconds>> whole;
        ArrivalSchedule one(pr.profile, process, 42, ArrivalSplit(Share::whole(), vus));
        while (auto t = one.next())
          whole.emplace_back(one.index(), *t);
        for (const std::uint32_t segments : {2u, 3u, 5u}) {
          CAPTURE(pr.name);
          CAPTURE(process == ArrivalProcess::poisson);
          CAPTURE(vus);
          CAPTURE(segments);
          std::vector<std::pair<std::uint64_t, nanoseconds>> parts;
          for (std::uint32_t s = 0; s < segments; ++s) {
            const std::uint32_t workers = 1 + (s * 3 + 1) % 4;  // machines differ
            for (std::uint32_t w = 0; w < workers; ++w) {
              ArrivalSchedule mine(
                  pr.profile, process, 42,
                  ArrivalSplit(Share::within(Share{s, segments}, w, workers), vus));
              while (auto t = mine.next())
                parts.emplace_back(mine.index(), *t);
            }
          }
          std::sort(parts.begin(), parts.end());
          REQUIRE(parts.size() == whole.size());
          CHECK(parts == whole);
        }
      }
    }
  }
}
