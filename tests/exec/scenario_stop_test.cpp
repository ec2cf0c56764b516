// ScenarioRunner and ScenarioSet: stop, abandon and the scenario's end; arrival rates; VU ids over
// workers and segments.
#include <doctest/doctest.h>

#include "tests/exec/scenario_harness.hpp"

using namespace strain;
using namespace strain::exec_test;
using namespace std::chrono_literals;

TEST_CASE("stop: busy VUs wind down, queued ones are cancelled, nothing new begins") {
  boost::asio::io_context io;
  FakeBodies f;
  int done_calls = 0;
  const Scenario s = constant_vus(3, 100s);
  ScenarioRunner r(io, s, Share::whole(), 1, f, [&] { ++done_calls; });
  const std::int64_t t0 = origin();
  r.start(t0);
  r.tick(t0);
  REQUIRE(f.busy_count() == 3);
  f.bodies[0]->end_on_wind_down = false;  // a request in flight: ends when it completes
  // VU 1 ends an iteration that never waited: its next goes through the event loop.
  f.bodies[1]->end(IterationEnd::completed, false, t0 + kMs);
  CHECK(r.busy() == 3);  // queued counts as busy
  r.stop(t0 + 2 * kMs);
  CHECK(f.bodies[0]->wind_downs == 1);
  CHECK(f.bodies[1]->wind_downs == 0);  // it was not in an iteration
  CHECK(f.bodies[2]->wind_downs == 1);  // and ended at once
  CHECK(r.busy() == 1);
  CHECK_FALSE(r.done());
  poll_ready(io);  // the queued continuation finds its slot cancelled
  CHECK(f.begins.size() == 3);
  f.bodies[0]->end(IterationEnd::completed, true, t0 + 3 * kMs);
  CHECK(f.begins.size() == 3);  // not begun again
  CHECK(r.done());
  CHECK(done_calls == 1);
  const ScenarioInterval iv = take(r);
  CHECK(iv.iterations.completed == 2);
  CHECK(iv.iterations.interrupted == 1);  // VU 2's, as its body reported it
  CHECK(f.interrupts() == 0);
  r.tick(t0 + 200 * kSecond);
  CHECK(f.begins.size() == 3);
  CHECK(done_calls == 1);
}

TEST_CASE("abandon: iterations still running are interrupted and counted so") {
  boost::asio::io_context io;
  FakeBodies f;
  int done_calls = 0;
  const Scenario s = constant_vus(3, 100s);
  ScenarioRunner r(io, s, Share::whole(), 1, f, [&] { ++done_calls; });
  const std::int64_t t0 = origin();
  r.start(t0);
  r.tick(t0);
  for (FakeBody* b : f.bodies)
    b->end_on_wind_down = false;
  r.abandon(t0 + kSecond);
  for (const FakeBody* b : f.bodies) {
    CHECK(b->wind_downs == 1);
    CHECK(b->interrupts == 1);
    CHECK(b->ended == 0);
  }
  CHECK(r.busy() == 0);
  CHECK(r.done());
  CHECK(done_calls == 1);
  const ScenarioInterval iv = take(r);
  CHECK(iv.iterations.interrupted == 3);
  CHECK(iv.iterations.completed == 0);
  r.abandon(t0 + 2 * kSecond);
  CHECK(done_calls == 1);
}

TEST_CASE("the scenario's end stops beginning iterations, even one already queued") {
  boost::asio::io_context io;
  FakeBodies f;
  int done_calls = 0;
  const Scenario s = constant_vus(1, 1s);
  ScenarioRunner r(io, s, Share::whole(), 1, f, [&] { ++done_calls; });
  const std::int64_t t0 = origin();
  r.start(t0);
  r.tick(t0);
  // An iteration that never waited ends just before the end: its next is queued...
  f.bodies[0]->end(IterationEnd::completed, false, t0 + 999 * kMs);
  // ... and the scenario clock reaches the end before the queued continuation runs.
  r.tick(t0 + kSecond);
  poll_ready(io);
  CHECK(f.begins.size() == 1);  // nothing began after the end
  CHECK(r.done());
  CHECK(done_calls == 1);
}

TEST_CASE("arrival-rate: the scenario's end gives up an arrival already queued for a VU") {
  boost::asio::io_context io;
  FakeBodies f;
  Scenario s;
  s.executor = ExecutorKind::constant_arrival_rate;
  s.rate_per_s = 10;  // arrival k due at k * 100 ms
  s.duration = 1s;
  s.preallocated_vus = 1;
  s.max_vus = 1;
  s.backlog_limit = 5;
  int done_calls = 0;
  ScenarioRunner r(io, s, Share::whole(), 1, f, [&] { ++done_calls; });
  const std::int64_t t0 = now_ns() - 10 * kSecond;
  r.start(t0);
  run_until(io, [&] { return !f.begins.empty(); });
  // Arrival 0 began; 1..5 wait; 6..9 overflowed.
  REQUIRE(f.begins.size() == 1);
  // The VU frees without having waited: arrival 1 is queued for it...
  f.bodies[0]->end(IterationEnd::completed, false, t0 + 2 * kSecond);
  // ... and the scenario clock reaches the end before the continuation runs.
  const std::int64_t end = t0 + 2 * kSecond;
  r.tick(end);
  poll_ready(io);
  CHECK(f.begins.size() == 1);  // nothing began after the end
  CHECK(r.done());
  CHECK(done_calls == 1);
  const ScenarioInterval iv = take(r);
  CHECK(iv.schedule->due == 10);
  CHECK(iv.schedule->started == 1);
  CHECK(iv.schedule->overflow == 4);
  CHECK(iv.schedule->unstarted_at_stop == 5);
  CHECK(iv.schedule->due ==
        iv.schedule->started + iv.schedule->overflow + iv.schedule->unstarted_at_stop);
  CHECK(f.take_dropped().dropped() == 4 + 5);
}

TEST_CASE("a body that ends without waiting goes through the event loop") {
  boost::asio::io_context io;
  FakeBodies f;
  f.end_in_begin = true;
  f.end_in_begin_limit = 100'000;
  const Scenario s = constant_vus(2, 100s);
  ScenarioRunner r(io, s, Share::whole(), 1, f, [] {});
  const std::int64_t t0 = origin();
  r.start(t0);
  r.tick(t0);
  // Each VU began once and queued its next: no begin() ran inside another.
  CHECK(f.begins.size() == 2);
  CHECK(f.max_depth == 1);
  // A handler posted now runs after one more iteration of each VU, not after all of them.
  std::size_t begins_when_posted_ran = 0;
  boost::asio::post(io, [&] { begins_when_posted_ran = f.begins.size(); });
  // A timer due now fires although the VUs never stop.
  boost::asio::steady_timer timer(io);
  timer.expires_after(0ms);
  bool fired = false;
  timer.async_wait([&](const boost::system::error_code& ec) {
    fired = !ec;
    io.stop();
  });
  io.run_for(1s);
  CHECK(fired);
  CHECK(begins_when_posted_ran == 4);
  CHECK(f.max_depth == 1);
  CHECK(f.begins.size() > 4);
  CHECK(f.begins.size() < 100'000);  // the timer came long before the guard
  r.abandon(t0 + kSecond);
}

TEST_CASE("arrival-rate: VUs grow to max_vus, then arrivals wait; the books balance at stop") {
  boost::asio::io_context io;
  FakeBodies f;
  Scenario s;
  s.executor = ExecutorKind::constant_arrival_rate;
  s.rate_per_s = 10;  // arrival k due at k * 100 ms
  s.duration = 1s;
  s.preallocated_vus = 1;
  s.max_vus = 3;
  s.backlog_limit = 4;
  int done_calls = 0;
  ScenarioRunner r(io, s, Share::whole(), 5, f, [&] { ++done_calls; });
  CHECK(f.bodies.size() == 1);  // only the preallocated VU so far
  // The scenario started 10 s ago: its 10 arrivals are all due at the pacer's first wake-up.
  const std::int64_t t0 = now_ns() - 10 * kSecond;
  const auto due = [t0](std::int64_t k) { return t0 + k * 100 * kMs; };
  r.start(t0);
  CHECK(f.begins.empty());  // arrivals come from the pacer's timer, not from start()
  run_until(io, [&] { return f.begins.size() >= 3; });
  poll_ready(io);
  // Arrivals 0..2 began on VUs 5, 6, 7 (made on demand); 3..6 wait; 7..9 overflowed.
  REQUIRE(f.begins.size() == 3);
  REQUIRE(f.bodies.size() == 3);
  for (std::uint32_t k = 0; k < 3; ++k) {
    CHECK(f.begins[k].slot == k);
    CHECK(f.begins[k].vu_id == 5 + k);
    CHECK(f.begins[k].intended_ns == due(k));
    CHECK(f.begins[k].now_ns >= due(9));  // seen late: latency counts from intended_ns
  }
  CHECK(r.busy() == 3);

  // A freed VU takes the oldest waiting arrival: through the event loop when its iteration did
  // not wait, at once when it did.
  const std::int64_t t1 = t0 + 5 * kSecond;
  f.bodies[1]->end(IterationEnd::completed, false, t1);
  CHECK(f.begins.size() == 3);
  poll_ready(io);
  REQUIRE(f.begins.size() == 4);
  CHECK(f.begins[3].slot == 1);
  CHECK(f.begins[3].intended_ns == due(3));
  f.bodies[0]->end(IterationEnd::completed, true, t1 + kMs);
  REQUIRE(f.begins.size() == 5);
  CHECK(f.begins[4].slot == 0);
  CHECK(f.begins[4].intended_ns == due(4));
  CHECK(f.begins[4].now_ns == t1 + kMs);
  // VU 2 frees without having waited: arrival 5 is queued for it; arrival 6 still waits.
  f.bodies[2]->end(IterationEnd::completed, false, t1 + 2 * kMs);
  // The load phase ends before the queued continuation runs.
  const std::int64_t t_stop = t0 + 7 * kSecond;
  r.stop(t_stop);
  poll_ready(io);
  CHECK(f.begins.size() == 5);
  CHECK(r.done());  // VUs 5 and 6 ended on wind_down
  CHECK(done_calls == 1);
  CHECK(f.bodies.size() == 3);  // never more than max_vus

  const ScenarioInterval iv = take(r);
  CHECK(iv.schedule->due == 10);
  CHECK(iv.schedule->started == 5);
  CHECK(iv.schedule->waited == 4);
  CHECK(iv.schedule->overflow == 3);
  CHECK(iv.schedule->unstarted_at_stop == 2);  // 5 (queued) and 6 (waiting)
  CHECK(iv.schedule->due ==
        iv.schedule->started + iv.schedule->overflow + iv.schedule->unstarted_at_stop);
  CHECK(iv.schedule->peak_backlog == 4);
  CHECK(iv.schedule->peak_vus == 3);
  CHECK(iv.iterations.completed == 3);
  CHECK(iv.iterations.interrupted == 2);  // the two wound down, as the bodies reported them
  // Every arrival that never started is a dropped request; the two that waited, until the stop.
  const RequestMetrics d = f.take_dropped();
  CHECK(d.dropped() == 3 + 2);
  CHECK(d.response_time_us == histogram_of({6'500'000, 6'400'000}));
}

TEST_CASE(
    "arrival-rate: at the scenario's end, arrivals due and not yet handed out start late "
    "while VUs are free; the rest are given up") {
  boost::asio::io_context io;
  FakeBodies f;
  Scenario s;
  s.executor = ExecutorKind::constant_arrival_rate;
  s.rate_per_s = 10;
  s.duration = 1s;
  s.preallocated_vus = 2;
  s.max_vus = 2;
  int done_calls = 0;
  ScenarioRunner r(io, s, Share::whole(), 1, f, [&] { ++done_calls; });
  const std::int64_t t0 = origin();
  r.start(t0);
  // The clock reaches the end before the pacer ever woke (a worker far behind): all 10 were
  // due. They belong to the load phase: the first two take the two free VUs, late, and their
  // lateness is their lag; the other eight find no VU and are given up.
  const std::int64_t end = t0 + kSecond;
  r.tick(end);
  REQUIRE(f.begins.size() == 2);
  CHECK(f.begins[0].intended_ns == t0);
  CHECK(f.begins[1].intended_ns == t0 + 100 * kMs);
  CHECK(f.begins[0].now_ns == end);
  CHECK_FALSE(r.done());
  f.end_busy(end + kMs);
  CHECK(r.done());
  CHECK(done_calls == 1);
  poll_ready(io);  // the pacer's timer was cancelled: nothing more begins
  CHECK(f.begins.size() == 2);
  const ScenarioInterval iv = take(r);
  CHECK(iv.schedule->due == 10);
  CHECK(iv.schedule->started == 2);
  CHECK(iv.schedule->unstarted_at_stop == 8);
  CHECK(iv.schedule->schedule_lag_us == histogram_of({1'000'000, 900'000}));
  // Each given up waited from its due time to the end: 800, 700, ..., 100 ms.
  const RequestMetrics d = f.take_dropped();
  CHECK(d.dropped() == 8);
  CHECK(d.response_time_us ==
        histogram_of({800'000, 700'000, 600'000, 500'000, 400'000, 300'000, 200'000, 100'000}));
}

TEST_CASE("arrival-rate: a worker without a share of the VUs takes no arrivals and is done") {
  boost::asio::io_context io;
  FakeBodies f;
  Scenario s;
  s.executor = ExecutorKind::constant_arrival_rate;
  s.rate_per_s = 1000;
  s.duration = 10s;
  s.preallocated_vus = 2;
  s.max_vus = 2;
  int done_calls = 0;
  ScenarioRunner r(io, s, Share{2, 3}, 3, f, [&] { ++done_calls; });
  CHECK(f.bodies.empty());
  const std::int64_t t0 = origin();
  r.start(t0);
  r.tick(t0);
  CHECK(r.done());
  CHECK(done_calls == 1);
  poll_ready(io);
  CHECK(f.begins.empty());
  const ScenarioInterval iv = take(r);
  CHECK(iv.schedule->due == 0);
  CHECK(f.take_dropped().dropped() == 0);
}

TEST_CASE("ScenarioSet: ids unique across scenarios and workers; on_done once when all are done") {
  boost::asio::io_context io;
  std::array<Scenario, 2> scenarios;
  scenarios[0].name = "a";
  scenarios[0].executor = ExecutorKind::per_vu_iterations;
  scenarios[0].vus = 2;
  scenarios[0].iterations = 3;
  scenarios[1].name = "b";
  scenarios[1].executor = ExecutorKind::shared_iterations;
  scenarios[1].vus = 3;
  scenarios[1].iterations = 4;
  // Two workers, each with its own factories (bodies that never wait: all through the loop).
  std::array<std::array<FakeBodies, 2>, 2> f;
  std::array<int, 2> done_calls{};
  std::vector<std::unique_ptr<ScenarioSet>> sets;
  for (std::uint32_t w = 0; w < 2; ++w) {
    for (FakeBodies& b : f[w])
      b.end_in_begin = true;
    const std::array<BodyFactory*, 2> bodies{&f[w][0], &f[w][1]};
    sets.push_back(std::make_unique<ScenarioSet>(io, std::span<const Scenario>(scenarios),
                                                 Share{w, 2}, std::span<BodyFactory* const>(bodies),
                                                 [&done_calls, w] { ++done_calls[w]; }));
  }
  for (auto& set : sets)
    set->start(now_ns());
  run_until(io, [&] { return sets[0]->done() && sets[1]->done(); });
  CHECK(sets[0]->done());
  CHECK(sets[1]->done());
  // Whatever is left to run (the sets' clocks were cancelled on done): on_done fires once.
  io.restart();
  io.run_for(50ms);
  CHECK(done_calls == std::array<int, 2>{1, 1});
  // VU ids: scenario a's are 1..2, b's 3..5, each exactly once over the two workers.
  std::multiset<std::uint32_t> ids_a;
  std::multiset<std::uint32_t> ids_b;
  for (std::uint32_t w = 0; w < 2; ++w) {
    for (const FakeBody* b : f[w][0].bodies)
      ids_a.insert(b->vu_id());
    for (const FakeBody* b : f[w][1].bodies)
      ids_b.insert(b->vu_id());
  }
  CHECK(ids_a == std::multiset<std::uint32_t>{1, 2});
  CHECK(ids_b == std::multiset<std::uint32_t>{3, 4, 5});
  // Each scenario ran exactly its iterations: a 2 VUs x 3, b 4 shared.
  CHECK(f[0][0].begins.size() + f[1][0].begins.size() == 6);
  CHECK(f[0][1].begins.size() + f[1][1].begins.size() == 4);
  for (const auto& begin : f[0][0].begins)
    CHECK(begin.vu_id == f[0][0].bodies[begin.slot]->vu_id());
}

TEST_CASE("ScenarioSet: over segments and their workers, VU ids are each made exactly once") {
  // Three scenarios (closed, ramping, arrival-rate with all its VUs made at the start), cut
  // into segments whose processes have unequal worker counts: together they make every id
  // 1..the test's peak exactly once, and each scenario's ids are its own block.
  boost::asio::io_context io;
  std::array<Scenario, 3> scenarios;
  scenarios[0] = constant_vus(11, 10s);
  scenarios[0].name = "a";
  scenarios[1].name = "b";
  scenarios[1].executor = ExecutorKind::ramping_vus;
  scenarios[1].start_vus = 2;
  scenarios[1].stages = {{10s, 9}, {5s, 0}};  // peak 9
  scenarios[2].name = "c";
  scenarios[2].executor = ExecutorKind::constant_arrival_rate;
  scenarios[2].rate_per_s = 100;
  scenarios[2].duration = 5s;
  scenarios[2].preallocated_vus = 7;
  scenarios[2].max_vus = 7;
  for (const std::uint32_t segments : {1u, 2u, 3u, 5u}) {
    CAPTURE(segments);
    std::array<std::multiset<std::uint32_t>, 3> ids;
    std::vector<std::uint32_t> segment_of_id(28, UINT32_MAX);
    for (std::uint32_t s = 0; s < segments; ++s) {
      const std::uint32_t workers = 1 + (s * 3 + 1) % 4;
      for (std::uint32_t w = 0; w < workers; ++w) {
        std::array<FakeBodies, 3> f;
        const std::array<BodyFactory*, 3> bodies{&f[0], &f[1], &f[2]};
        ScenarioSet set(io, std::span<const Scenario>(scenarios),
                        Share::within(Share{s, segments}, w, workers),
                        std::span<BodyFactory* const>(bodies), [] {});
        for (std::size_t i = 0; i < 3; ++i) {
          for (const FakeBody* b : f[i].bodies) {
            ids[i].insert(b->vu_id());
            REQUIRE(b->vu_id() >= 1);
            REQUIRE(b->vu_id() <= 27);
            segment_of_id[b->vu_id()] = s;
          }
        }
      }
    }
    std::array<std::multiset<std::uint32_t>, 3> want;
    for (std::uint32_t id = 1; id <= 11; ++id)
      want[0].insert(id);
    for (std::uint32_t id = 12; id <= 20; ++id)
      want[1].insert(id);
    for (std::uint32_t id = 21; id <= 27; ++id)
      want[2].insert(id);
    CHECK(ids == want);
    // Each segment holds its Share of each scenario's VUs.
    for (std::uint32_t s = 0; s < segments; ++s) {
      const auto held = [&](std::uint32_t from, std::uint32_t to) {
        return std::count(segment_of_id.begin() + from, segment_of_id.begin() + to + 1, s);
      };
      CHECK(static_cast<std::uint64_t>(held(1, 11)) == Share{s, segments}.of(11));
      CHECK(static_cast<std::uint64_t>(held(12, 20)) == Share{s, segments}.of(9));
      CHECK(static_cast<std::uint64_t>(held(21, 27)) == Share{s, segments}.of(7));
    }
  }
}
