// ArrivalPacer with fake time: poll() is called by hand, so no timer ever fires (the io_context
// is never run). Expected arrivals, counts and waits are computed by hand from the profile.
#include "engine/exec/arrival_pacer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "engine/exec/recorder.hpp"

using namespace strain;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSecond = 1'000 * kMs;

RateProfile constant(double per_s, std::chrono::nanoseconds length) {
  RateProfile p;
  p.start_per_s = per_s;
  p.stages.push_back(RateStage{length, per_s});
  return p;
}

// One worker's pacer with a pool of `free_vus` VUs that never free up by themselves; dispatch
// records the intended start and calls started(), as the runner does.
struct Harness {
  boost::asio::io_context io;
  Recorder dropped;
  std::vector<std::int64_t> starts;  // intended starts of the arrivals dispatched, in order
  std::uint64_t free_vus = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t dispatch_calls = 0;
  std::unique_ptr<ArrivalPacer> pacer;

  Harness(RateProfile profile, std::uint64_t backlog_limit,
          ArrivalSplit split = ArrivalSplit::whole(),
          ArrivalProcess process = ArrivalProcess::uniform, std::uint64_t seed = 1) {
    pacer = std::make_unique<ArrivalPacer>(
        io, ArrivalSchedule(std::move(profile), process, seed, split), backlog_limit,
        [this](std::int64_t intended, std::int64_t now) {
          ++dispatch_calls;
          if (free_vus == 0) return false;
          --free_vus;
          starts.push_back(intended);
          pacer->started(now - intended);
          return true;
        },
        dropped);
  }

  ScheduleStats take() {
    ScheduleStats s;
    pacer->take_interval(s);
    return s;
  }
  RequestMetrics take_dropped() {
    RequestMetrics m;
    dropped.take_interval(m);
    return m;
  }
};

Histogram histogram_of(const std::vector<std::int64_t>& values_us) {
  Histogram h;
  for (const std::int64_t v : values_us)
    h.record(v);
  return h;
}

// Polls every pacer every `step_ns` from `t0` to `t0 + until_ns` (inclusive); before the poll at
// a change's instant, every pacer gets set_rate (as every worker does at the same instant).
// Intended starts do not depend on the step, only how late they are seen does.
struct RateChange {
  double per_s;
  std::int64_t at_ns;  // from t0
};
std::vector<std::int64_t> run_workers(const RateProfile& profile, std::uint32_t workers,
                                      ArrivalProcess process,
                                      const std::vector<RateChange>& changes, std::int64_t until_ns,
                                      std::int64_t step_ns) {
  const std::int64_t t0 = 7 * kSecond;
  std::vector<std::unique_ptr<Harness>> hs;
  for (std::uint32_t w = 0; w < workers; ++w) {
    hs.push_back(std::make_unique<Harness>(profile, 10, ArrivalSplit(Share{w, workers}, workers),
                                           process, 42));
    hs.back()->pacer->start(t0);
  }
  std::size_t next_change = 0;
  for (std::int64_t t = 0; t <= until_ns; t += step_ns) {
    while (next_change < changes.size() && changes[next_change].at_ns <= t) {
      for (auto& h : hs)
        h->pacer->set_rate(changes[next_change].per_s, t0 + changes[next_change].at_ns);
      ++next_change;
    }
    for (auto& h : hs)
      h->pacer->poll(t0 + t);
  }
  std::vector<std::int64_t> all;
  for (auto& h : hs) {
    CHECK(h->pacer->finished());
    for (const std::int64_t s : h->starts)
      all.push_back(s - t0);
  }
  std::sort(all.begin(), all.end());
  return all;
}

// Every element of `got` within `tol_ns` of the same element of `want`, and as many.
void check_times(const std::vector<std::int64_t>& got, const std::vector<std::int64_t>& want,
                 std::int64_t tol_ns = 2) {
  CHECK(got.size() == want.size());
  // The first arrival that differs (or is missing), if any.
  std::size_t first_off = 0;
  while (first_off < std::min(got.size(), want.size()) &&
         std::llabs(got[first_off] - want[first_off]) <= tol_ns)
    ++first_off;
  if (first_off < std::max(got.size(), want.size())) {
    CAPTURE(first_off);
    CAPTURE(first_off < want.size() ? want[first_off] : -1);
    CAPTURE(first_off < got.size() ? got[first_off] : -1);
    FAIL_CHECK("arrival times differ");
  }
  // No arrival twice: strictly increasing (arrivals of a uniform schedule are distinct times).
  CHECK(std::adjacent_find(got.begin(), got.end(),
                           [](std::int64_t a, std::int64_t b) { return b <= a; }) == got.end());
}

}  // namespace

TEST_CASE("every due arrival goes to a free VU at its intended start") {
  Harness h(constant(1000, 1s), 100);
  const std::int64_t t0 = 5 * kSecond;
  h.pacer->start(t0);
  h.pacer->poll(t0 - 1);  // nothing is due before the start
  CHECK(h.starts.empty());
  for (std::int64_t ms = 0; ms <= 1000; ++ms)
    h.pacer->poll(t0 + ms * kMs);
  REQUIRE(h.starts.size() == 1000);
  for (std::size_t k = 0; k < h.starts.size(); ++k)
    CHECK(h.starts[k] == t0 + static_cast<std::int64_t>(k) * kMs);
  CHECK(h.pacer->finished());
  const ScheduleStats s = h.take();
  CHECK(s.due == 1000);
  CHECK(s.started == 1000);
  CHECK(s.waited == 0);
  CHECK(s.overflow == 0);
  CHECK(s.unstarted_at_stop == 0);
  CHECK(s.dispatch_lag_us.total_count() == 1000);
  CHECK(s.dispatch_lag_us.max() == 0);  // each was polled exactly when due
  CHECK(s.schedule_lag_us.total_count() == 1000);
  CHECK(s.schedule_lag_us.max() == 0);
  // Nothing was dropped.
  const RequestMetrics d = h.take_dropped();
  CHECK(d.dropped() == 0);
  CHECK(d.response_time_us.total_count() == 0);
}

TEST_CASE("busy VUs: arrivals wait first come first served, the backlog is bounded") {
  Harness h(constant(100, 1s), 5);
  h.free_vus = 3;
  const std::int64_t t0 = kSecond;
  h.pacer->start(t0);
  h.pacer->poll(t0 + 95 * kMs);  // arrivals 0..9 are due (every 10 ms)
  CHECK(h.starts.size() == 3);
  CHECK(h.pacer->waiting() == 5);  // 3, 4, 5, 6, 7 wait; 8 and 9 overflow
  ScheduleStats s = h.take();
  CHECK(s.due == 10);
  CHECK(s.started == 3);
  CHECK(s.waited == 5);
  CHECK(s.overflow == 2);
  CHECK(s.peak_backlog == 5);
  CHECK(s.started + s.waited + s.overflow == s.due);
  // The overflow is recorded as dropped, without a latency: it never waited.
  RequestMetrics d = h.take_dropped();
  CHECK(d.dropped() == 2);
  CHECK(d.errors_by_kind[static_cast<std::size_t>(ErrorKind::dropped)] == 2);
  CHECK(d.failed() == 2);
  CHECK(d.response_time_us.total_count() == 0);
  CHECK(d.service_time_us.total_count() == 0);

  // A VU frees: it takes the oldest waiting arrival (arrival 3, due at 30 ms).
  const auto next = h.pacer->take_waiting();
  REQUIRE(next.has_value());
  CHECK(*next == t0 + 30 * kMs);
  h.pacer->started(t0 + 96 * kMs - *next);
  s = h.take();
  CHECK(s.started == 1);
  CHECK(s.schedule_lag_us.total_count() == 1);
  CHECK(s.schedule_lag_us.max() == s.schedule_lag_us.highest_equivalent_value(66'000));
  // take_interval returns the interval's figures only: nothing new was due, waited or dropped.
  CHECK(s.due == 0);
  CHECK(s.waited == 0);
  CHECK(s.overflow == 0);
  CHECK(s.dispatch_lag_us.total_count() == 0);
  // The backlog carried over: 5 were waiting when the interval began.
  CHECK(s.peak_backlog == 5);
  CHECK(h.pacer->waiting() == 4);
  CHECK(h.take().peak_backlog == 4);

  // While arrivals wait, a newly due one waits behind them even if a VU is free now.
  h.free_vus = 1;
  const std::uint64_t calls = h.dispatch_calls;
  h.pacer->poll(t0 + 100 * kMs);  // arrival 10
  CHECK(h.dispatch_calls == calls);
  CHECK(h.starts.size() == 3);
  CHECK(h.pacer->waiting() == 5);
  CHECK(*h.pacer->take_waiting() == t0 + 40 * kMs);  // still the oldest first
}

TEST_CASE("stop: what waits and what was due but not reached counts as unstarted") {
  Harness h(constant(1000, 1s), 50);
  h.free_vus = 100;
  const std::int64_t t0 = kSecond;
  h.pacer->start(t0);
  h.pacer->poll(t0 + kSecond / 2 - 1);  // 500 handed out: 100 start, 50 wait, 350 overflow
  h.pacer->stop(t0 + 10 * kSecond);     // the other 500 were due by then, never reached
  const ScheduleStats s = h.take();
  CHECK(s.due == 1000);
  CHECK(s.started == 100);
  CHECK(s.overflow == 350);
  CHECK(s.unstarted_at_stop == 50 + 500);
  CHECK(s.started + s.overflow + s.unstarted_at_stop == s.due);
  CHECK_FALSE(h.pacer->take_waiting().has_value());
  CHECK(h.pacer->waiting() == 0);
  h.pacer->poll(t0 + 20 * kSecond);  // after stop: nothing more
  CHECK(h.starts.size() == 100);
  // Every one not started is a dropped request; only the 550 that waited have a latency.
  const RequestMetrics d = h.take_dropped();
  CHECK(d.dropped() == 900);
  CHECK(d.response_time_us.total_count() == 550);
  CHECK(d.responses == 0);
}

TEST_CASE("stop: due by the end but not yet handed out, they start late while VUs are free") {
  // 100/s: arrival k is due at k * 10 ms. Three free VUs, nothing waiting.
  Harness h(constant(100, 1s), 10);
  h.free_vus = 3;
  const std::int64_t t0 = 3 * kSecond;
  h.pacer->start(t0);
  h.pacer->poll(t0 + 5 * kMs);  // arrival 0 starts on time
  // The load phase ended at 42 ms; this worker hears of it at 47 ms, never having reached
  // arrivals 1..4 (10, 20, 30, 40 ms). Arrival 5 (50 ms) is after the end: not due at all.
  h.pacer->stop(t0 + 42 * kMs, t0 + 47 * kMs);
  CHECK(h.starts == std::vector<std::int64_t>{t0, t0 + 10 * kMs, t0 + 20 * kMs});
  const ScheduleStats s = h.take();
  CHECK(s.due == 5);
  CHECK(s.started == 3);
  CHECK(s.unstarted_at_stop == 2);
  CHECK(s.started + s.overflow + s.unstarted_at_stop == s.due);
  // Their lateness is their lag: 5 ms (polled at 5 ms), then 37 and 27 ms (47 ms - due).
  CHECK(s.schedule_lag_us == histogram_of({5'000, 37'000, 27'000}));
  // The two that found no VU waited until 47 ms: 17 and 7 ms.
  const RequestMetrics d = h.take_dropped();
  CHECK(d.dropped() == 2);
  CHECK(d.response_time_us == histogram_of({17'000, 7'000}));
}

TEST_CASE("dropped arrivals: overflow without latency, waits at stop as stop - due") {
  // 100/s: arrival k is due at k * 10 ms. One VU, a backlog of 2.
  Harness h(constant(100, 1s), 2);
  h.free_vus = 1;
  const std::int64_t t0 = 3 * kSecond;
  h.pacer->start(t0);
  h.pacer->poll(t0 + 35 * kMs);  // 0 starts; 1 and 2 wait; 3 overflows
  CHECK(h.starts == std::vector<std::int64_t>{t0});
  CHECK(h.pacer->waiting() == 2);
  RequestMetrics d = h.take_dropped();
  CHECK(d.dropped() == 1);
  CHECK(d.response_time_us.total_count() == 0);

  // Stopped at 55 ms: arrivals 4 (40 ms) and 5 (50 ms) were due but not reached; 6 (60 ms) was
  // not due. By hand: waits 55-10, 55-20 (backlog), 55-40, 55-50 (behind) ms.
  h.pacer->stop(t0 + 55 * kMs);
  const ScheduleStats s = h.take();
  CHECK(s.due == 6);
  CHECK(s.started == 1);
  CHECK(s.waited == 2);
  CHECK(s.overflow == 1);
  CHECK(s.unstarted_at_stop == 4);
  d = h.take_dropped();
  CHECK(d.dropped() == 4);
  CHECK(d.transport_errors() == 4);
  CHECK(d.attempts() == 4);
  CHECK(d.failed() == 4);
  CHECK(d.responses == 0);
  CHECK(d.service_time_us.total_count() == 0);
  CHECK(d.response_time_us.total_count() == 4);
  CHECK(d.response_time_us == histogram_of({45'000, 35'000, 15'000, 5'000}));
  CHECK(d.response_time_us.min() == d.response_time_us.lowest_equivalent_value(5'000));
  CHECK(d.response_time_us.max() == d.response_time_us.highest_equivalent_value(45'000));
  // A second stop changes nothing.
  h.pacer->stop(t0 + 2 * kSecond);
  CHECK(h.take().unstarted_at_stop == 0);
  CHECK(h.take_dropped().dropped() == 0);
}

TEST_CASE("give_up: an arrival taken from the backlog that never began is dropped with its wait") {
  Harness h(constant(100, 1s), 2);
  h.free_vus = 1;
  const std::int64_t t0 = 3 * kSecond;
  h.pacer->start(t0);
  h.pacer->poll(t0 + 35 * kMs);  // 0 starts; 1 (10 ms) and 2 (20 ms) wait; 3 overflows
  const auto taken = h.pacer->take_waiting();
  REQUIRE(taken.has_value());
  CHECK(*taken == t0 + 10 * kMs);
  h.pacer->give_up(*taken, t0 + 42 * kMs);  // waited 32 ms
  CHECK(h.pacer->waiting() == 1);
  // Stop at 42 ms: arrival 2 waits 22 ms; arrival 4 (40 ms) was due, unreached, 2 ms.
  h.pacer->stop(t0 + 42 * kMs);
  const ScheduleStats s = h.take();
  CHECK(s.due == 5);
  CHECK(s.started == 1);
  CHECK(s.overflow == 1);
  CHECK(s.unstarted_at_stop == 3);
  CHECK(s.started + s.overflow + s.unstarted_at_stop == s.due);
  const RequestMetrics d = h.take_dropped();
  CHECK(d.dropped() == 4);  // overflow 1 + unstarted 3
  CHECK(d.response_time_us == histogram_of({32'000, 22'000, 2'000}));
}

TEST_CASE("a schedule far behind is handed out in bounded batches") {
  Harness h(constant(100'000, 1s), 10);
  const std::int64_t t0 = kSecond;
  h.pacer->start(t0);
  h.pacer->poll(t0 + 2 * kSecond);
  CHECK(h.starts.size() == 4096);
  const ScheduleStats s = h.take();
  CHECK(s.due == 4096);
  CHECK(s.dispatch_lag_us.min() >= 1'000'000);  // each was seen a second or more late
  while (!h.pacer->finished())
    h.pacer->poll(t0 + 2 * kSecond);
  CHECK(h.starts.size() == 100'000);
  CHECK(h.take().due == 100'000 - 4096);
}

TEST_CASE("workers' pacers partition the scenario's arrivals exactly") {
  // 0 -> 900/s over 2 s, then 900/s for 1 s: 900 + 900 arrivals. By hand, uniform arrival k is
  // where the integral reaches k: 225 t^2 = k in the ramp, then 2 s + (k - 900) / 900 s.
  RateProfile ramp;
  ramp.start_per_s = 0;
  ramp.stages = {{2s, 900}, {1s, 900}};
  std::vector<std::int64_t> truth;
  for (std::int64_t k = 0; k < 1800; ++k) {
    const double t_s = k < 900 ? std::sqrt(static_cast<double>(k) / 225.0)
                               : 2.0 + static_cast<double>(k - 900) / 900.0;
    truth.push_back(std::llround(t_s * 1e9));
  }
  for (const std::uint32_t workers : {1u, 2u, 3u}) {
    CAPTURE(workers);
    check_times(run_workers(ramp, workers, ArrivalProcess::uniform, {}, 4 * kSecond, 10 * kMs),
                truth);
  }
  // Poisson: the workers' union is the one process a single worker would run.
  const auto one = run_workers(ramp, 1, ArrivalProcess::poisson, {}, 4 * kSecond, 10 * kMs);
  CHECK(run_workers(ramp, 3, ArrivalProcess::poisson, {}, 4 * kSecond, 10 * kMs) == one);
  CHECK(std::abs(static_cast<double>(one.size()) - 1800) < 5 * std::sqrt(1800.0));
}

TEST_CASE("set_rate mid-run: exactly the arrivals of the new profile, none doubled") {
  // 1000/s for 1 s, then 4000/s from 0.5 s: 500 + 0.5 * 4000 = 2500 arrivals. By hand: arrival
  // k < 500 at k ms, k >= 500 at 500 ms + (k - 500) * 0.25 ms.
  std::vector<std::int64_t> truth;
  for (std::int64_t k = 0; k < 500; ++k)
    truth.push_back(k * kMs);
  for (std::int64_t k = 500; k < 2500; ++k)
    truth.push_back(500 * kMs + (k - 500) * 250'000);
  const std::vector<RateChange> change{{4000, 500 * kMs}};
  for (const std::uint32_t workers : {1u, 3u}) {
    CAPTURE(workers);
    check_times(
        run_workers(constant(1000, 1s), workers, ArrivalProcess::uniform, change, kSecond, kMs),
        truth);
  }
}

TEST_CASE("set_rate with 3 workers: a poisson schedule stays one process, partitioned") {
  const std::vector<RateChange> change{{4000, 500 * kMs}};
  const auto one =
      run_workers(constant(1000, 1s), 1, ArrivalProcess::poisson, change, kSecond, kMs);
  CHECK(run_workers(constant(1000, 1s), 3, ArrivalProcess::poisson, change, kSecond, kMs) == one);
  // About 500 before the change and 2000 after it.
  const auto cut = std::lower_bound(one.begin(), one.end(), 500 * kMs) - one.begin();
  CHECK(std::abs(static_cast<double>(cut) - 500) < 5 * std::sqrt(500.0));
  CHECK(std::abs(static_cast<double>(one.size()) - 2500) < 5 * std::sqrt(2500.0));
}

TEST_CASE("set_rate(0) pauses; a later rate resumes with exactly the new profile's arrivals") {
  // 1000/s; paused at 0.3 s; 2000/s from 0.6 s to the end (1 s). The new profile's integral is
  // 300 + 0 + 0.4 * 2000 = 1100, so arrivals k = 0..1099: k ms for k < 300, and
  // 600 ms + (k - 300) * 0.5 ms after (arrival 300 is the first of the resumed rate).
  std::vector<std::int64_t> truth;
  for (std::int64_t k = 0; k < 300; ++k)
    truth.push_back(k * kMs);
  for (std::int64_t k = 300; k < 1100; ++k)
    truth.push_back(600 * kMs + (k - 300) * 500'000);
  const std::vector<RateChange> changes{{0, 300 * kMs}, {2000, 600 * kMs}};
  for (const std::uint32_t workers : {1u, 3u}) {
    CAPTURE(workers);
    const auto got =
        run_workers(constant(1000, 1s), workers, ArrivalProcess::uniform, changes, kSecond, kMs);
    // Nothing at all during the pause.
    CHECK(std::count_if(got.begin(), got.end(),
                        [](std::int64_t t) { return t >= 300 * kMs && t < 600 * kMs; }) == 0);
    check_times(got, truth);
  }
}

TEST_CASE("set_rate(0) from a later instant: the arrivals before it still come, none after") {
  Harness h(constant(1000, 1s), 10);
  const std::int64_t t0 = kSecond;
  h.pacer->start(t0);
  for (std::int64_t ms = 0; ms < 100; ++ms)
    h.pacer->poll(t0 + ms * kMs);
  CHECK(h.starts.size() == 100);
  h.pacer->set_rate(0, t0 + 150 * kMs);  // from 150 ms: 150 arrivals in all before it
  for (std::int64_t ms = 100; ms <= 1000; ++ms)
    h.pacer->poll(t0 + ms * kMs);
  CHECK(h.starts.size() == 150);
  CHECK(h.starts.back() == t0 + 149 * kMs);
  CHECK(h.take().due == 150);
  // After stop nothing changes it.
  h.pacer->stop(t0 + 2 * kSecond);
  h.pacer->set_rate(1000, t0 + 2 * kSecond);
  h.pacer->poll(t0 + 3 * kSecond);
  CHECK(h.starts.size() == 150);
}
