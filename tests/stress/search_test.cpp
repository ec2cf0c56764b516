// The breaking-point search against simulated targets (no sockets, no clock): a queue with a
// known capacity, a rate limiter that sheds, a generator that cannot keep up. The truth is
// computed here from the model; the search must bracket it within its precision.
#include "engine/stress/search.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <optional>

using namespace strain::stress;

namespace {

// A single FIFO queue served at `capacity_rps`, each request taking `service_ms`. Below
// capacity the p99 response time is M/M/1's, service + ln(100) / (capacity - offered); above
// it the backlog grows and every queued request waits for it to clear.
struct QueueTarget {
  double capacity_rps = 800;
  double service_ms = 10;
  std::optional<double> shed_above_rps;     // answers 429 at once beyond this rate
  std::optional<double> generator_max_rps;  // strain cannot start more than this
  double backlog = 0;

  IntervalFigures serve(double offered_rps) {
    IntervalFigures f;
    f.length_s = 1;
    double started = offered_rps;
    if (generator_max_rps && offered_rps > *generator_max_rps) {
      started = *generator_max_rps;
      f.generator_bound = true;
    }
    f.offered_rps = offered_rps;
    double admitted = started;
    double shed = 0;
    if (shed_above_rps && started > *shed_above_rps) {
      admitted = *shed_above_rps;
      shed = started - admitted;
    }
    const double served = std::min(backlog + admitted, capacity_rps);
    backlog = backlog + admitted - served;
    f.achieved_rps = served + shed;
    const double tail_ms =
        admitted < capacity_rps ? std::min(4605.0 / (capacity_rps - admitted), 60000.0) : 60000.0;
    f.p99_ms = service_ms + tail_ms + backlog / capacity_rps * 1000.0;
    f.error_rate = shed / std::max(1.0, served + shed);
    f.in_flight = static_cast<std::uint64_t>(backlog);
    return f;
  }
};

// A closed system (--vus-search): N VUs against `servers` that each take `service_ms`. Up to
// `servers` VUs every request is served at once; beyond, requests queue and the response time
// is N x service / servers (the interactive response time law with no think time). The p99 is
// 5% above the mean. It offers what it serves, as a closed model does.
struct ClosedTarget {
  double servers = 8;
  double service_ms = 10;

  IntervalFigures serve(double vus) {
    IntervalFigures f;
    f.length_s = 1;
    const double response_ms = service_ms * std::max(1.0, vus / servers);
    f.achieved_rps = vus / response_ms * 1000.0;
    f.offered_rps = f.achieved_rps;
    f.p99_ms = response_ms * 1.05;
    f.in_flight = static_cast<std::uint64_t>(vus);
    return f;
  }
};

struct Slo {
  double p99_ms = 100;
  double error_rate = 0.01;
};

struct Run {
  SearchOutcome outcome;
  std::vector<StepRecord> steps;
  double elapsed_s = 0;
  std::size_t intervals = 0;
};

// Drives the search as the stress session does: one interval at a time, judging each step's
// window (its worst p99 and its error share) when the search ends it.
template <class Target>
Run drive(Search& search, Target& target, Slo slo, std::size_t max_intervals = 100000) {
  Run run;
  bool judging = false;
  double sum_x = 0, sum_err = 0, worst_p99 = 0, window_s = 0;
  bool generator = false;
  while (!search.done() && run.intervals < max_intervals) {
    IntervalFigures f = target.serve(search.rate());
    f.clearly_broken = f.p99_ms > 5 * slo.p99_ms || f.error_rate > 0.5;
    ++run.intervals;
    const bool counted = judging;
    if (counted || search.phase() == Phase::warming) {
      // The window: judged intervals, or (for a step the governor ends in its warm-up) the
      // step's last ones.
      if (!counted) sum_x = sum_err = worst_p99 = window_s = 0, generator = false;
      sum_x += f.achieved_rps * f.length_s;
      sum_err += f.error_rate * f.length_s;
      worst_p99 = std::max(worst_p99, f.p99_ms);
      window_s += f.length_s;
      generator = generator || f.generator_bound;
    }
    const IntervalAction a = search.on_interval(f);
    if (a == IntervalAction::start_judging) {
      judging = true;
      sum_x = sum_err = worst_p99 = window_s = 0;
      generator = false;
    } else if (a == IntervalAction::end_step) {
      StepJudgement j;
      j.achieved_rps = window_s > 0 ? sum_x / window_s : 0;
      const double err = window_s > 0 ? sum_err / window_s : 0;
      j.slo_held = worst_p99 < slo.p99_ms && err < slo.error_rate;
      if (!j.slo_held) j.broken = worst_p99 >= slo.p99_ms ? "p99" : "errors";
      j.generator_bound = generator;
      judging = false;
      sum_x = sum_err = worst_p99 = window_s = 0;
      generator = false;
      search.on_step(j);
    }
  }
  run.outcome = search.outcome();
  run.steps = search.steps();
  run.elapsed_s = search.elapsed_s();
  return run;
}

// The highest rate whose p99 stays under the SLO in the model: service + 4605 / (c - x) = slo.
double queue_truth(const QueueTarget& t, const Slo& slo) {
  return t.capacity_rps - 4605.0 / (slo.p99_ms - t.service_ms);
}

}  // namespace

TEST_CASE("a queue of 800/s with p99 < 100ms: the search brackets the truth within 5%") {
  QueueTarget target;
  Slo slo;
  Search search(SearchOptions{});
  const Run run = drive(search, target, slo);
  const double truth = queue_truth(target, slo);  // 748.8/s
  REQUIRE(run.outcome.end == SearchEnd::precise);
  REQUIRE(run.outcome.max_sustainable_rps);
  REQUIRE(run.outcome.first_bad_rps);
  MESSAGE("truth " << truth << "/s, held " << *run.outcome.max_sustainable_rps << "/s, broke "
                   << *run.outcome.first_bad_rps << "/s after " << run.elapsed_s << " s, "
                   << run.steps.size() << " steps");
  CHECK(*run.outcome.max_sustainable_rps <= truth);
  CHECK(*run.outcome.first_bad_rps >= truth);
  CHECK(*run.outcome.precision <= 0.05 + 1e-9);
  CHECK(std::abs(*run.outcome.max_sustainable_rps - 800) <= 80);  // the 10% of 800
  // Growth steps first (50, 100, 200, 400, 800), then bisection.
  CHECK(run.steps[0].rate_rps == 50);
  CHECK(run.steps[4].rate_rps == 800);
  CHECK_FALSE(run.steps[4].ok);
  CHECK(run.steps[5].bisecting);
  CHECK(run.outcome.first_broken_step == std::size_t{4});
}

TEST_CASE("the broken step is cut short by the governor and followed by a cool-down") {
  QueueTarget target;
  target.capacity_rps = 300;
  Search search(SearchOptions{});
  const Run run = drive(search, target, Slo{});
  // 400/s against 300/s: the backlog grows 100 per second, p99 is past 500 ms in seconds.
  const auto broken = std::find_if(run.steps.begin(), run.steps.end(),
                                   [](const StepRecord& s) { return s.rate_rps == 400; });
  REQUIRE(broken != run.steps.end());
  CHECK_FALSE(broken->ok);
  CHECK(broken->ended_by_governor);
  CHECK(broken->steady_after_s <= 3);  // two broken intervals, not the whole 20 s step
  // The next step starts after a cool-down, and the queue left from 400/s does not poison it:
  // the search still brackets the model's truth.
  REQUIRE(broken + 1 != run.steps.end());
  CHECK((broken + 1)->start_s >= broken->start_s + broken->steady_after_s + 1);
  const double truth = queue_truth(target, Slo{});  // 248.8/s
  REQUIRE(run.outcome.end == SearchEnd::precise);
  CHECK(*run.outcome.max_sustainable_rps <= truth);
  CHECK(*run.outcome.first_bad_rps >= truth);
}

TEST_CASE("a target far above the generator: the search ends generator-bound, not broken") {
  QueueTarget target;
  target.capacity_rps = 100000;
  target.generator_max_rps = 3000;
  Search search(SearchOptions{});
  const Run run = drive(search, target, Slo{});
  CHECK(run.outcome.end == SearchEnd::generator_bound);
  REQUIRE(run.outcome.max_sustainable_rps);
  CHECK(*run.outcome.max_sustainable_rps <= 3000);
  CHECK_FALSE(run.outcome.first_bad_rps);  // never blamed on the target
  // The first generator-bound step is tried once more (a noisy moment), then the search ends.
  REQUIRE(run.steps.size() >= 2);
  const StepRecord& last = run.steps.back();
  const StepRecord& before = run.steps[run.steps.size() - 2];
  CHECK(last.rate_rps == before.rate_rps);
  CHECK_FALSE(last.ok);
  CHECK_FALSE(before.ok);
}

TEST_CASE(
    "a rate limiter that sheds 429s: the step breaks on errors, the bracket holds the limit") {
  QueueTarget target;
  target.capacity_rps = 100000;
  target.shed_above_rps = 1000;
  Search search(SearchOptions{});
  const Run run = drive(search, target, Slo{});
  REQUIRE(run.outcome.end == SearchEnd::precise);
  // Errors under 1%: the limit itself, and up to 1% above it, hold.
  CHECK(*run.outcome.max_sustainable_rps <= 1000 / 0.99);
  CHECK(*run.outcome.first_bad_rps >= 1000);
  CHECK(run.steps[*run.outcome.first_broken_step].why_not == "errors");
}

TEST_CASE("max rate, max time, broken below the start, and an interrupt") {
  SUBCASE("every step holds up to --max-rate") {
    QueueTarget target;
    target.capacity_rps = 100000;
    SearchOptions o;
    o.max_rps = 300;
    Search search(o);
    const Run run = drive(search, target, Slo{});
    CHECK(run.outcome.end == SearchEnd::max_rate);
    CHECK(*run.outcome.max_sustainable_rps == 300);
    CHECK(run.steps.back().rate_rps == 300);  // 50, 100, 200, then capped at 300
  }
  SUBCASE("out of time: bounds so far, never a step past the limit") {
    QueueTarget target;
    target.capacity_rps = 1e6;
    SearchOptions o;
    o.max_time_s = 65;
    Search search(o);
    const Run run = drive(search, target, Slo{});
    CHECK(run.outcome.end == SearchEnd::max_time);
    CHECK(run.elapsed_s <= 65 + 1e-9);
    CHECK(run.outcome.max_sustainable_rps);
  }
  SUBCASE("broken at the start rate and below: down to the floor, then below_start") {
    QueueTarget target;
    target.capacity_rps = 0.5;
    target.service_ms = 2000;
    Search search(SearchOptions{});
    const Run run = drive(search, target, Slo{});
    CHECK(run.outcome.end == SearchEnd::below_start);
    CHECK_FALSE(run.outcome.max_sustainable_rps);
    CHECK(run.steps.back().rate_rps >= 1);
  }
  SUBCASE("interrupted in a step: the unjudged step is dropped") {
    QueueTarget target;
    Search search(SearchOptions{});
    drive(search, target, Slo{}, 45);  // part way into the third step
    REQUIRE_FALSE(search.done());
    search.interrupt();
    CHECK(search.done());
    CHECK(search.outcome().end == SearchEnd::interrupted);
    for (const StepRecord& s : search.steps())
      CHECK(s.judged);
  }
}

TEST_CASE("steady state: a step is judged only once its intervals stop moving") {
  // A target warming up (a JIT, a cache): slow at first, then settled.
  Search search(SearchOptions{});
  int i = 0;
  IntervalAction a = IntervalAction::go_on;
  while (a != IntervalAction::start_judging && i < 100) {
    IntervalFigures f;
    f.length_s = 1;
    f.offered_rps = f.achieved_rps = 50;
    f.p99_ms = i < 6 ? 80.0 - 10 * i : 20;  // 80, 70, … 30, then 20 for good
    a = search.on_interval(f);
    ++i;
  }
  CHECK(a == IntervalAction::start_judging);
  CHECK(search.steps()[0].steady);
  CHECK(search.steps()[0].steady_after_s >= 8);   // three settled intervals after the sixth
  CHECK(search.steps()[0].steady_after_s <= 10);  // and no later than the half-step cap
}

TEST_CASE("--vus-search: whole VU counts, growth then bisection to the most VUs that hold") {
  ClosedTarget target;  // p99 = 10 ms x N / 8 x 1.05 < 100 ms: at most 76 VUs
  const double truth = std::floor(100.0 / 1.05 * 8 / 10);
  REQUIRE(truth == 76);
  SearchOptions o;
  o.closed_model = true;
  o.start_rps = 10;
  o.max_rps = 1000;
  Search search(o);
  const Run run = drive(search, target, Slo{});
  REQUIRE(run.outcome.end == SearchEnd::precise);
  REQUIRE(run.outcome.max_sustainable_rps);
  REQUIRE(run.outcome.first_bad_rps);
  MESSAGE("truth " << truth << " VUs, held " << *run.outcome.max_sustainable_rps << ", broke "
                   << *run.outcome.first_bad_rps << " after " << run.steps.size() << " steps");
  CHECK(*run.outcome.max_sustainable_rps <= truth);
  CHECK(*run.outcome.first_bad_rps > truth);
  CHECK(*run.outcome.precision <= 0.05 + 1e-9);
  for (const StepRecord& s : run.steps) {
    CHECK(s.rate_rps == std::round(s.rate_rps));
    CHECK(s.rate_rps >= 1);
    // Throughput never fails a closed-model step: only the SLO does.
    if (!s.ok) CHECK(s.why_not == "p99");
  }
  CHECK(run.steps[0].rate_rps == 10);
  CHECK(run.steps[3].rate_rps == 80);
  CHECK_FALSE(run.steps[3].ok);
}

TEST_CASE("--vus-search with a fine precision ends at adjacent counts, the truth between") {
  ClosedTarget target;
  SearchOptions o;
  o.closed_model = true;
  o.start_rps = 3;
  o.precision = 0.001;  // finer than one VU in 76: adjacency ends it
  o.max_time_s = 3600;
  Search search(o);
  const Run run = drive(search, target, Slo{});
  REQUIRE(run.outcome.end == SearchEnd::precise);
  CHECK(*run.outcome.max_sustainable_rps == 76);
  CHECK(*run.outcome.first_bad_rps == 77);
}

TEST_CASE("--vus-search below one VU: broke at the start, never a fraction of a VU") {
  ClosedTarget target;
  target.service_ms = 200;  // even one VU waits 210 ms at the p99
  SearchOptions o;
  o.closed_model = true;
  o.start_rps = 4;
  Search search(o);
  const Run run = drive(search, target, Slo{});
  CHECK(run.outcome.end == SearchEnd::below_start);
  CHECK_FALSE(run.outcome.max_sustainable_rps);
  for (const StepRecord& s : run.steps)
    CHECK(s.rate_rps == std::round(s.rate_rps));
  // 4, 2, 1, then nothing lower.
  CHECK(run.steps.back().rate_rps == 1);
}
