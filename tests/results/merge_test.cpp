#include "engine/results/merge.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/results/json.hpp"
#include "engine/results/thresholds.hpp"
#include "tests/results/samples.hpp"

using namespace strain;
using strain::test::brute_percentile_ms;
using strain::test::exponential_us;

namespace {

constexpr double kT0 = 1.7e12;  // a start time, ms since 1970

// n latencies: `fast_us` except `slow` of them at `slow_us`.
std::vector<std::int64_t> latencies(int n, std::int64_t fast_us, int slow, std::int64_t slow_us) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n - slow), fast_us);
  v.insert(v.end(), static_cast<std::size_t>(slow), slow_us);
  return v;
}

// Segment `index` (0-based) of `count`: a 10-second run whose responses have these latencies,
// `failed` of them 5xx, with thresholds as (expression, condition) judged as a run would.
RunResult segment(std::uint32_t index, std::uint32_t count,
                  const std::vector<std::int64_t>& latencies_us, std::uint64_t failed = 0) {
  RunResult r;
  r.started_at = "2023-11-14T22:13:20Z";
  r.started_at_unix_ms = kT0;
  r.duration_s = 10;
  r.config.command = "run";
  r.config.url = "http://127.0.0.1:8080/";
  r.config.executor = "constant-vus";
  r.config.vus = 5;
  r.config.threads = 1;
  r.config.planned_duration_s = 10;
  r.config.segment_count = count;
  r.config.segments = {index};
  r.config.fingerprint = "f00d";
  for (std::int64_t v : latencies_us) {
    r.total.response_time_us.record(v);
    r.total.service_time_us.record(v / 2);
  }
  const auto n = static_cast<std::uint64_t>(latencies_us.size());
  r.total.responses = n;
  r.total.status_classes[2] = n - failed;
  r.total.status_classes[5] = failed;
  r.total.status_codes[200] = n - failed;
  if (failed > 0) r.total.status_codes[503] = failed;
  r.total.bytes_in = n * 100;
  r.total.bytes_out = n * 40;
  r.generator.started = n;
  r.generator.connects = 5;
  r.generator.cpu_user_s = 1.5;
  r.generator.peak_rss_bytes = 10'000'000 + index;
  return r;
}

void with_thresholds(RunResult& r, const std::vector<std::pair<std::string, std::string>>& ts) {
  std::vector<ThresholdSpec> specs;
  for (const auto& [key, condition] : ts)
    specs.push_back(parse_threshold(key, condition));
  r.thresholds = evaluate_thresholds(specs, r);
}

const ThresholdVerdict& verdict(const RunResult& r, const std::string& expression) {
  for (const ThresholdVerdict& v : r.thresholds)
    if (v.expression == expression) return v;
  FAIL("no verdict for " << expression);
  return r.thresholds.front();
}

std::string refusal(std::vector<NamedResult> parts, const MergeOptions& options = {}) {
  try {
    merge_results(std::move(parts), options);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(merged)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("histograms add exactly and counters sum") {
  const auto a_us = exponential_us(7'001, 3'000);
  const auto b_us = exponential_us(5'003, 9'000);
  const auto c_us = latencies(2'000, 1'000, 40, 2'000'000);
  std::vector<NamedResult> parts{{"c.json", segment(2, 3, c_us, 40)},
                                 {"a.json", segment(0, 3, a_us, 3)},
                                 {"b.json", segment(1, 3, b_us)}};
  parts[1].result.schedule.due = 100;
  parts[2].result.schedule.due = 50;
  parts[1].result.script.iterations = 7;
  parts[1].result.script.checks.push_back({"ok", 6, 1});
  parts[2].result.script.iterations = 4;
  parts[2].result.script.checks.push_back({"ok", 4, 0});
  RequestMetrics login;
  login.name = "login";
  login.responses = 3;
  login.response_time_us.record_n(500, 3);
  parts[1].result.by_name.push_back(login);
  parts[2].result.by_name.push_back(login);

  const MergeOutcome out = merge_results(parts);
  const RunResult& m = out.result;

  // The truth: every raw sample recorded once into one histogram.
  Histogram all;
  std::vector<std::int64_t> raw;
  for (const auto* v : {&a_us, &b_us, &c_us}) {
    for (std::int64_t x : *v)
      all.record(x);
    raw.insert(raw.end(), v->begin(), v->end());
  }
  CHECK(m.total.response_time_us.total_count() == 14'004);
  CHECK(m.total.response_time_us.total_count() ==
        parts[0].result.total.response_time_us.total_count() +
            parts[1].result.total.response_time_us.total_count() +
            parts[2].result.total.response_time_us.total_count());
  CHECK(m.total.response_time_us == all);  // bucket for bucket
  CHECK(m.total.service_time_us.total_count() == 14'004);
  for (double p : {50.0, 99.0, 99.9}) {
    const double merged_ms =
        static_cast<double>(m.total.response_time_us.value_at_percentile(p)) / 1000.0;
    CHECK(merged_ms == doctest::Approx(brute_percentile_ms(raw, p)).epsilon(0.001));
  }
  CHECK(m.total.responses == 14'004);
  CHECK(m.total.status_classes[5] == 43);
  CHECK(m.total.status_codes.at(503) == 43);
  CHECK(m.total.status_codes.at(200) == 14'004 - 43);
  CHECK(m.total.bytes_in == 1'400'400);
  CHECK(m.total.failed() == 43);
  CHECK(m.generator.started == 14'004);
  CHECK(m.generator.connects == 15);
  CHECK(m.generator.cpu_user_s == doctest::Approx(4.5));
  CHECK(m.generator.peak_rss_bytes == 10'000'002);  // processes apart: the largest
  CHECK(m.schedule.due == 150);
  CHECK(m.script.iterations == 11);
  REQUIRE(m.script.checks.size() == 1);
  CHECK(m.script.checks[0].passes == 10);
  REQUIRE(m.by_name.size() == 1);
  CHECK(m.by_name[0].responses == 6);
  CHECK(m.by_name[0].response_time_us.total_count() == 6);
  // Which segments it holds, and the shares of the load added up.
  CHECK(m.config.segments == std::vector<std::uint32_t>{0, 1, 2});
  CHECK(m.config.segment_count == 3);
  CHECK(m.config.vus == 15);
  CHECK(m.config.fingerprint == "f00d");
  CHECK_FALSE(m.partial);
  CHECK(m.duration_s == 10);
  CHECK(m.throughput_rps() == doctest::Approx(1400.4));
  // The merged result survives its own file.
  const RunResult back = run_result_from_json(to_json(m));
  CHECK(back.config.segments == m.config.segments);
  CHECK(back.total.response_time_us == all);
}

TEST_CASE("thresholds are judged on the merged whole, not per segment") {
  SUBCASE("a count passes on every segment alone and fails on the whole") {
    // 6 failures each: < 10 holds for each segment, the test as a whole had 12.
    RunResult a = segment(0, 2, latencies(1'000, 5'000, 0, 0), 6);
    RunResult b = segment(1, 2, latencies(1'000, 5'000, 0, 0), 6);
    with_thresholds(a, {{"errors{count}", "< 10"}});
    with_thresholds(b, {{"errors{count}", "< 10"}});
    REQUIRE(a.thresholds[0].passed);
    REQUIRE(b.thresholds[0].passed);
    const MergeOutcome out = merge_results({{"a.json", a}, {"b.json", b}});
    const ThresholdVerdict& v = verdict(out.result, "errors{count}");
    CHECK_FALSE(v.passed);
    CHECK(v.observed == 12);
    CHECK(std::count_if(out.notes.begin(), out.notes.end(), [](const std::string& n) {
            return contains(n,
                            "errors{count} < 10: passed on 2 segments ('a.json', 'b.json') alone, "
                            "fails on the merged whole");
          }) == 1);
  }
  SUBCASE("a rate fails on every segment alone and passes on the whole") {
    // 100/s each over the same 10 s: the test offered 200/s.
    RunResult a = segment(0, 2, latencies(1'000, 5'000, 0, 0));
    RunResult b = segment(1, 2, latencies(1'000, 5'000, 0, 0));
    with_thresholds(a, {{"requests{rate}", "> 150"}});
    with_thresholds(b, {{"requests{rate}", "> 150"}});
    REQUIRE_FALSE(a.thresholds[0].passed);
    REQUIRE_FALSE(b.thresholds[0].passed);
    const MergeOutcome out = merge_results({{"a.json", a}, {"b.json", b}});
    const ThresholdVerdict& v = verdict(out.result, "requests{rate}");
    CHECK(v.passed);
    CHECK(*v.observed == doctest::Approx(200));
  }
  SUBCASE("p99 is the global one: fails on the whole though the mean of p99s passes") {
    // A: 0.9% at 500 ms, p99 = 10 ms. B: 2% at 300 ms, p99 = 300 ms. Mean of p99s: 155 ms.
    // All 2,000 together: the top 1% (20) are 9 at 500 ms and 11 of B's at 300 ms.
    const auto a_us = latencies(1'000, 10'000, 9, 500'000);
    const auto b_us = latencies(1'000, 10'000, 20, 300'000);
    RunResult a = segment(0, 2, a_us);
    RunResult b = segment(1, 2, b_us);
    with_thresholds(a, {{"latency{p99}", "< 200ms"}});
    with_thresholds(b, {{"latency{p99}", "< 200ms"}});
    REQUIRE(a.thresholds[0].passed);
    REQUIRE_FALSE(b.thresholds[0].passed);
    CHECK((*a.thresholds[0].observed + *b.thresholds[0].observed) / 2 < 200);
    std::vector<std::int64_t> raw = a_us;
    raw.insert(raw.end(), b_us.begin(), b_us.end());
    REQUIRE(brute_percentile_ms(raw, 99) == 300);
    const MergeOutcome out = merge_results({{"a.json", a}, {"b.json", b}});
    const ThresholdVerdict& v = verdict(out.result, "latency{p99}");
    CHECK(*v.observed == doctest::Approx(300).epsilon(0.001));
    CHECK_FALSE(v.passed);
    REQUIRE(out.notes.size() == 1);
    CHECK(
        out.notes[0] ==
        "latency{p99} < 200ms: passed on 'a.json' (segment 1/2) alone, fails on the merged whole");
  }
  SUBCASE("p99 is the global one: passes on the whole though a segment and the mean fail") {
    // A: 1.5% at 500 ms, p99 = 500 ms; B: all at 10 ms. Mean of p99s 255 ms; together only
    // 0.75% are slow, so the global p99 is 10 ms.
    const auto a_us = latencies(1'000, 10'000, 15, 500'000);
    const auto b_us = latencies(1'000, 10'000, 0, 0);
    RunResult a = segment(0, 2, a_us);
    RunResult b = segment(1, 2, b_us);
    with_thresholds(a, {{"latency{p99}", "< 100ms"}});
    with_thresholds(b, {{"latency{p99}", "< 100ms"}});
    REQUIRE_FALSE(a.thresholds[0].passed);
    CHECK((*a.thresholds[0].observed + *b.thresholds[0].observed) / 2 > 100);
    std::vector<std::int64_t> raw = a_us;
    raw.insert(raw.end(), b_us.begin(), b_us.end());
    REQUIRE(brute_percentile_ms(raw, 99) == 10);
    const MergeOutcome out = merge_results({{"a.json", a}, {"b.json", b}});
    const ThresholdVerdict& v = verdict(out.result, "latency{p99}");
    CHECK(*v.observed == doctest::Approx(10).epsilon(0.001));
    CHECK(v.passed);
  }
  SUBCASE("thresholds of every segment are judged, each once") {
    RunResult a = segment(0, 2, latencies(100, 5'000, 0, 0));
    RunResult b = segment(1, 2, latencies(100, 5'000, 0, 0));
    with_thresholds(a, {{"latency{p99}", "< 1s"}, {"errors{rate}", "< 1%"}});
    with_thresholds(b, {{"errors{rate}", "< 1%"}, {"requests{count}", "> 150"}});
    const MergeOutcome out = merge_results({{"a.json", a}, {"b.json", b}});
    REQUIRE(out.result.thresholds.size() == 3);
    CHECK(verdict(out.result, "requests{count}").passed);
    CHECK(verdict(out.result, "requests{count}").observed == 200);
  }
}

TEST_CASE("merging refuses what is not one test's segments, naming the files") {
  const auto lat = latencies(100, 5'000, 0, 0);
  const RunResult s1 = segment(0, 4, lat);
  const RunResult s2 = segment(1, 4, lat);
  const RunResult s3 = segment(2, 4, lat);
  const RunResult s4 = segment(3, 4, lat);

  SUBCASE("overlapping segments name both files and the segment") {
    const std::string e =
        refusal({{"s1.json", s1}, {"s2.json", s2}, {"s2-again.json", s2}, {"s4.json", s4}});
    CHECK(contains(e, "'s2.json' and 's2-again.json' both hold segment 2/4"));
  }
  SUBCASE("a result holding several segments overlaps one of them") {
    RunResult s12 = merge_results({{"s1.json", s1}, {"s2.json", s2}}, {true}).result;
    const std::string e = refusal({{"s12.json", s12}, {"s2.json", s2}, {"s3.json", s3}});
    CHECK(contains(e, "'s12.json' and 's2.json' both hold segment 2/4"));
  }
  SUBCASE("whole runs do not merge") {
    RunResult w1 = segment(0, 1, lat);
    RunResult w2 = segment(0, 1, lat);
    const std::string e = refusal({{"w1.json", w1}, {"w2.json", w2}});
    CHECK(contains(e, "'w1.json' and 'w2.json' both hold segment 1/1"));
    CHECK(contains(e, "whole run"));
  }
  SUBCASE("missing segments are named") {
    const std::string e = refusal({{"s1.json", s1}, {"s3.json", s3}});
    CHECK(contains(e, "segments 2, 4 of 4 are missing"));
    CHECK(contains(e, "--allow-partial"));
    CHECK(contains(refusal({{"s1.json", s1}, {"s2.json", s2}, {"s4.json", s4}}),
                   "segment 3 of 4 is missing"));
  }
  SUBCASE("a different fingerprint: a different script or different options") {
    RunResult other = s2;
    other.config.fingerprint = "beef";
    other.config.script = "other.lua";
    const std::string e = refusal({{"s1.json", s1}, {"other.json", other}, {"s3.json", s3}});
    CHECK(contains(e, "'other.json' is not of the same test as 's1.json'"));
    CHECK(contains(e, "script 'other.lua' vs ''"));
    other.config.script.clear();
    CHECK(contains(refusal({{"s1.json", s1}, {"other.json", other}}), "fingerprint beef vs f00d"));
  }
  SUBCASE("without fingerprints (older files), script and URL decide") {
    RunResult a = s1;
    RunResult b = s2;
    a.config.fingerprint.clear();
    b.config.fingerprint.clear();
    b.config.url = "http://127.0.0.1:9090/";
    CHECK(contains(refusal({{"a.json", a}, {"b.json", b}}, {true}),
                   "'b.json' is not of the same test as 'a.json': URL"));
    b.config.url = a.config.url;
    const MergeOutcome out = merge_results({{"a.json", a}, {"b.json", b}}, {true});
    CHECK(std::any_of(out.notes.begin(), out.notes.end(), [](const std::string& n) {
      return contains(n, "no fingerprint in 'a.json'");
    }));
  }
  SUBCASE("different commands, segment counts, and stress searches") {
    RunResult soak = s2;
    soak.config.command = "soak";
    CHECK(contains(refusal({{"s1.json", s1}, {"soak.json", soak}}),
                   "'soak.json' is a soak result but 's1.json' is a run result"));
    RunResult of3 = segment(1, 3, lat);
    CHECK(contains(refusal({{"s1.json", s1}, {"of3.json", of3}}),
                   "'of3.json' is a segment of a test split in 3 but 's1.json' of one split in 4"));
    RunResult stress = s1;
    stress.config.command = "stress";
    stress.stress.emplace();
    CHECK(contains(refusal({{"stress.json", stress}}), "'stress.json' is a stress result"));
  }
  SUBCASE("nothing to merge") {
    CHECK(contains(refusal({}), "nothing to merge"));
  }
}

TEST_CASE("--allow-partial merges what there is and marks the result partial") {
  const auto lat = latencies(100, 5'000, 0, 0);
  const MergeOutcome out =
      merge_results({{"s3.json", segment(2, 4, lat)}, {"s1.json", segment(0, 4, lat)}}, {true});
  CHECK(out.result.partial);
  CHECK(out.result.config.segments == std::vector<std::uint32_t>{0, 2});
  CHECK(out.result.total.responses == 200);
  CHECK(std::any_of(out.notes.begin(), out.notes.end(), [](const std::string& n) {
    return contains(n, "segments 2, 4 of 4 missing") && contains(n, "segments 1, 3 only");
  }));
  CHECK(std::any_of(out.result.generator.notes.begin(), out.result.generator.notes.end(),
                    [](const std::string& n) { return n.starts_with("merge: segments 2, 4"); }));
  // A complete merge of a part that was itself interrupted is partial too.
  RunResult cut = segment(1, 2, lat);
  cut.partial = true;
  const MergeOutcome whole = merge_results({{"a.json", segment(0, 2, lat)}, {"b.json", cut}});
  CHECK(whole.result.partial);
  CHECK(whole.notes.front() == "'b.json' (segment 2/2) is partial: its run stopped early");
}

TEST_CASE("timelines align by wall-clock second across different origins") {
  // A starts at T0 with 5 one-second points of 100 responses; B starts 2.3 s later (its first
  // second is mostly A's third) with 5 points of 50. Together: 7 seconds.
  auto with_timeline = [](RunResult r, std::uint64_t per_s, double p99_ms, std::uint32_t vus) {
    for (int i = 0; i < 5; ++i) {
      IntervalPoint p;
      p.start_s = i;
      p.length_s = 1;
      p.responses = per_s;
      p.errors = 1;
      p.p50_ms = p99_ms / 2;
      p.p99_ms = p99_ms;
      p.max_ms = p99_ms * 2;
      p.active_vus = vus;
      r.timeline.push_back(p);
    }
    return r;
  };
  const auto lat = latencies(10, 5'000, 0, 0);
  RunResult a = with_timeline(segment(0, 2, lat), 100, 10, 4);
  RunResult b = with_timeline(segment(1, 2, lat), 50, 40, 3);
  b.started_at_unix_ms = kT0 + 2'300;
  b.started_at = "later";
  b.duration_s = 12;
  // B given first: the origin is still the earliest start.
  const MergeOutcome out = merge_results({{"b.json", b}, {"a.json", a}});
  const RunResult& m = out.result;
  CHECK(m.started_at_unix_ms == kT0);
  CHECK(m.started_at == a.started_at);
  CHECK(m.duration_s == 12);
  CHECK(std::any_of(out.notes.begin(), out.notes.end(),
                    [](const std::string& n) { return contains(n, "started up to 2.3 s apart"); }));
  REQUIRE(m.timeline.size() == 7);
  const std::vector<std::uint64_t> responses{100, 100, 150, 150, 150, 50, 50};
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < 7; ++i) {
    const IntervalPoint& p = m.timeline[i];
    CAPTURE(i);
    // On the earliest part's clock; the seconds of B alone at B's own times.
    CHECK(p.start_s == doctest::Approx(static_cast<double>(i) + (i <= 4 ? 0.0 : 0.3)));
    CHECK(p.length_s == 1);
    CHECK(p.responses == responses[i]);
    sum += p.responses;
    const bool both = i >= 2 && i <= 4;
    CHECK(p.errors == (both ? 2u : 1u));
    CHECK(p.active_vus == (both ? 7u : i < 2 ? 4u : 3u));  // processes apart: VUs add
    CHECK(p.p99_ms == (i < 2 ? 10.0 : 40.0));              // a peak is kept
    CHECK(p.max_ms == (i < 2 ? 20.0 : 80.0));
    // The median weighted by responses: (100 x 5 + 50 x 20) / 150 = 10.
    CHECK(p.p50_ms == doctest::Approx(both ? 10.0 : i < 2 ? 5.0 : 20.0));
  }
  CHECK(sum == 750);
  // 1.7 s later instead: B's first second is still most of A's third.
  b.started_at_unix_ms = kT0 + 1'700;
  const RunResult m2 = merge_results({{"a.json", a}, {"b.json", b}}).result;
  REQUIRE(m2.timeline.size() == 7);
  CHECK(m2.timeline[1].responses == 100);
  CHECK(m2.timeline[2].responses == 150);
  CHECK(m2.timeline[2].start_s == 2);  // on the earliest part's clock
}

TEST_CASE("timelines whose interval timers drift stay paired second by second") {
  // Two hours of one-second intervals, each 0.3 ms late (the tick is timed from the last):
  // 2.2 s of drift by the end, in both segments alike, started 0.2 s apart.
  const auto lat = latencies(10, 5'000, 0, 0);
  RunResult a = segment(0, 2, lat);
  RunResult b = segment(1, 2, lat);
  b.started_at_unix_ms = kT0 + 200;
  for (RunResult* r : {&a, &b}) {
    for (int i = 0; i < 4'000; ++i) {
      IntervalPoint p;
      p.start_s = i * 1.0003;
      p.length_s = 1.0003;
      p.responses = 10;
      p.active_vus = 1;
      r->timeline.push_back(p);
    }
  }
  const RunResult m = merge_results({{"a.json", a}, {"b.json", b}}).result;
  REQUIRE(m.timeline.size() == 4'000);
  CHECK(std::all_of(m.timeline.begin(), m.timeline.end(),
                    [](const IntervalPoint& p) { return p.responses == 20 && p.active_vus == 2; }));
  CHECK(m.timeline.back().start_s == doctest::Approx(3'999 * 1.0003));
}

TEST_CASE("soak verdicts stay per segment; a leak in any fails the whole") {
  const auto lat = latencies(10, 5'000, 0, 0);
  auto soaked = [&](std::uint32_t index, const char* verdict, bool fails) {
    RunResult r = segment(index, 2, lat);
    r.config.command = "soak";
    r.soak.emplace();
    r.soak->judged = true;
    SoakVerdict v;
    v.component = "api";
    v.resource = "rss";
    v.verdict = verdict;
    v.fails_run = fails;
    r.soak->verdicts.push_back(v);
    SoakGap gap;
    gap.component = "api";
    gap.from_s = 5;
    gap.to_s = 6;
    r.soak->gaps.push_back(gap);
    r.soak->files.intervals = "seg.intervals.jsonl";
    return r;
  };
  RunResult b = soaked(1, "leak", true);
  b.started_at_unix_ms = kT0 + 1'000;
  const MergeOutcome out = merge_results({{"a.json", soaked(0, "stable", false)}, {"b.json", b}});
  REQUIRE(out.result.soak);
  const SoakReport& s = *out.result.soak;
  REQUIRE(s.verdicts.size() == 2);
  CHECK(s.verdicts[0].component == "api (segment 1/2)");
  CHECK(s.verdicts[0].verdict == "stable");
  CHECK(s.verdicts[1].component == "api (segment 2/2)");
  CHECK(s.verdicts[1].verdict == "leak");
  CHECK(s.failed());
  REQUIRE(s.gaps.size() == 2);
  CHECK(s.gaps[1].from_s == 6);  // on the merged clock
  CHECK(s.files.intervals.empty());
  CHECK(out.result.config.command == "soak");
}
