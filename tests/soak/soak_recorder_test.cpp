// SoakRecorder: gaps and restarts as the sampler saw them, counters as rates, and which
// verdicts fail a run (a target's leak of memory or fds, a broken budget; never strain's own).
#include "engine/soak/soak_recorder.hpp"

#include <doctest/doctest.h>

#include <cmath>

#include "engine/results/json.hpp"

using namespace strain;
using namespace strain::soak;

namespace {

watch::Sample rss(double bytes, double cpu_s) {
  watch::Sample s;
  s.readings.push_back({"rss", "bytes", watch::Kind::gauge, bytes});
  s.readings.push_back({"cpu", "seconds", watch::Kind::counter, cpu_s});
  return s;
}

watch::Sample gap(const char* why) {
  watch::Sample s;
  s.gap_reason = why;
  return s;
}

const SoakVerdict* find(const SoakReport& r, const std::string& component, const std::string& res) {
  for (const SoakVerdict& v : r.verdicts)
    if (v.component == component && v.resource == res) return &v;
  return nullptr;
}

}  // namespace

TEST_CASE("a leaking target fails the run; the same rise in strain itself does not") {
  SoakOptions o;
  o.judged = true;
  SoakRecorder rec({{"strain", "self"}, {"api", "pid"}}, o);
  // 120 s at 1 Hz: both grow 1 MB/s on a 100 MB base (3.6 GB/h), with a small sawtooth.
  for (int i = 0; i <= 120; ++i) {
    const double t = i;
    const double v = 100e6 + 1e6 * t + (i % 7) * 2e5;
    rec.on_sample(t, 0, rss(v, 0.5 * t));
    rec.on_sample(t, 1, rss(v, 0.5 * t));
    rec.on_round(0);
  }
  const SoakReport r = rec.report(120);
  const SoakVerdict* api = find(r, "api", "rss");
  const SoakVerdict* self = find(r, "strain", "rss");
  REQUIRE(api != nullptr);
  REQUIRE(self != nullptr);
  CHECK(api->verdict == "leak");
  CHECK(api->slope_per_hour == doctest::Approx(3.6e9).epsilon(0.05));
  CHECK(api->fails_run);
  CHECK(self->verdict == "leak");
  CHECK_FALSE(self->fails_run);
  CHECK(r.failed());
  // Counters are charted as rates (0.5 s of CPU per second), never judged.
  CHECK(find(r, "api", "cpu") == nullptr);
  bool charted = false;
  for (const SoakSeries& s : r.series) {
    if (s.component == "api" && s.resource == "cpu_per_s") {
      charted = true;
      for (double m : s.min)
        CHECK(m == doctest::Approx(0.5));
    }
  }
  CHECK(charted);
  // The report survives the result file's round trip.
  RunResult result;
  result.soak = r;
  const RunResult back = run_result_from_json(to_json(result));
  REQUIRE(back.soak.has_value());
  CHECK(back.soak->verdicts.size() == r.verdicts.size());
  CHECK(back.soak->failed());
}

TEST_CASE("gaps are reported with their reason; a restart starts a new segment") {
  SoakOptions o;
  o.judged = true;
  SoakRecorder rec({{"api", "process"}}, o);
  for (int i = 0; i < 30; ++i)
    rec.on_sample(i, 0, rss(50e6 + 1e6 * i, 0));
  for (int i = 30; i < 35; ++i)
    rec.on_sample(i, 0, gap("no process named api"));
  watch::Sample back = rss(50e6, 0);
  back.restarted_pid = 4242;
  rec.on_sample(35, 0, back);
  for (int i = 36; i < 70; ++i)
    rec.on_sample(i, 0, rss(50e6 + 1e6 * (i - 35), 0));
  const SoakReport r = rec.report(70);
  REQUIRE(r.gaps.size() == 1);
  CHECK(r.gaps[0].from_s == 30);
  CHECK(r.gaps[0].to_s == 35);
  CHECK(r.gaps[0].samples == 5);
  CHECK(r.gaps[0].reason == "no process named api");
  REQUIRE(r.restarts.size() == 1);
  CHECK(r.restarts[0].pid == 4242);
  // The fall back to 50 MB at the restart is not a drop: within each life it rose 1 MB/s.
  const SoakVerdict* v = find(r, "api", "rss");
  REQUIRE(v != nullptr);
  CHECK(v->verdict == "leak");
  CHECK(v->slope_per_hour == doctest::Approx(3.6e9).epsilon(0.05));
}

TEST_CASE("a budget broken by a slow rise fails the run even below the leak's relevance") {
  SoakOptions o;
  o.judged = true;
  o.budgets.push_back({"fds", 10});  // 10 fds per hour
  SoakRecorder rec({{"api", "pid"}}, o);
  watch::Sample s;
  for (int i = 0; i <= 600; ++i) {
    s.readings = {{"fds", "count", watch::Kind::gauge, 100 + std::floor(i / 60.0)}};  // 60/h
    rec.on_sample(i, 0, s);
  }
  const SoakReport r = rec.report(600);
  const SoakVerdict* v = find(r, "api", "fds");
  REQUIRE(v != nullptr);
  REQUIRE(v->budget_per_hour.has_value());
  CHECK(*v->budget_per_hour == 10);
  CHECK(v->budget_broken);
  CHECK(v->fails_run);
}

namespace {

// strain's self sample: its descriptors (a base plus its connections) and the connections.
watch::Sample self_fds(double base, double connections) {
  watch::Sample s;
  s.readings.push_back({"fds", "count", watch::Kind::gauge, base + connections});
  s.readings.push_back({"connections", "count", watch::Kind::gauge, connections});
  return s;
}

watch::Sample fds(double count) {
  watch::Sample s;
  s.readings.push_back({"fds", "count", watch::Kind::gauge, count});
  return s;
}

// 120 s at 1 Hz; `connections(t)` open in strain, the target holding them plus its own `own(t)`.
template <class Conns, class Own>
SoakReport descriptors_run(Conns connections, Own own) {
  SoakOptions o;
  o.judged = true;
  SoakRecorder rec({{"strain", "self"}, {"api", "pid"}}, o);
  for (int i = 0; i <= 120; ++i) {
    const double t = i;
    rec.on_sample(t, 0, self_fds(16, connections(t)));
    rec.on_sample(t, 1, fds(12 + own(t) + connections(t)));
    rec.on_round(0);
  }
  return rec.report(120);
}

}  // namespace

TEST_CASE(
    "descriptors are judged net of the connections strain opened: a growing pool is no "
    "leak, a real leak still is") {
  // The pool grows one connection every 6 s, steadily: counted in, a steady rise of 600/h.
  const auto pool = [](double t) { return 2 + std::floor(t / 6); };
  const auto flat = [](double) { return 2.0; };
  const auto none = [](double) { return 0.0; };
  const auto leak = [](double t) { return std::floor(t / 4); };  // the target's own: 900/h

  SUBCASE("the pool grows, the target leaks nothing") {
    const SoakReport r = descriptors_run(pool, none);
    const SoakVerdict* api = find(r, "api", "fds");
    const SoakVerdict* self = find(r, "strain", "fds");
    REQUIRE(api != nullptr);
    REQUIRE(self != nullptr);
    CHECK(api->verdict != "leak");
    CHECK_FALSE(api->fails_run);
    CHECK(api->reason.find("net of the connections strain holds open") != std::string::npos);
    CHECK(api->reason.find("rises") != std::string::npos);  // the raw rise is still told
    CHECK(self->verdict != "leak");
    CHECK_FALSE(r.failed());
    // The connection count is charted, never judged as a resource of its own.
    CHECK(find(r, "strain", "connections") == nullptr);
  }
  SUBCASE("the target leaks with the pool flat") {
    const SoakReport r = descriptors_run(flat, leak);
    const SoakVerdict* api = find(r, "api", "fds");
    REQUIRE(api != nullptr);
    CHECK(api->verdict == "leak");
    CHECK(api->slope_per_hour == doctest::Approx(900).epsilon(0.1));
    CHECK(api->fails_run);
    CHECK(find(r, "strain", "fds")->verdict == "stable");
  }
  SUBCASE("the target leaks while the pool grows: still a leak, at the leak's own slope") {
    const SoakReport r = descriptors_run(pool, leak);
    const SoakVerdict* api = find(r, "api", "fds");
    REQUIRE(api != nullptr);
    CHECK(api->verdict == "leak");
    CHECK(api->fails_run);
    CHECK(r.failed());
  }
}
