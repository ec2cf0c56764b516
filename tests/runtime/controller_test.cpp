// The steerable controller with a fake transport: rate changes mid-run, stops asked for by an
// observer or from outside, and the accounting of what was in flight.
#include "engine/runtime/controller.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cmath>
#include <optional>

#include "engine/core/clock.hpp"
#include "tests/runtime/fake_transport.hpp"

using namespace strain;
using namespace std::chrono_literals;

namespace {

LoadPlan url_plan(testing::FakeCounts& counts, std::chrono::nanoseconds delay, Scenario s) {
  LoadPlan plan;
  plan.url = "http://127.0.0.1:9/";  // never contacted: the fake answers
  plan.threads = 2;
  plan.scenario = std::move(s);
  plan.duration = active_length(plan.scenario);
  plan.report_interval = 100ms;
  plan.drain_grace = 300ms;
  plan.clients = testing::fake_factory(counts, delay);
  return plan;
}

Scenario arrival_rate(double per_s, std::chrono::nanoseconds duration, std::uint32_t vus) {
  Scenario s;
  s.executor = ExecutorKind::constant_arrival_rate;
  s.rate_per_s = per_s;
  s.duration = duration;
  s.preallocated_vus = vus;
  s.max_vus = vus;
  s.graceful_stop = 300ms;
  return s;
}

Scenario constant_vus(std::uint32_t vus, std::chrono::nanoseconds duration) {
  Scenario s;
  s.vus = vus;
  s.duration = duration;
  s.graceful_stop = 300ms;
  return s;
}

// Runs the controller until it finishes (or `limit`), the way a session does.
struct Harness {
  boost::asio::io_context io{1};
  std::optional<Controller> controller;
  bool finished = false;

  RunResult run(const LoadPlan& plan, ControllerHooks hooks, std::chrono::seconds limit = 20s) {
    hooks.on_finished = [this] {
      finished = true;
      io.stop();
    };
    controller.emplace(io, plan, std::move(hooks));
    boost::asio::steady_timer guard(io, limit);
    guard.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) io.stop();
    });
    controller->start();
    io.run();
    REQUIRE(finished);
    return controller->take_result();
  }
};

double unix_ms() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count()) /
         1000.0;
}

}  // namespace

TEST_CASE("set_rate mid-run: arrivals follow the new rate from the change, on the same VUs") {
  testing::FakeCounts counts;
  // 500/s for 1.5 s, 8 VUs that can never grow: a change that rebuilt VUs would open more.
  const LoadPlan plan = url_plan(counts, 1ms, arrival_rate(500, 1500ms, 8));
  Harness h;
  double change_lo = 0, change_hi = 0;  // Unix ms
  std::uint64_t sessions_at_change = 0;
  ControllerHooks hooks;
  hooks.on_interval = [&](const IntervalSnapshot& snap, const RunResult&) {
    if (change_lo == 0 && snap.start_s + snap.length_s >= 0.5) {
      sessions_at_change = counts.sessions;
      std::string why;
      change_lo = unix_ms();
      CHECK(h.controller->set_rate("default", Rate{2000}, &why));
      change_hi = unix_ms();
      CHECK(why.empty());
    }
    return IntervalVerdict::go_on;
  };
  const RunResult r = h.run(plan, hooks);
  REQUIRE(change_lo != 0);

  // The truth, from the test's own wall clock: the change fell between change_lo and
  // change_hi; schedules count from started_at_unix_ms (the run's clock starts once every
  // worker is ready, not at start()). Arrivals: 500/s until the change, 2000/s after it, to
  // 1.5 s. Each bound is off by at most one arrival per worker (rounding up).
  auto due_if = [](double change_s) { return 500 * change_s + 2000 * (1.5 - change_s); };
  const double latest = (change_hi - r.started_at_unix_ms + 1) / 1000.0;   // most time at 500/s
  const double earliest = (change_lo - r.started_at_unix_ms - 1) / 1000.0;  // the least
  const auto due = static_cast<double>(r.schedule.due);
  MESSAGE("due " << due << " in [" << due_if(latest) << ", " << due_if(earliest) << "]");
  CHECK(due >= due_if(latest) - 2);
  CHECK(due <= due_if(earliest) + 2);
  CHECK(r.schedule.due == r.schedule.started + r.schedule.overflow + r.schedule.unstarted_at_stop);
  // What the fake answered is what the result counts.
  CHECK(r.total.responses == counts.answered);
  CHECK(r.generator.started == counts.requests);
  // The same VUs and connections before and after the change.
  CHECK(sessions_at_change == 8);
  CHECK(counts.sessions == 8);
  // One scenario: its offered rate is the run's, over the time it was active.
  REQUIRE(r.scenarios.size() == 1);
  CHECK(r.scenarios[0].schedule.due == r.schedule.due);
  REQUIRE(r.scenarios[0].offered_rps.has_value());
  CHECK(*r.scenarios[0].offered_rps ==
        doctest::Approx(due / r.scenarios[0].active_s).epsilon(1e-9));
  CHECK_FALSE(r.partial);
}

TEST_CASE("set_rate refuses what it cannot do, with the reason") {
  testing::FakeCounts counts;
  const LoadPlan plan = url_plan(counts, 1ms, constant_vus(2, 300ms));
  Harness h;
  std::string unknown, closed;
  ControllerHooks hooks;
  hooks.on_interval = [&](const IntervalSnapshot&, const RunResult&) {
    if (unknown.empty()) {
      CHECK_FALSE(h.controller->set_rate("nope", Rate{10}, &unknown));
      CHECK_FALSE(h.controller->set_rate("default", Rate{10}, &closed));
    }
    return IntervalVerdict::go_on;
  };
  (void)h.run(plan, hooks);
  CHECK(unknown == "no scenario named 'nope'");
  CHECK(closed == "scenario 'default' is constant-vus, not an arrival-rate scenario");
}

TEST_CASE("an observer that asks to stop ends the load phase at that interval, drained") {
  testing::FakeCounts counts;
  const LoadPlan plan = url_plan(counts, 2ms, constant_vus(4, 30s));
  Harness h;
  int intervals = 0;
  ControllerHooks hooks;
  hooks.on_interval = [&](const IntervalSnapshot& snap, const RunResult&) {
    ++intervals;
    return snap.sequence == 2 ? IntervalVerdict::stop : IntervalVerdict::go_on;
  };
  const auto t0 = std::chrono::steady_clock::now();
  const RunResult r = h.run(plan, hooks);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Three intervals of 100 ms, not 30 s; and the drain's interval after them.
  CHECK(wall_s < 5);
  CHECK(r.duration_s < 1.0);
  CHECK(r.duration_s >= 0.25);
  CHECK(intervals >= 4);
  CHECK_FALSE(r.partial);
  // Drained: every request started was answered and counted.
  CHECK(r.total.responses == counts.answered);
  CHECK(r.total.responses == counts.requests);
  CHECK(r.generator.in_flight_at_stop == 0);
}

TEST_CASE("stop(): what the drain cannot finish is abandoned, a failure with its wait") {
  testing::FakeCounts counts;
  // Nothing is answered within the run: every request is in flight at the stop.
  const LoadPlan plan = url_plan(counts, 60s, constant_vus(3, 30s));
  Harness h;
  ControllerHooks hooks;
  hooks.on_interval = [&](const IntervalSnapshot& snap, const RunResult&) {
    if (snap.sequence == 1) h.controller->stop();
    return IntervalVerdict::go_on;
  };
  const RunResult r = h.run(plan, hooks);
  CHECK(counts.requests == 3);
  CHECK(counts.answered == 0);
  CHECK(r.total.responses == 0);
  CHECK(r.total.errors_by_kind[static_cast<std::size_t>(ErrorKind::abandoned)] == 3);
  CHECK(r.total.failed() == 3);
  CHECK(r.generator.in_flight_at_stop == 3);
  CHECK(r.generator.started == 3);
  // Each waited at least the load phase (~200 ms) plus the drain (300 ms): a lower bound.
  REQUIRE(r.total.response_time_us.total_count() == 3);
  CHECK(r.total.response_time_us.min() >= 450'000);
}
