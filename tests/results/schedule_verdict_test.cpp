#include "engine/results/schedule_verdict.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace strain;

namespace {

// An open-model result: `due` arrivals, `started` of them started with `lag_us` lag each,
// strain's own lateness `dispatch_us`, loop lag `loop_us`, CPU `busy`, `failed` of the
// `started` requests failed (503).
RunResult open_result(std::uint64_t due, std::uint64_t started, std::int64_t lag_us,
                      std::int64_t dispatch_us, std::int64_t loop_us, double busy,
                      std::uint64_t failed = 0) {
  RunResult r;
  r.duration_s = 10;
  r.offered_rps = static_cast<double>(due) / 10.0;
  r.schedule.due = due;
  r.schedule.started = started;
  r.schedule.waited = started / 2;
  r.schedule.unstarted_at_stop = due - started;
  for (std::uint64_t i = 0; i < started; ++i) {
    r.schedule.schedule_lag_us.record(lag_us);
    r.schedule.dispatch_lag_us.record(dispatch_us);
  }
  for (int i = 0; i < 1000; ++i)
    r.generator.loop_lag_us.record(loop_us);
  r.generator.busy_fraction = busy;
  r.total.responses = started;
  r.total.status_classes[2] = started - failed;
  r.total.status_classes[5] = failed;
  if (failed > 0) r.total.status_codes[503] = failed;
  r.total.status_codes[200] = started - failed;
  return r;
}

bool has_note(const RunResult& r, const std::string& text) {
  for (const auto& n : r.generator.notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("a kept schedule: no verdict, no note") {
  RunResult r = open_result(10'000, 10'000, 200, 50, 100, 0.3);
  judge_schedule(r);
  CHECK_FALSE(r.generator.generator_bound);
  CHECK(r.generator.notes.empty());
  // 99% started and 9.9 ms of lag are still within the tolerance.
  RunResult edge = open_result(10'000, 9'900, 9'900, 50, 100, 0.3);
  judge_schedule(edge);
  CHECK_FALSE(edge.generator.generator_bound);
  CHECK(edge.generator.notes.empty());
}

TEST_CASE("behind while strain was late or busy: generator-bound") {
  // Its own lateness over 10 ms.
  RunResult late = open_result(10'000, 6'000, 400'000, 50'000, 100, 0.5);
  judge_schedule(late);
  CHECK(late.generator.generator_bound);
  CHECK(has_note(late, "strain could not keep its schedule: started 6000 of 10000"));
  // Its event loop late.
  RunResult loop = open_result(10'000, 10'000, 30'000, 100, 25'000, 0.4);
  judge_schedule(loop);
  CHECK(loop.generator.generator_bound);
  // Its CPU full.
  RunResult busy = open_result(10'000, 9'000, 2'000, 100, 100, 0.95);
  judge_schedule(busy);
  CHECK(busy.generator.generator_bound);
  CHECK(has_note(busy, "CPU 95% busy"));
}

TEST_CASE("behind while strain was idle: the target did not keep up, not generator-bound") {
  RunResult r = open_result(10'000, 9'000, 900'000, 100, 200, 0.2);
  judge_schedule(r);
  CHECK_FALSE(r.generator.generator_bound);
  CHECK(has_note(r, "the target did not keep up with the offered rate"));
  CHECK(has_note(r, "waited for a free VU"));
}

TEST_CASE("a failing target comes first, even with strain busy") {
  RunResult r = open_result(10'000, 9'000, 50'000, 50'000, 30'000, 0.99, 2'000);
  judge_schedule(r);
  CHECK_FALSE(r.generator.generator_bound);
  CHECK(has_note(r, "the target was failing"));
  // 429s are not failures: a rate-limiting target does not excuse a late generator.
  RunResult limited = open_result(10'000, 9'000, 50'000, 50'000, 30'000, 0.99);
  limited.total.status_classes[2] -= 5'000;
  limited.total.status_classes[4] += 5'000;
  limited.total.status_codes[200] -= 5'000;
  limited.total.status_codes[429] = 5'000;
  judge_schedule(limited);
  CHECK(limited.generator.generator_bound);
}

TEST_CASE("closed-model results are not judged") {
  RunResult r = open_result(10'000, 5'000, 900'000, 900'000, 900'000, 1.0);
  r.offered_rps.reset();
  judge_schedule(r);
  CHECK_FALSE(r.generator.generator_bound);
  CHECK(r.generator.notes.empty());
}
