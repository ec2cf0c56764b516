#include "engine/results/compare.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "tests/results/samples.hpp"

using namespace strain;
using strain::test::brute_percentile_ms;
using strain::test::exponential_us;

namespace {

// A 10-second run whose responses have the given latencies; `failed` of them are 5xx.
RunResult run_with(const std::vector<std::int64_t>& latencies_us, std::uint64_t failed = 0) {
  RunResult r;
  r.duration_s = 10;
  for (std::int64_t v : latencies_us)
    r.total.response_time_us.record(v);
  r.total.responses = latencies_us.size();
  r.total.status_classes[2] = latencies_us.size() - failed;
  r.total.status_classes[5] = failed;
  return r;
}

// A 10-second run with a timeline of one-second intervals of these response counts.
RunResult run_with_rates(const std::vector<std::uint64_t>& per_second) {
  RunResult r;
  r.duration_s = static_cast<double>(per_second.size());
  for (std::size_t i = 0; i < per_second.size(); ++i) {
    IntervalPoint p;
    p.start_s = static_cast<double>(i);
    p.length_s = 1;
    p.responses = per_second[i];
    r.timeline.push_back(p);
    r.total.responses += per_second[i];
  }
  r.total.status_classes[2] = r.total.responses;
  r.total.response_time_us.record_n(10'000, static_cast<std::int64_t>(r.total.responses));
  return r;
}

const ComparedFigure& figure(const RunComparison& c, Figure f) {
  for (const ComparedFigure& x : c.series.front().figures)
    if (x.figure == f) return x;
  FAIL("figure missing: " << to_string(f));
  return c.series.front().figures.front();
}

const RegressionLimits defaults = parse_regression_limits(default_regression_limits);

}  // namespace

TEST_CASE("identical runs: every figure the same, no regression") {
  const RunResult r = run_with(exponential_us(20'000, 10'000), 30);
  const RunComparison c = compare_results(r, r, defaults);
  REQUIRE(c.series.size() == 1);
  CHECK(c.series.front().name == "total");
  CHECK(c.series.front().figures.size() == figure_count);
  for (const ComparedFigure& f : c.series.front().figures) {
    CHECK_MESSAGE(f.verdict == FigureVerdict::same, to_string(f.figure));
    CHECK(f.change == 0);
  }
  CHECK_FALSE(c.regressed);
}

TEST_CASE("a 20% p99 rise over 100,000 responses is a regression") {
  const auto base = exponential_us(100'000, 10'000);
  const auto next = exponential_us(100'000, 12'000);
  const RunComparison c = compare_results(run_with(base), run_with(next), defaults);
  const ComparedFigure& p99 = figure(c, Figure::p99);
  const double truth_base = brute_percentile_ms(base, 99);
  const double truth_next = brute_percentile_ms(next, 99);
  // HDR keeps three digits: within 0.1% of the raw samples' percentile.
  CHECK(p99.base == doctest::Approx(truth_base).epsilon(0.001));
  CHECK(p99.next == doctest::Approx(truth_next).epsilon(0.001));
  CHECK(p99.change == doctest::Approx(100 * (truth_next - truth_base) / truth_base).epsilon(0.01));
  CHECK(p99.change > 19.0);
  CHECK(p99.base_high < p99.next_low);
  CHECK(p99.verdict == FigureVerdict::regression);
  CHECK(c.regressed);
  // p50 moved too, beyond its noise, but has no limit: reported, never failing.
  CHECK(figure(c, Figure::p50).verdict == FigureVerdict::worse);
  // And the other way round it is better.
  const RunComparison back = compare_results(run_with(next), run_with(base), defaults);
  CHECK(figure(back, Figure::p99).verdict == FigureVerdict::better);
  CHECK_FALSE(back.regressed);
}

TEST_CASE("the same 20% p99 rise over 50 responses is within noise") {
  const RunComparison c = compare_results(run_with(exponential_us(50, 10'000)),
                                          run_with(exponential_us(50, 12'000)), defaults);
  const ComparedFigure& p99 = figure(c, Figure::p99);
  CHECK(p99.change > 15.0);
  // Of 50 samples, the top few bracket p99: their spread dwarfs a 20% shift.
  CHECK(p99.base_high >= p99.next_low);
  CHECK(p99.verdict == FigureVerdict::within_noise);
  CHECK_FALSE(c.regressed);
}

TEST_CASE("a 20% p99 rise is within noise when the run's seconds disagree by more") {
  RunResult base = run_with(exponential_us(100'000, 10'000));
  RunResult next = run_with(exponential_us(100'000, 12'000));
  // Ten seconds of 10,000 responses each whose p99 swings by ±20 ms: stalls slowed many
  // requests together, so the histograms' order statistics alone would be too confident.
  for (RunResult* r : {&base, &next}) {
    const double p99_ms =
        static_cast<double>(r->total.response_time_us.value_at_percentile(99.0)) / 1000.0;
    for (int i = 0; i < 10; ++i) {
      IntervalPoint p;
      p.start_s = static_cast<double>(i);
      p.length_s = 1;
      p.responses = 10'000;
      p.p99_ms = p99_ms + (i % 2 == 0 ? 20.0 : -20.0);
      r->timeline.push_back(p);
    }
  }
  const RunComparison c = compare_results(base, next, defaults);
  const ComparedFigure& p99 = figure(c, Figure::p99);
  CHECK(p99.change > 19.0);
  // ±z·sd/√k = ±2.576 · 21.08 / √10 ≈ ±17.2 ms around each run's p99.
  CHECK(p99.base_high ==
        doctest::Approx(p99.base + 2.576 * std::sqrt(400.0 * 10 / 9) / std::sqrt(10.0))
            .epsilon(0.001));
  CHECK(p99.verdict == FigureVerdict::within_noise);
  // Without the timeline the same histograms are a regression (see above).
  CHECK(figure(c, Figure::p999).verdict == FigureVerdict::worse);
}

TEST_CASE("a significant rise within the limit is worse, not a regression") {
  const RunComparison c = compare_results(run_with(exponential_us(200'000, 10'000)),
                                          run_with(exponential_us(200'000, 10'500)), defaults);
  const ComparedFigure& p99 = figure(c, Figure::p99);
  CHECK(p99.change == doctest::Approx(5.0).epsilon(0.05));
  CHECK(p99.verdict == FigureVerdict::worse);
  CHECK_FALSE(c.regressed);
}

TEST_CASE("throughput: a steady 10% drop is a regression, the same drop in a jumpy run is not") {
  const std::vector<std::uint64_t> steady(10, 1000);
  const std::vector<std::uint64_t> slower(10, 900);
  RunComparison c = compare_results(run_with_rates(steady), run_with_rates(slower), defaults);
  const ComparedFigure& t = figure(c, Figure::throughput);
  CHECK(t.base == doctest::Approx(1000));
  CHECK(t.next == doctest::Approx(900));
  CHECK(t.change == doctest::Approx(-10));
  CHECK(t.verdict == FigureVerdict::regression);
  CHECK(c.regressed);

  // Same means, but the steady seconds swing between 200 and 1800 (or 100 and 1700).
  std::vector<std::uint64_t> jumpy_base, jumpy_new;
  for (int i = 0; i < 10; ++i) {
    jumpy_base.push_back(i % 2 == 0 ? 200 : 1800);
    jumpy_new.push_back(i % 2 == 0 ? 100 : 1700);
  }
  c = compare_results(run_with_rates(jumpy_base), run_with_rates(jumpy_new), defaults);
  CHECK(figure(c, Figure::throughput).change == doctest::Approx(-10));
  CHECK(figure(c, Figure::throughput).verdict == FigureVerdict::within_noise);
  CHECK_FALSE(c.regressed);

  // A rise is never a regression.
  c = compare_results(run_with_rates(slower), run_with_rates(steady), defaults);
  CHECK(figure(c, Figure::throughput).verdict == FigureVerdict::better);
}

TEST_CASE("errors: a rise of 0.4 points over 100,000 requests fails, 1 in 100 does not") {
  const auto lat = exponential_us(100'000, 10'000);
  RunComparison c = compare_results(run_with(lat, 100), run_with(lat, 500), defaults);
  const ComparedFigure& e = figure(c, Figure::errors);
  CHECK(e.base == doctest::Approx(0.1));
  CHECK(e.next == doctest::Approx(0.5));
  CHECK(e.change == doctest::Approx(0.4));
  CHECK(e.verdict == FigureVerdict::regression);
  CHECK(c.regressed);

  const auto few = exponential_us(100, 10'000);
  c = compare_results(run_with(few, 0), run_with(few, 1), defaults);
  CHECK(figure(c, Figure::errors).change == doctest::Approx(1.0));
  CHECK(figure(c, Figure::errors).verdict == FigureVerdict::within_noise);
  CHECK_FALSE(c.regressed);
}

TEST_CASE("series are matched by name and tags; those in one run only are listed, not judged") {
  RunResult base = run_with(exponential_us(1000, 10'000));
  RunResult next = base;
  RequestMetrics login;
  login.name = "login";
  login.tags = {{"scenario", "a"}};
  login.response_time_us.record(5000);
  login.responses = 1;
  RequestMetrics cart = login;
  cart.name = "cart";
  RequestMetrics login_b = login;
  login_b.tags = {{"scenario", "b"}};
  base.by_name = {login, cart};
  next.by_name = {login_b, login};
  const RunComparison c = compare_results(base, next, defaults);
  REQUIRE(c.series.size() == 4);
  CHECK(c.series[1].name == "login");
  CHECK(c.series[1].presence == SeriesPresence::both);
  CHECK_FALSE(c.series[1].figures.empty());
  CHECK(c.series[2].name == "cart");
  CHECK(c.series[2].presence == SeriesPresence::only_base);
  CHECK(c.series[2].figures.empty());
  CHECK(c.series[3].tags.at("scenario") == "b");
  CHECK(c.series[3].presence == SeriesPresence::only_new);
}

TEST_CASE("partial runs and differing set-ups are noted") {
  RunResult base = run_with(exponential_us(1000, 10'000));
  RunResult next = base;
  next.partial = true;
  next.config.vus = 20;
  base.config.vus = 10;
  const RunComparison c = compare_results(base, next, defaults);
  REQUIRE(c.notes.size() == 2);
  CHECK(c.notes[0].find("new run is partial") != std::string::npos);
  CHECK(c.notes[1].find("vus 10 -> 20") != std::string::npos);
}

TEST_CASE("regression limits parse; bad parts are named") {
  const RegressionLimits d = defaults;
  CHECK(d.of(Figure::p99) == doctest::Approx(10.0));
  CHECK(d.of(Figure::throughput) == doctest::Approx(5.0));
  CHECK(d.of(Figure::errors) == doctest::Approx(0.1));
  CHECK_FALSE(d.of(Figure::p50).has_value());
  CHECK_FALSE(d.of(Figure::max).has_value());

  const RegressionLimits l = parse_regression_limits(" p50=2.5% , p999=30%,max=100%,mean=0%");
  CHECK(l.of(Figure::p50) == doctest::Approx(2.5));
  CHECK(l.of(Figure::p999) == doctest::Approx(30.0));
  CHECK(l.of(Figure::max) == doctest::Approx(100.0));
  CHECK(l.of(Figure::mean) == doctest::Approx(0.0));
  CHECK_FALSE(l.of(Figure::p99).has_value());  // only the figures listed are judged
  CHECK(parse_regression_limits("p99.9=5%").of(Figure::p999) == doctest::Approx(5.0));

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "empty"},      {"p99", "'p99'"},           {"p98=5%", "p98"},
      {"p99=10", "'%'"},  {"p99=-1%", "p99=-1%"},     {"p99=abc%", "p99=abc%"},
      {"p99=%", "p99=%"}, {"p99=5%,p99=6%", "twice"}, {"p99=5%,,errors=1%", "''"},
      {"p99=5%,", "''"},
  };
  for (const auto& [spec, mentions] : bad) {
    try {
      parse_regression_limits(spec);
      FAIL("accepted: " << spec);
    } catch (const UsageError& e) {
      const std::string what = e.what();
      CHECK_MESSAGE(what.find("--max-regression") != std::string::npos, what);
      CHECK_MESSAGE(what.find(mentions) != std::string::npos, what);
    }
  }
}

TEST_CASE("the comparison's JSON names its schema, figures and verdicts") {
  const RunResult r = run_with(exponential_us(1000, 10'000));
  const std::string text = to_json(compare_results(r, r, defaults), -1);
  CHECK(text.find("\"schema\":\"strain.comparison/1\"") != std::string::npos);
  CHECK(text.find("\"figure\":\"p99\"") != std::string::npos);
  CHECK(text.find("\"verdict\":\"same\"") != std::string::npos);
  CHECK(text.find("\"regressed\":false") != std::string::npos);
}
