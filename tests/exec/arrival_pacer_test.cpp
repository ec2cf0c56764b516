// ArrivalPacer with fake time: poll() is called by hand, so no timer ever fires.
#include "engine/exec/arrival_pacer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "engine/core/clock.hpp"

using namespace strain;
using namespace std::chrono_literals;

namespace {

RateProfile constant(double per_s, std::chrono::nanoseconds length) {
  RateProfile p;
  p.start_per_s = per_s;
  p.stages.push_back(RateStage{length, per_s});
  return p;
}

constexpr std::int64_t kSecond = 1'000'000'000;

}  // namespace

TEST_CASE("every due arrival goes to a free VU at its intended start") {
  boost::asio::io_context io;
  std::vector<std::int64_t> starts;
  const std::int64_t t0 = 5 * kSecond;
  ArrivalPacer pacer(io, ArrivalSchedule(constant(1000, 1s), ArrivalProcess::uniform, 1, 0, 1), 100,
                     [&](std::int64_t intended) {
                       starts.push_back(intended);
                       return true;
                     });
  pacer.start(t0);
  pacer.poll(t0 - 1);  // nothing is due before the start
  CHECK(starts.empty());
  for (std::int64_t ms = 0; ms <= 1000; ++ms)
    pacer.poll(t0 + ms * 1'000'000);
  REQUIRE(starts.size() == 1000);
  for (std::size_t k = 0; k < starts.size(); ++k)
    CHECK(starts[k] == t0 + static_cast<std::int64_t>(k) * 1'000'000);
  CHECK(pacer.finished());
  ScheduleStats s;
  pacer.take_interval(s);
  CHECK(s.due == 1000);
  CHECK(s.waited == 0);
  CHECK(s.overflow == 0);
  CHECK(s.dispatch_lag_us.total_count() == 1000);
  CHECK(s.dispatch_lag_us.max() == 0);  // each was polled exactly when due
}

TEST_CASE("busy VUs: arrivals wait first come first served, the backlog is bounded") {
  boost::asio::io_context io;
  int free_vus = 3;
  std::vector<std::int64_t> starts;
  const std::int64_t t0 = kSecond;
  ArrivalPacer pacer(io, ArrivalSchedule(constant(100, 1s), ArrivalProcess::uniform, 1, 0, 1), 5,
                     [&](std::int64_t intended) {
                       if (free_vus == 0) return false;
                       --free_vus;
                       starts.push_back(intended);
                       return true;
                     });
  pacer.start(t0);
  pacer.poll(t0 + 95'000'000);  // arrivals 0..9 are due (every 10 ms)
  CHECK(starts.size() == 3);
  CHECK(pacer.waiting() == 5);  // 3, 4, 5, 6, 7 wait; 8 and 9 overflow
  ScheduleStats s;
  pacer.take_interval(s);
  CHECK(s.due == 10);
  CHECK(s.waited == 5);
  CHECK(s.overflow == 2);
  CHECK(s.peak_backlog == 5);
  // A VU frees: it takes the oldest waiting arrival (arrival 3, due at 30 ms).
  const auto next = pacer.take_waiting();
  REQUIRE(next.has_value());
  CHECK(*next == t0 + 30'000'000);
  pacer.started(t0 + 96'000'000 - *next);
  ScheduleStats s2;
  pacer.take_interval(s2);
  CHECK(s2.started == 1);
  CHECK(s2.schedule_lag_us.max() >= 65'000);
  CHECK(s2.schedule_lag_us.max() <= 66'100);
  CHECK(s2.due == 10);  // counters are cumulative
  CHECK(pacer.waiting() == 4);
}

TEST_CASE("stop: what waits and what was due but not reached counts as unstarted") {
  boost::asio::io_context io;
  std::uint64_t started = 0;
  // Started 10 s ago for 1 s at 1000/s: all 1000 are due by now.
  const std::int64_t t0 = now_ns() - 10 * kSecond;
  int accept = 100;
  ArrivalPacer pacer(io, ArrivalSchedule(constant(1000, 1s), ArrivalProcess::uniform, 1, 0, 1), 50,
                     [&](std::int64_t) {
                       if (accept == 0) return false;
                       --accept;
                       ++started;
                       return true;
                     });
  pacer.start(t0);
  pacer.poll(t0 + kSecond / 2 - 1);  // 500 handed out: 100 start, 50 wait, 350 overflow
  pacer.stop();
  ScheduleStats s;
  pacer.take_interval(s);
  CHECK(s.due == 1000);
  CHECK(s.overflow == 350);
  CHECK(s.unstarted_at_stop == 50 + 500);
  CHECK(started + s.overflow + s.unstarted_at_stop == s.due);
  CHECK_FALSE(pacer.take_waiting().has_value());
  pacer.poll(t0 + 2 * kSecond);  // after stop: nothing more
  CHECK(started == 100);
}

TEST_CASE("a schedule far behind is handed out in bounded batches") {
  boost::asio::io_context io;
  std::uint64_t n = 0;
  const std::int64_t t0 = kSecond;
  ArrivalPacer pacer(io, ArrivalSchedule(constant(100'000, 1s), ArrivalProcess::uniform, 1, 0, 1),
                     10, [&](std::int64_t) {
                       ++n;
                       return true;
                     });
  pacer.start(t0);
  pacer.poll(t0 + 2 * kSecond);
  CHECK(n == 4096);
  ScheduleStats s;
  pacer.take_interval(s);
  CHECK(s.dispatch_lag_us.min() >= 1'000'000);  // each was seen a second or more late
  while (!pacer.finished())
    pacer.poll(t0 + 2 * kSecond);
  CHECK(n == 100'000);
}

TEST_CASE("workers' pacers partition the scenario's arrivals exactly") {
  for (const auto process : {ArrivalProcess::uniform, ArrivalProcess::poisson}) {
    boost::asio::io_context io;
    std::vector<std::int64_t> all;
    std::vector<std::unique_ptr<ArrivalPacer>> pacers;
    RateProfile ramp;
    ramp.start_per_s = 0;
    ramp.stages = {{2s, 900}, {1s, 900}};
    for (std::uint32_t w = 0; w < 3; ++w) {
      pacers.push_back(std::make_unique<ArrivalPacer>(io, ArrivalSchedule(ramp, process, 42, w, 3),
                                                      10, [&](std::int64_t intended) {
                                                        all.push_back(intended);
                                                        return true;
                                                      }));
      pacers.back()->start(0);
    }
    ArrivalSchedule one(ramp, process, 42, 0, 1);
    std::vector<std::int64_t> expected;
    while (auto t = one.next())
      expected.push_back(t->count());
    for (auto& p : pacers)
      p->poll(4 * kSecond);
    std::sort(all.begin(), all.end());
    CHECK(all == expected);
    if (process == ArrivalProcess::uniform) CHECK(all.size() == 1800);
  }
}
