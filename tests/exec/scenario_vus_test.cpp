// ScenarioRunner: the closed-model executors (constant and ramping VUs, a steered line, per-VU and
// shared iterations).
#include <doctest/doctest.h>

#include "tests/exec/scenario_harness.hpp"

using namespace strain;
using namespace strain::exec_test;
using namespace std::chrono_literals;

TEST_CASE("constant-vus: all VUs start at the scenario start and loop until its end") {
  boost::asio::io_context io;
  FakeBodies f;
  Scenario s = constant_vus(3, 10s);
  s.start_time = 2s;
  int done_calls = 0;
  ScenarioRunner r(io, s, Share::whole(), 7, f, [&] { ++done_calls; });
  // Closed model: every VU exists from the start; ids are first_vu_id + slot.
  REQUIRE(f.bodies.size() == 3);
  CHECK(f.bodies[0]->vu_id() == 7);
  CHECK(f.bodies[1]->vu_id() == 8);
  CHECK(f.bodies[2]->vu_id() == 9);
  const std::int64_t t0 = origin();
  r.start(t0);
  r.tick(t0 + 1 * kSecond);  // before its start_time
  CHECK(f.begins.empty());
  const std::int64_t start = t0 + 2 * kSecond;
  r.tick(start);
  REQUIRE(f.begins.size() == 3);
  for (std::uint32_t i = 0; i < 3; ++i) {
    CHECK(f.begins[i].slot == i);
    CHECK(f.begins[i].vu_id == 7 + i);
    CHECK(f.begins[i].intended_ns == start);  // closed model: due when the VU is ready
    CHECK(f.begins[i].now_ns == start);
  }
  CHECK(r.busy() == 3);
  // Each ended iteration (one that waited) is followed at once by the next, due at its end.
  for (int round = 1; round <= 5; ++round) {
    const std::int64_t now = start + round * kSecond;
    r.tick(now);
    f.end_busy(now);
    CHECK(f.busy_count() == 3);
    for (const FakeBody* b : f.bodies)
      CHECK(b->last_intended_ns == now);
  }
  CHECK(f.begins.size() == 3 + 15);
  ScenarioInterval iv = take(r);
  CHECK(iv.iterations.completed == 15);
  CHECK(iv.iterations.interrupted == 0);
  CHECK(iv.busy_vus == 3);
  CHECK(iv.peak_vus == 3);
  CHECK_FALSE(iv.schedule.has_value());  // closed: no schedule to send
  // The end of the scenario: no new iteration begins; those running finish theirs.
  r.tick(start + 10 * kSecond);
  CHECK_FALSE(r.done());
  f.end_busy(start + 10 * kSecond + kMs);
  CHECK(f.begins.size() == 18);
  CHECK(r.busy() == 0);
  CHECK(r.done());
  CHECK(done_calls == 1);
  iv = take(r);
  CHECK(iv.iterations.completed == 3);
  CHECK(iv.iterations.interrupted == 0);
  CHECK(f.interrupts() == 0);
  for (const FakeBody* b : f.bodies)
    CHECK(b->wind_downs == 0);
  // Later ticks change nothing and on_done does not fire again.
  r.tick(start + 100 * kSecond);
  CHECK(done_calls == 1);
  CHECK(f.begins.size() == 18);
}

TEST_CASE("graceful stop: iterations still running at its end are interrupted, not ended") {
  boost::asio::io_context io;
  FakeBodies f;
  Scenario s = constant_vus(2, 1s);
  s.graceful_stop = 2s;
  int done_calls = 0;
  ScenarioRunner r(io, s, Share::whole(), 1, f, [&] { ++done_calls; });
  const std::int64_t t0 = origin();
  r.start(t0);
  r.tick(t0);
  CHECK(f.busy_count() == 2);
  r.tick(t0 + kSecond);  // the end: VUs finish their iteration, for 2 s at most
  f.bodies[0]->end(IterationEnd::completed, true, t0 + 1500 * kMs);
  CHECK_FALSE(r.done());
  r.tick(t0 + 3 * kSecond - 1);
  CHECK(f.bodies[1]->interrupts == 0);
  CHECK_FALSE(r.done());
  r.tick(t0 + 3 * kSecond);  // the hard stop
  CHECK(f.bodies[0]->interrupts == 0);
  CHECK(f.bodies[1]->interrupts == 1);
  CHECK(f.bodies[1]->ended == 0);  // the runner counted it; the body never called the sink
  CHECK(r.busy() == 0);
  CHECK(r.done());
  CHECK(done_calls == 1);
  const ScenarioInterval iv = take(r);
  CHECK(iv.iterations.completed == 1);
  CHECK(iv.iterations.interrupted == 1);
  CHECK(f.begins.size() == 2);
}

TEST_CASE("ramping-vus: VUs follow the stages; above the line they finish and rest") {
  boost::asio::io_context io;
  FakeBodies f;
  Scenario s;
  s.executor = ExecutorKind::ramping_vus;
  s.start_vus = 0;
  s.stages = {{4s, 4}, {4s, 0}};
  int done_calls = 0;
  ScenarioRunner r(io, s, Share::whole(), 1, f, [&] { ++done_calls; });
  REQUIRE(f.bodies.size() == 4);  // the peak
  // By hand: up one VU a second to 4 at 4 s, then down one a second (rounded down).
  const auto line = [](std::int64_t half_seconds) -> std::uint32_t {
    const double t = static_cast<double>(half_seconds) / 2.0;
    const double v = t < 4 ? t : 4 - (t - 4);
    return static_cast<std::uint32_t>(v);
  };
  const std::int64_t t0 = origin();
  r.start(t0);
  std::uint32_t before = 0;
  for (std::int64_t h = 0; h < 16; ++h) {  // every half second, 0 .. 7.5 s
    CAPTURE(h);
    const std::int64_t now = t0 + h * kSecond / 2;
    r.tick(now);
    // Ramping up, new VUs have begun; ramping down, VUs above the line are still in the
    // iteration they had begun: none is cut short.
    CHECK(r.busy() == std::max(line(h), before));
    CHECK(f.interrupts() == 0);
    // Every iteration ends: those below the line begin the next, the others rest.
    f.end_busy(now);
    CHECK(r.busy() == line(h));
    for (std::uint32_t slot = 0; slot < 4; ++slot)
      CHECK(f.bodies[slot]->busy == (slot < line(h)));
    before = line(h);
  }
  CHECK(r.busy() == 0);
  CHECK_FALSE(r.done());
  r.tick(t0 + 8 * kSecond);  // the end
  CHECK(r.done());
  CHECK(done_calls == 1);
  const ScenarioInterval iv = take(r);
  CHECK(iv.iterations.interrupted == 0);
  CHECK(iv.iterations.completed == f.begins.size());
  CHECK(iv.peak_vus == 4);
}

TEST_CASE("ramping-vus: a VU resting above the line begins again when the line comes back") {
  boost::asio::io_context io;
  FakeBodies f;
  Scenario s;
  s.executor = ExecutorKind::ramping_vus;
  s.start_vus = 3;
  // 3 VUs for 1 s, a jump down to 1 for 2 s, a jump back up to 3 for 2 s.
  s.stages = {{1s, 3}, {0s, 1}, {2s, 1}, {0s, 3}, {2s, 3}};
  ScenarioRunner r(io, s, Share::whole(), 1, f, [] {});
  const std::int64_t t0 = origin();
  r.start(t0);
  r.tick(t0);
  CHECK(r.busy() == 3);
  r.tick(t0 + kSecond);  // down to 1: VUs 2 and 3 finish their iteration, then rest
  CHECK(r.busy() == 3);
  f.end_busy(t0 + kSecond);
  CHECK(r.busy() == 1);
  CHECK_FALSE(f.bodies[1]->busy);
  CHECK_FALSE(f.bodies[2]->busy);
  r.tick(t0 + 2 * kSecond);
  CHECK(r.busy() == 1);
  r.tick(t0 + 3 * kSecond);  // back up to 3: the resting VUs begin again
  CHECK(r.busy() == 3);
  CHECK(f.bodies[1]->begins == 2);
  CHECK(f.bodies[2]->begins == 2);
  CHECK(f.interrupts() == 0);
}

TEST_CASE("a steered line (vus_cap, set_vus): every VU made, only the line's run") {
  boost::asio::io_context io;
  FakeBodies f;
  Scenario s = constant_vus(10, 60s);
  s.vus_cap = 2;  // strain stress --vus-search starts low
  ScenarioRunner r(io, s, Share::whole(), 1, f, [] {});
  REQUIRE(f.bodies.size() == 10);  // all made: the line rises without making any
  const std::int64_t t0 = origin();
  r.start(t0);
  r.tick(t0);
  CHECK(r.busy() == 2);
  r.set_vus(7);  // up: the next tick starts five more
  CHECK(r.busy() == 2);
  r.tick(t0 + kSecond);
  CHECK(r.busy() == 7);
  r.set_vus(3);  // down: those above finish their iteration, then rest; none is cut short
  r.tick(t0 + 2 * kSecond);
  CHECK(r.busy() == 7);
  f.end_busy(t0 + 2 * kSecond);
  CHECK(r.busy() == 3);
  for (std::uint32_t i = 3; i < 10; ++i)
    CHECK_FALSE(f.bodies[i]->busy);
  CHECK(f.interrupts() == 0);
  r.set_vus(50);  // above what was made: every VU, no more
  r.tick(t0 + 3 * kSecond);
  CHECK(r.busy() == 10);
}

TEST_CASE("a steered line over three workers: each runs its share of the count") {
  boost::asio::io_context io;
  std::array<FakeBodies, 3> f;
  Scenario s = constant_vus(9, 60s);
  s.vus_cap = 4;
  std::vector<std::unique_ptr<ScenarioRunner>> runners;
  for (std::uint32_t w = 0; w < 3; ++w)
    runners.push_back(std::make_unique<ScenarioRunner>(io, s, Share{w, 3}, 1 + 3 * w, f[w], [] {}));
  const std::int64_t t0 = origin();
  std::uint32_t busy = 0;
  for (auto& r : runners) {
    r->start(t0);
    r->tick(t0);
    busy += r->busy();
  }
  CHECK(busy == 4);  // 2 + 1 + 1: the shares of 4 sum to it
  busy = 0;
  for (auto& r : runners) {
    r->set_vus(8);
    r->tick(t0 + kSecond);
    busy += r->busy();
  }
  CHECK(busy == 8);
}

TEST_CASE("per-vu-iterations: every VU runs exactly its iterations, then on_done") {
  for (const bool end_in_begin : {false, true}) {
    CAPTURE(end_in_begin);
    boost::asio::io_context io;
    FakeBodies f;
    f.end_in_begin = end_in_begin;
    Scenario s;
    s.executor = ExecutorKind::per_vu_iterations;
    s.vus = 3;
    s.iterations = 4;
    int done_calls = 0;
    ScenarioRunner r(io, s, Share::whole(), 1, f, [&] { ++done_calls; });
    const std::int64_t t0 = origin();
    r.start(t0);
    r.tick(t0);
    if (end_in_begin) {
      run_until(io, [&] { return r.done(); });
    } else {
      for (int round = 1; round <= 10 && f.busy_count() > 0; ++round)
        f.end_busy(t0 + round * kMs);
    }
    CHECK(r.done());
    CHECK(done_calls == 1);
    CHECK(f.begins.size() == 12);
    for (const FakeBody* b : f.bodies)
      CHECK(b->begins == 4);
    CHECK(take(r).iterations.completed == 12);
    // It ended on its own, long before max_duration.
    r.tick(t0 + kSecond);
    CHECK(f.begins.size() == 12);
    CHECK(done_calls == 1);
  }
}

TEST_CASE("shared-iterations: the VUs run exactly the pool, then on_done") {
  for (const bool end_in_begin : {false, true}) {
    CAPTURE(end_in_begin);
    boost::asio::io_context io;
    FakeBodies f;
    f.end_in_begin = end_in_begin;
    Scenario s;
    s.executor = ExecutorKind::shared_iterations;
    s.vus = 3;
    s.iterations = 10;
    int done_calls = 0;
    ScenarioRunner r(io, s, Share::whole(), 1, f, [&] { ++done_calls; });
    const std::int64_t t0 = origin();
    r.start(t0);
    r.tick(t0);
    if (end_in_begin) {
      run_until(io, [&] { return r.done(); });
    } else {
      // Only VU 0 is quick: it takes what the others leave.
      for (int i = 1; i <= 20 && !r.done(); ++i) {
        if (f.bodies[0]->busy) f.bodies[0]->end(IterationEnd::completed, true, t0 + i * kMs);
        if (i == 20) f.end_busy(t0 + i * kMs);
      }
      CHECK(f.bodies[0]->begins == 8);
    }
    CHECK(r.done());
    CHECK(done_calls == 1);
    CHECK(f.begins.size() == 10);
    CHECK(take(r).iterations.completed == 10);
  }
}

TEST_CASE("shared-iterations over two workers: half the pool each; a worker without VUs is done") {
  boost::asio::io_context io;
  Scenario s;
  s.executor = ExecutorKind::shared_iterations;
  s.vus = 3;
  s.iterations = 9;
  std::array<FakeBodies, 2> f;
  std::array<int, 2> done_calls{};
  std::vector<std::unique_ptr<ScenarioRunner>> rs;
  for (std::uint32_t w = 0; w < 2; ++w) {
    f[w].end_in_begin = true;
    rs.push_back(std::make_unique<ScenarioRunner>(io, s, Share{w, 2}, 1, f[w],
                                                  [&done_calls, w] { ++done_calls[w]; }));
  }
  const std::int64_t t0 = origin();
  for (auto& r : rs) {
    r->start(t0);
    r->tick(t0);
  }
  run_until(io, [&] { return rs[0]->done() && rs[1]->done(); });
  // 9 split between 2 workers: 5 and 4 (the earlier part takes the remainder).
  CHECK(f[0].begins.size() == 5);
  CHECK(f[1].begins.size() == 4);
  CHECK(done_calls == std::array<int, 2>{1, 1});

  // 2 VUs over 3 workers: the third has none, and is done at its start.
  s.vus = 2;
  FakeBodies none;
  int none_done = 0;
  ScenarioRunner empty(io, s, Share{2, 3}, 1, none, [&] { ++none_done; });
  CHECK(none.bodies.empty());
  empty.start(t0);
  empty.tick(t0);
  CHECK(empty.done());
  CHECK(none_done == 1);
}
