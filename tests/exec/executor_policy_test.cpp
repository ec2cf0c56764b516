// Every executor's policy through make_policy, over 1..8 workers: the workers' shares must add up
// to the scenario exactly, and each count is checked against one worked out by hand.
#include "engine/exec/executor_policy.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

using namespace strain;
using namespace std::chrono_literals;

namespace {

std::vector<std::unique_ptr<ExecutorPolicy>> policies(const Scenario& s, std::uint32_t workers) {
  std::vector<std::unique_ptr<ExecutorPolicy>> out;
  for (std::uint32_t w = 0; w < workers; ++w)
    out.push_back(make_policy(s, Share{w, workers}));
  return out;
}

// Runs a closed-model worker the way its runner would: every VU takes iterations until the
// policy refuses. Returns how many each VU took.
std::vector<std::uint64_t> take_all(ExecutorPolicy& p) {
  std::vector<std::uint64_t> done(p.max_vus(), 0);
  bool took = true;
  while (took) {
    took = false;
    for (std::uint32_t slot = 0; slot < done.size(); ++slot) {
      if (p.take(slot, done[slot])) {
        ++done[slot];
        took = true;
      }
    }
  }
  return done;
}

Scenario closed(ExecutorKind kind, std::uint32_t vus) {
  Scenario s;
  s.executor = kind;
  s.vus = vus;
  s.duration = 30s;
  return s;
}

}  // namespace

TEST_CASE("constant-vus: the workers' VUs add up to the scenario's, and they always run") {
  for (const std::uint32_t vus : {1u, 3u, 7u, 10u, 64u}) {
    const Scenario s = closed(ExecutorKind::constant_vus, vus);
    for (std::uint32_t workers = 1; workers <= 8; ++workers) {
      CAPTURE(vus);
      CAPTURE(workers);
      std::uint64_t sum = 0;
      std::uint32_t lo = UINT32_MAX;
      std::uint32_t hi = 0;
      for (auto& p : policies(s, workers)) {
        sum += p->max_vus();
        lo = std::min(lo, p->max_vus());
        hi = std::max(hi, p->max_vus());
        CHECK(p->initial_vus() == p->max_vus());
        CHECK(p->vus_at(0s) == p->max_vus());
        CHECK(p->vus_at(29s) == p->max_vus());
        CHECK(p->take(0, 1'000'000));
        CHECK_FALSE(p->exhausted());
        CHECK(p->arrivals() == nullptr);
      }
      CHECK(sum == vus);
      CHECK(hi - lo <= 1);  // as even as it can be
    }
  }
}

TEST_CASE("per-vu-iterations: each VU exactly `iterations`, then the worker is exhausted") {
  for (const std::uint32_t vus : {1u, 3u, 5u}) {
    for (std::uint32_t workers = 1; workers <= 8; ++workers) {
      CAPTURE(vus);
      CAPTURE(workers);
      Scenario s = closed(ExecutorKind::per_vu_iterations, vus);
      s.iterations = 4;
      std::uint64_t total = 0;
      std::uint64_t vus_sum = 0;
      for (auto& p : policies(s, workers)) {
        vus_sum += p->max_vus();
        CHECK(p->arrivals() == nullptr);
        // A worker without a VU has nothing to do from the start; one with VUs has work.
        CHECK(p->exhausted() == (p->max_vus() == 0));
        const auto done = take_all(*p);
        for (const std::uint64_t n : done)
          CHECK(n == 4);
        total += done.size() * 4;
        CHECK(p->exhausted());
        CHECK_FALSE(p->take(0, 0));
      }
      CHECK(vus_sum == vus);
      CHECK(total == std::uint64_t{vus} * 4);
    }
  }
}

TEST_CASE("per-vu-iterations: a VU that has run its iterations gets no more, whatever is left") {
  Scenario s = closed(ExecutorKind::per_vu_iterations, 2);
  s.iterations = 3;
  const auto p = make_policy(s, Share::whole());
  CHECK(p->take(0, 0));
  CHECK(p->take(0, 1));
  CHECK(p->take(0, 2));
  CHECK_FALSE(p->take(0, 3));  // VU 0 is done although VU 1's three are still to run
  CHECK_FALSE(p->exhausted());
  CHECK(p->take(1, 0));
  CHECK(p->take(1, 1));
  CHECK_FALSE(p->exhausted());
  CHECK(p->take(1, 2));
  CHECK(p->exhausted());
}

TEST_CASE("shared-iterations: the pools add up exactly, and only workers with a VU get one") {
  struct Case {
    std::uint32_t vus;
    std::uint64_t iterations;
  };
  for (const Case c : {Case{3, 10}, Case{1, 7}, Case{5, 2}, Case{8, 100}, Case{2, 1}}) {
    for (std::uint32_t workers = 1; workers <= 8; ++workers) {
      CAPTURE(c.vus);
      CAPTURE(c.iterations);
      CAPTURE(workers);
      Scenario s = closed(ExecutorKind::shared_iterations, c.vus);
      s.iterations = c.iterations;
      std::uint64_t total = 0;
      std::uint64_t vus_sum = 0;
      std::uint64_t lo = UINT64_MAX;
      std::uint64_t hi = 0;
      for (auto& p : policies(s, workers)) {
        vus_sum += p->max_vus();
        CHECK(p->arrivals() == nullptr);
        const auto done = take_all(*p);
        std::uint64_t pool = 0;
        for (const std::uint64_t n : done)
          pool += n;
        if (pool > 0) CHECK(p->max_vus() > 0);  // no iteration waits on a worker without a VU
        if (p->max_vus() > 0) {
          lo = std::min(lo, pool);
          hi = std::max(hi, pool);
        }
        CHECK(p->exhausted());
        total += pool;
      }
      CHECK(vus_sum == c.vus);
      CHECK(total == c.iterations);
      CHECK(hi - lo <= 1);  // the pool is split evenly among the workers with a VU
    }
  }
}

TEST_CASE("ramping-vus: vus_at follows the stages, and the workers' shares add up to it") {
  Scenario s;
  s.executor = ExecutorKind::ramping_vus;
  s.start_vus = 2;
  s.stages = {{10s, 12}, {0s, 20}, {5s, 20}, {10s, 0}};
  // By hand: 2 -> 12 over 10 s (one VU per second), a jump to 20, 20 for 5 s, 20 -> 0 over 10 s
  // (two VUs per second), rounded down; the last target (0) after the end.
  struct Point {
    std::chrono::nanoseconds at;
    std::uint32_t vus;
  };
  const std::vector<Point> truth = {
      {0s, 2},       {2500ms, 4}, {5s, 7},  {9990ms, 11}, {10s, 20}, {12s, 20}, {15s, 20},
      {17500ms, 15}, {20s, 10},   {24s, 2}, {24900ms, 0}, {25s, 0},  {100s, 0}};
  for (std::uint32_t workers = 1; workers <= 8; ++workers) {
    CAPTURE(workers);
    const auto ps = policies(s, workers);
    std::uint64_t max_sum = 0;
    for (const auto& p : ps) {
      max_sum += p->max_vus();
      CHECK(p->arrivals() == nullptr);
      CHECK(p->take(0, 0));
      CHECK_FALSE(p->exhausted());
    }
    CHECK(max_sum == 20);  // the peak
    for (const Point& pt : truth) {
      CAPTURE(pt.at.count());
      std::uint64_t sum = 0;
      for (const auto& p : ps) {
        const std::uint32_t v = p->vus_at(pt.at);
        CHECK(v <= p->max_vus());
        sum += v;
      }
      CHECK(sum == pt.vus);
    }
  }
}

TEST_CASE("arrival-rate: VU, arrival and backlog shares follow the VUs") {
  Scenario s;
  s.executor = ExecutorKind::constant_arrival_rate;
  s.rate_per_s = 200;
  s.duration = 10s;
  s.preallocated_vus = 5;
  s.max_vus = 13;
  s.backlog_limit = 1000;
  s.arrival = ArrivalProcess::poisson;
  s.seed = 99;
  for (std::uint32_t workers = 1; workers <= 8; ++workers) {
    CAPTURE(workers);
    std::uint64_t max_sum = 0;
    std::uint64_t initial_sum = 0;
    std::uint64_t backlog_sum = 0;
    const auto ps = policies(s, workers);
    for (std::uint32_t w = 0; w < workers; ++w) {
      const ExecutorPolicy& p = *ps[w];
      const ArrivalShare* a = p.arrivals();
      REQUIRE(a != nullptr);
      max_sum += p.max_vus();
      initial_sum += p.initial_vus();
      CHECK(p.initial_vus() <= p.max_vus());
      CHECK(p.vus_at(3s) == p.max_vus());
      CHECK_FALSE(p.exhausted());
      // The split is of the whole pool, and this worker takes as many arrivals per cycle as it
      // has VUs.
      CHECK(a->split.vus() == 13);
      CHECK(a->split.share() == Share{w, workers});
      CHECK(a->split.per_cycle() == p.max_vus());
      // The schedule is the scenario's, on every worker.
      CHECK(a->profile.start_per_s == 200);
      REQUIRE(a->profile.stages.size() == 1);
      CHECK(a->profile.stages[0].duration == 10s);
      CHECK(a->profile.stages[0].target_per_s == 200);
      CHECK(a->process == ArrivalProcess::poisson);
      CHECK(a->seed == 99);
      // Backlog: its share of the VUs' part of 1000, at least 1.
      CHECK(a->backlog_limit >= 1);
      const double ideal = 1000.0 * p.max_vus() / 13.0;
      CHECK(static_cast<double>(a->backlog_limit) <= std::max(1.0, ideal + 0.5));
      CHECK(static_cast<double>(a->backlog_limit) >= ideal - 0.5);
      if (p.max_vus() > 0) backlog_sum += a->backlog_limit;
    }
    CHECK(max_sum == 13);
    CHECK(initial_sum == 5);
    // Rounding each share moves the sum by at most half an arrival per worker.
    CHECK(static_cast<double>(backlog_sum) >= 1000.0 - workers / 2.0);
    CHECK(static_cast<double>(backlog_sum) <= 1000.0 + workers / 2.0);
  }
}

TEST_CASE("arrival-rate: the whole run's backlog defaults to ten seconds of the peak rate") {
  Scenario s;
  s.executor = ExecutorKind::ramping_arrival_rate;
  s.start_rate_per_s = 100;
  s.rate_stages = {{5s, 3000}, {5s, 50}};
  s.preallocated_vus = 10;
  s.max_vus = 10;
  // Peak 3000/s: ten seconds of it is 30,000 (above the 10,000 floor).
  const auto whole = make_policy(s, Share::whole());
  REQUIRE(whole->arrivals() != nullptr);
  CHECK(whole->arrivals()->backlog_limit == 30'000);
  CHECK(whole->arrivals()->profile.start_per_s == 100);
  REQUIRE(whole->arrivals()->profile.stages.size() == 2);
  CHECK(whole->arrivals()->profile.stages[1].target_per_s == 50);
  CHECK(whole->max_vus() == 10);
  CHECK(whole->initial_vus() == 10);
  // Two workers with 5 VUs each: 15,000 each.
  CHECK(make_policy(s, Share{0, 2})->arrivals()->backlog_limit == 15'000);
  CHECK(make_policy(s, Share{1, 2})->arrivals()->backlog_limit == 15'000);
  // A low rate: the 10,000 floor.
  s.rate_stages = {{5s, 20}};
  CHECK(make_policy(s, Share::whole())->arrivals()->backlog_limit == 10'000);
}

TEST_CASE("arrival-rate with fewer VUs than workers: the others take no arrivals") {
  Scenario s;
  s.executor = ExecutorKind::constant_arrival_rate;
  s.rate_per_s = 50;
  s.duration = 1s;
  s.preallocated_vus = 3;
  s.max_vus = 2;  // the pool is max(max_vus, preallocated_vus) = 3
  s.backlog_limit = 30;
  const auto ps = policies(s, 5);
  std::uint64_t max_sum = 0;
  for (std::uint32_t w = 0; w < 5; ++w) {
    CAPTURE(w);
    max_sum += ps[w]->max_vus();
    CHECK(ps[w]->max_vus() == (w < 3 ? 1u : 0u));
    CHECK(ps[w]->initial_vus() == ps[w]->max_vus());
    CHECK(ps[w]->arrivals()->split.per_cycle() == ps[w]->max_vus());
    CHECK(ps[w]->arrivals()->backlog_limit == (w < 3 ? 10u : 1u));
  }
  CHECK(max_sum == 3);
}

TEST_CASE("arrivals() is non-null exactly for the arrival-rate executors") {
  for (const ExecutorKind kind :
       {ExecutorKind::constant_vus, ExecutorKind::ramping_vus, ExecutorKind::per_vu_iterations,
        ExecutorKind::shared_iterations, ExecutorKind::constant_arrival_rate,
        ExecutorKind::ramping_arrival_rate}) {
    CAPTURE(to_string(kind));
    Scenario s = closed(kind, 2);
    s.iterations = 1;
    s.stages = {{1s, 2}};
    s.rate_per_s = 10;
    s.rate_stages = {{1s, 10}};
    s.max_vus = 2;
    CHECK((make_policy(s, Share::whole())->arrivals() != nullptr) == is_arrival_rate(kind));
  }
}

TEST_CASE("segments: every executor's segments and their workers add up to the whole run") {
  // (segment, worker) policies of a test cut into N segments whose processes have unequal
  // worker counts: VUs, iterations and arrival-rate VUs must sum to the scenario exactly, and
  // each segment's workers to that segment's part.
  const auto workers_of = [](std::uint32_t s) { return 1 + (s * 5 + 2) % 4; };
  for (const std::uint32_t segments : {1u, 2u, 3u, 4u, 7u}) {
    const auto each = [&](const Scenario& sc, auto&& per_policy) {
      for (std::uint32_t s = 0; s < segments; ++s)
        for (std::uint32_t w = 0; w < workers_of(s); ++w)
          per_policy(s, *make_policy(sc, Share::within(Share{s, segments}, w, workers_of(s))));
    };
    for (const std::uint32_t vus : {7u, 10u, 23u}) {
      for (const std::uint64_t iterations : {std::uint64_t{23}, std::uint64_t{100}}) {
        CAPTURE(segments);
        CAPTURE(vus);
        CAPTURE(iterations);
        // constant-vus: the VUs.
        std::uint64_t vu_sum = 0;
        std::vector<std::uint64_t> by_segment(segments, 0);
        each(closed(ExecutorKind::constant_vus, vus), [&](std::uint32_t s, ExecutorPolicy& p) {
          vu_sum += p.max_vus();
          by_segment[s] += p.max_vus();
        });
        CHECK(vu_sum == vus);
        for (std::uint32_t s = 0; s < segments; ++s)
          CHECK(by_segment[s] == Share{s, segments}.of(vus));
        // per-vu-iterations: every VU its iterations.
        Scenario per = closed(ExecutorKind::per_vu_iterations, vus);
        per.iterations = iterations;
        std::uint64_t per_sum = 0;
        each(per, [&](std::uint32_t, ExecutorPolicy& p) {
          for (const std::uint64_t n : take_all(p)) {
            CHECK(n == iterations);
            per_sum += n;
          }
        });
        CHECK(per_sum == vus * iterations);
        // shared-iterations: the pool, only to parts with a VU.
        Scenario shared = closed(ExecutorKind::shared_iterations, vus);
        shared.iterations = iterations;
        std::uint64_t shared_sum = 0;
        each(shared, [&](std::uint32_t, ExecutorPolicy& p) {
          std::uint64_t pool = 0;
          for (const std::uint64_t n : take_all(p))
            pool += n;
          if (pool > 0) CHECK(p.max_vus() > 0);
          CHECK(p.exhausted());
          shared_sum += pool;
        });
        CHECK(shared_sum == iterations);
        // arrival-rate: VUs made at the start and at most, and the arrivals per cycle.
        Scenario open;
        open.executor = ExecutorKind::constant_arrival_rate;
        open.rate_per_s = 400;
        open.duration = 5s;
        open.preallocated_vus = vus;
        open.max_vus = vus + 9;
        std::uint64_t max_sum = 0, initial_sum = 0, cycle_sum = 0;
        each(open, [&](std::uint32_t, ExecutorPolicy& p) {
          max_sum += p.max_vus();
          initial_sum += p.initial_vus();
          cycle_sum += p.arrivals()->split.per_cycle();
        });
        CHECK(max_sum == vus + 9);
        CHECK(initial_sum == vus);
        CHECK(cycle_sum == vus + 9);  // every arrival of a cycle has exactly one taker
      }
    }
    // ramping-vus: at every instant the segments' VUs add up to the ramp's.
    Scenario ramp;
    ramp.executor = ExecutorKind::ramping_vus;
    ramp.start_vus = 3;
    ramp.stages = {{10s, 31}, {10s, 0}};
    for (std::int64_t ms = 0; ms <= 21'000; ms += 250) {
      std::uint64_t sum = 0;
      each(ramp, [&](std::uint32_t, ExecutorPolicy& p) {
        sum += p.vus_at(std::chrono::milliseconds(ms));
      });
      CHECK(sum == ramping_vus_at(ramp, std::chrono::milliseconds(ms)));
    }
  }
}
