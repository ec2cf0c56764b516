#include "engine/schedule/scenario.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace strain;
using namespace std::chrono_literals;

namespace {

Scenario ramp(std::uint32_t start_vus, std::vector<Stage> stages) {
  Scenario s;
  s.executor = ExecutorKind::ramping_vus;
  s.start_vus = start_vus;
  s.stages = std::move(stages);
  return s;
}

// Independent truth for ramping_vus_at: exact integer arithmetic on nanoseconds, floor of
// from + (to - from) * elapsed / length, walking the stages by hand.
std::uint32_t expected_vus(const Scenario& s, std::int64_t t_ns) {
  std::int64_t from = s.start_vus;
  std::int64_t offset = 0;
  for (const Stage& st : s.stages) {
    const std::int64_t len = st.duration.count();
    if (t_ns < offset + len) {
      // At most 1e6 VUs times ~1e11 ns: well inside 64 bits.
      const std::int64_t num = (static_cast<std::int64_t>(st.target) - from) * (t_ns - offset);
      // Floor division for a possibly negative numerator.
      std::int64_t q = num / len;
      if (num % len != 0 && num < 0) --q;
      return static_cast<std::uint32_t>(from + q);
    }
    offset += len;
    from = st.target;
  }
  return static_cast<std::uint32_t>(from);
}

}  // namespace

TEST_CASE("Share::of and Share::offset split any total exactly") {
  for (std::uint64_t total = 0; total <= 300; ++total) {
    for (std::uint32_t parts = 1; parts <= 20; ++parts) {
      std::uint64_t sum = 0;
      std::uint64_t lo = std::numeric_limits<std::uint64_t>::max(), hi = 0;
      std::uint64_t previous = std::numeric_limits<std::uint64_t>::max();
      for (std::uint32_t i = 0; i < parts; ++i) {
        const std::uint64_t share = Share{i, parts}.of(total);
        // Where part i starts is exactly the sum of the parts before it.
        REQUIRE(Share{i, parts}.offset(total) == sum);
        // Earlier parts take the remainder: never smaller than a later one.
        REQUIRE(share <= previous);
        previous = share;
        sum += share;
        lo = std::min(lo, share);
        hi = std::max(hi, share);
      }
      REQUIRE(sum == total);
      REQUIRE(Share{parts, parts}.offset(total) == total);
      // As even as possible: shares differ by at most one.
      REQUIRE(hi - lo <= 1);
    }
  }
}

TEST_CASE("Share::of: huge totals, more parts than total, zero parts") {
  const std::uint64_t big = std::numeric_limits<std::uint64_t>::max();
  for (std::uint32_t parts : {1u, 2u, 3u, 7u, 64u, 1000u}) {
    std::uint64_t sum = 0;
    for (std::uint32_t i = 0; i < parts; ++i) {
      CHECK(Share{i, parts}.offset(big) == sum);
      sum += Share{i, parts}.of(big);
    }
    CHECK(sum == big);
  }
  // 3 VUs over 8 workers: workers 0..2 get one each, the rest none.
  for (std::uint32_t i = 0; i < 8; ++i) {
    CHECK(Share{i, 8}.of(3) == (i < 3 ? 1u : 0u));
    CHECK(Share{i, 8}.offset(3) == std::min<std::uint64_t>(i, 3));
  }
  CHECK(Share{0, 0}.of(10) == 0);
  CHECK(Share{0, 0}.offset(10) == 0);
}

TEST_CASE("ramping_vus_at: up, hold, down by hand") {
  // 0 -> 10 over 10 s, hold 10 for 5 s, 10 -> 0 over 5 s.
  const Scenario s = ramp(0, {{10s, 10}, {5s, 10}, {5s, 0}});
  CHECK(ramping_vus_at(s, 0s) == 0);
  CHECK(ramping_vus_at(s, 999ms) == 0);
  CHECK(ramping_vus_at(s, 1s) == 1);
  CHECK(ramping_vus_at(s, 5s) == 5);
  CHECK(ramping_vus_at(s, 5500ms) == 5);
  CHECK(ramping_vus_at(s, 9999ms) == 9);
  CHECK(ramping_vus_at(s, 10s) == 10);
  CHECK(ramping_vus_at(s, 12s) == 10);
  CHECK(ramping_vus_at(s, 15s) == 10);
  CHECK(ramping_vus_at(s, 15001ms) == 9);  // 10 - 0.002: rounded down
  CHECK(ramping_vus_at(s, 16s) == 8);
  CHECK(ramping_vus_at(s, 17500ms) == 5);
  CHECK(ramping_vus_at(s, 19999ms) == 0);
  CHECK(ramping_vus_at(s, 20s) == 0);
  CHECK(ramping_vus_at(s, 1h) == 0);
  CHECK(active_length(s) == 20s);
  CHECK(peak_vus(s) == 10);
}

TEST_CASE("ramping_vus_at: zero-length stages jump") {
  // 0 -> 10 over 10 s, jump to 20, hold 20 for 10 s, jump to 3 at the very end.
  const Scenario s = ramp(0, {{10s, 10}, {0s, 20}, {10s, 20}, {0s, 3}});
  CHECK(ramping_vus_at(s, 9999ms) == 9);
  CHECK(ramping_vus_at(s, 10s) == 20);
  CHECK(ramping_vus_at(s, 15s) == 20);
  CHECK(ramping_vus_at(s, 19999ms) == 20);
  CHECK(ramping_vus_at(s, 20s) == 3);
  CHECK(ramping_vus_at(s, 1h) == 3);
  CHECK(active_length(s) == 20s);
  CHECK(peak_vus(s) == 20);

  // A zero-length first stage starts at its target straight away.
  const Scenario first = ramp(2, {{0s, 7}, {10s, 7}});
  CHECK(ramping_vus_at(first, 0s) == 7);
  CHECK(ramping_vus_at(first, 5s) == 7);
  CHECK(peak_vus(first) == 7);

  // Only zero-length stages: the last target from the start.
  const Scenario only = ramp(4, {{0s, 9}, {0s, 6}});
  CHECK(ramping_vus_at(only, 0s) == 6);
  CHECK(active_length(only) == 0s);
  CHECK(peak_vus(only) == 9);

  // No stages at all: start_vus.
  const Scenario none = ramp(5, {});
  CHECK(ramping_vus_at(none, 0s) == 5);
  CHECK(ramping_vus_at(none, 1s) == 5);
}

TEST_CASE("ramping_vus_at: start_vus and brute force against exact arithmetic") {
  const std::vector<Scenario> cases = {
      ramp(0, {{10s, 10}, {5s, 10}, {5s, 0}}),
      ramp(3, {{7s, 100}, {0s, 50}, {3s, 51}, {13s, 0}}),
      ramp(100, {{3s, 1}, {1ms, 1000}, {9s, 999}}),
      ramp(0, {{1s, 1'000'000}, {1s, 0}}),
      ramp(7, {{30s, 13}, {45s, 2}}),
  };
  for (const Scenario& s : cases) {
    const std::int64_t end = active_length(s).count();
    std::uint32_t peak = 0;
    // Every millisecond and a few odd nanosecond offsets around each.
    for (std::int64_t t = 0; t <= end + 2'000'000; t += 1'000'000) {
      for (std::int64_t d : {0, 1, 333'333, 999'999}) {
        const std::int64_t at = t + d;
        const std::uint32_t got = ramping_vus_at(s, std::chrono::nanoseconds(at));
        const std::uint32_t want = expected_vus(s, at);
        if (got != want) {
          INFO("start_vus=" << s.start_vus << " t_ns=" << at);
          REQUIRE(got == want);
        }
        peak = std::max(peak, got);
      }
    }
    CHECK(peak <= peak_vus(s));
  }
}

TEST_CASE("active_length and peak_vus per executor") {
  Scenario c;
  c.executor = ExecutorKind::constant_vus;
  c.vus = 12;
  c.duration = 45s;
  c.max_duration = 1min;
  CHECK(active_length(c) == 45s);
  CHECK(peak_vus(c) == 12);
  c.start_time = 10s;
  CHECK(end_offset(c) == 55s);

  Scenario r = ramp(40, {{10s, 5}, {20s, 30}});
  r.vus = 999;  // ignored by ramping-vus
  CHECK(active_length(r) == 30s);
  CHECK(peak_vus(r) == 40);  // start_vus counts
  r.start_time = 1s;
  CHECK(end_offset(r) == 31s);

  for (ExecutorKind kind : {ExecutorKind::per_vu_iterations, ExecutorKind::shared_iterations}) {
    Scenario it;
    it.executor = kind;
    it.vus = 3;
    it.iterations = 100;
    it.duration = 5s;                                      // not used by iteration executors
    CHECK(active_length(it) == std::chrono::minutes(10));  // the default max_duration
    it.max_duration = 90s;
    CHECK(active_length(it) == 90s);
    CHECK(peak_vus(it) == 3);
  }
}

TEST_CASE("executor_from_string round trip and rejects") {
  for (ExecutorKind kind :
       {ExecutorKind::constant_vus, ExecutorKind::ramping_vus, ExecutorKind::per_vu_iterations,
        ExecutorKind::shared_iterations, ExecutorKind::constant_arrival_rate,
        ExecutorKind::ramping_arrival_rate}) {
    const auto back = executor_from_string(to_string(kind));
    REQUIRE(back.has_value());
    CHECK(*back == kind);
  }
  CHECK(std::string(to_string(ExecutorKind::constant_vus)) == "constant-vus");
  CHECK(std::string(to_string(ExecutorKind::ramping_vus)) == "ramping-vus");
  CHECK(std::string(to_string(ExecutorKind::per_vu_iterations)) == "per-vu-iterations");
  CHECK(std::string(to_string(ExecutorKind::shared_iterations)) == "shared-iterations");
  CHECK(std::string(to_string(ExecutorKind::constant_arrival_rate)) == "constant-arrival-rate");
  CHECK(std::string(to_string(ExecutorKind::ramping_arrival_rate)) == "ramping-arrival-rate");
  for (const char* bad :
       {"", "constant_vus", "Constant-VUs", "constant-vus ", " ramping-vus",
        "constant_arrival_rate", "externally-controlled", "per-vu-iteration", "shared"}) {
    INFO(bad);
    CHECK_FALSE(executor_from_string(bad).has_value());
  }
}

TEST_CASE("arrival-rate scenarios: profile, length, peak VUs and default backlog") {
  Scenario c;
  c.executor = ExecutorKind::constant_arrival_rate;
  c.rate_per_s = 250;
  c.duration = std::chrono::seconds(4);
  c.preallocated_vus = 10;
  c.max_vus = 40;
  CHECK(active_length(c) == std::chrono::seconds(4));
  CHECK(peak_vus(c) == 40);
  const RateProfile pc = rate_profile(c);
  CHECK(expected_arrivals(pc, std::chrono::seconds(4)) == doctest::Approx(1000.0));
  CHECK(expected_arrivals(pc, std::chrono::seconds(9)) == doctest::Approx(1000.0));
  CHECK(peak_rate_per_s(c) == 250);
  CHECK(default_backlog(c) == 10'000);  // 10 s of 250/s is below the floor

  Scenario r;
  r.executor = ExecutorKind::ramping_arrival_rate;
  r.start_rate_per_s = 100;
  r.rate_stages = {{std::chrono::seconds(10), 3000}, {std::chrono::seconds(5), 0}};
  r.preallocated_vus = 7;
  CHECK(active_length(r) == std::chrono::seconds(15));
  CHECK(peak_vus(r) == 7);  // max_vus unset: the preallocated ones
  CHECK(peak_rate_per_s(r) == 3000);
  CHECK(default_backlog(r) == 30'000);
  // Brute force: the integral of the piecewise-linear rate, 1 ms steps.
  const RateProfile pr = rate_profile(r);
  double sum = 0;
  for (int ms = 0; ms < 15'000; ++ms) {
    const double t = (ms + 0.5) / 1000.0;
    const double rate = t < 10 ? 100 + (3000 - 100) * t / 10 : 3000 * (15 - t) / 5;
    sum += rate / 1000.0;
  }
  CHECK(expected_arrivals(pr, std::chrono::seconds(15)) == doctest::Approx(sum).epsilon(1e-6));
  r.rate_stages[0].target_per_s = 1e9;
  CHECK(default_backlog(r) == 10'000'000);  // the cap
}
