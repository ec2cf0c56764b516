#include "engine/results/thresholds.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "tests/results/samples.hpp"

using namespace strain;
using strain::test::make_metric;

TEST_CASE("threshold expressions parse into metric, tags, aggregate and a limit in base units") {
  auto t = parse_threshold("latency{p99}", "< 250ms");
  CHECK(t.metric == "latency");
  CHECK(t.aggregate == "p99");
  CHECK(t.percentile == 99.0);
  CHECK(t.comparison == Comparison::less);
  CHECK(t.limit == doctest::Approx(250.0));

  t = parse_threshold("latency{name:login,p95}", "<= 1.5s");
  CHECK(t.tags.at("name") == "login");
  CHECK(t.percentile == 95.0);
  CHECK(t.comparison == Comparison::less_equal);
  CHECK(t.limit == doctest::Approx(1500.0));

  t = parse_threshold("errors{rate}", "< 1%");
  CHECK(t.limit == doctest::Approx(0.01));
  t = parse_threshold("errors{rate}", "<0.02");
  CHECK(t.limit == doctest::Approx(0.02));
  t = parse_threshold("service_time{p(99.9)}", "< 800us");
  CHECK(t.percentile == doctest::Approx(99.9));
  CHECK(t.limit == doctest::Approx(0.8));
  t = parse_threshold("requests{count}", ">= 1000");
  CHECK(t.comparison == Comparison::greater_equal);
  CHECK(t.limit == 1000);
  t = parse_threshold("latency{avg}", "< 20");  // a plain number is milliseconds
  CHECK(t.limit == 20);
}

TEST_CASE("bad threshold expressions name the expression and the problem") {
  const std::vector<std::pair<const char*, const char*>> bad = {
      {"latency", "< 1s"},       {"latency{p99", "< 1s"},    {"latency{p99,p95}", "< 1s"},
      {"latency{rate}", "< 1%"}, {"latency{p99}", "1s"},     {"latency{p99}", "< fast"},
      {"errors{p99}", "< 1"},    {"errors{count}", "< 1%"},  {"latency{p101}", "< 1s"},
      {"{p99}", "< 1s"},         {"latency{name:}", "< 1s"}, {"lat ency{p99}", "< 1s"},
      {"errors{rate}", "< x%"},  {"latency{p99}", "<"},
  };
  for (const auto& [key, cond] : bad) {
    CAPTURE(key);
    CAPTURE(cond);
    try {
      (void)parse_threshold(key, cond);
      FAIL("accepted");
    } catch (const UsageError& e) {
      CHECK(std::string(e.what()).find(std::string("threshold '") + key) != std::string::npos);
    }
  }
}

namespace {

// 1000 responses of 1..1000 ms, 20 of them 503s, plus 5 resets; a "login" subset of 100.
RunResult known_run(std::vector<double>& latencies_ms) {
  RunResult r;
  r.duration_s = 10;
  RequestMetrics login;
  login.name = "login";
  for (int i = 1; i <= 1000; ++i) {
    r.total.response_time_us.record(i * 1000);
    r.total.service_time_us.record(i * 900);
    latencies_ms.push_back(i);
    ++r.total.responses;
    const int code = i % 50 == 0 ? 503 : 200;
    ++r.total.status_classes[static_cast<std::size_t>(code / 100)];
    if (i <= 100) {
      login.response_time_us.record(i * 1000);
      ++login.responses;
    }
  }
  r.total.errors_by_kind[static_cast<std::size_t>(ErrorKind::reset)] = 5;
  r.by_name.push_back(login);
  return r;
}

double nearest_rank(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::max<std::size_t>(rank, 1) - 1];
}

}  // namespace

TEST_CASE("thresholds are judged against the run's figures, checked by brute force") {
  std::vector<double> samples;
  const RunResult run = known_run(samples);
  const double p99 = nearest_rank(samples, 99);  // 990 ms
  const std::vector<ThresholdSpec> specs = {
      parse_threshold("latency{p99}", "< 995ms"),  // passes: 990 < 995
      parse_threshold("latency{p99}", "< 985ms"),  // fails
      // login is 1..100 ms; HDR reports max to 3 significant digits (100 ms reads ~100.06)
      parse_threshold("latency{name:login,max}", "<= 100.1ms"),
      parse_threshold("errors{rate}", "< 1%"),                // fails: 25 / 1005 = 2.5%
      parse_threshold("errors{rate}", "< 5%"),                // passes
      parse_threshold("errors{count}", "== 25"),              // passes
      parse_threshold("requests{rate}", ">= 100"),            // passes: 1000 / 10 s
      parse_threshold("latency{name:checkout,p95}", "< 1s"),  // fails: no such name
      parse_threshold("checks{rate}", "> 99%"),               // fails: not recorded yet
  };
  const auto results = evaluate_thresholds(specs, run);
  REQUIRE(results.size() == specs.size());
  CHECK(results[0].observed.value() == doctest::Approx(p99).epsilon(0.001));
  CHECK(results[0].passed);
  CHECK_FALSE(results[1].passed);
  CHECK(results[2].passed);
  CHECK(results[3].observed.value() == doctest::Approx(25.0 / 1005.0));
  CHECK_FALSE(results[3].passed);
  CHECK(results[4].passed);
  CHECK(results[5].passed);
  CHECK(results[6].observed.value() == doctest::Approx(100.0));
  CHECK(results[6].passed);
  CHECK_FALSE(results[7].passed);
  CHECK(results[7].note.find("checkout") != std::string::npos);
  CHECK_FALSE(results[8].passed);
  CHECK_FALSE(results[8].observed.has_value());
}

namespace {

// A request series with `n` responses at start_ms, start_ms+1, … ms; every `fail_every`th a 503.
RequestMetrics series(const char* name, std::map<std::string, std::string> tags, int start_ms,
                      int n, int fail_every, std::vector<double>& truth) {
  RequestMetrics m;
  m.name = name;
  m.tags = std::move(tags);
  for (int i = 0; i < n; ++i) {
    const int v = start_ms + i;
    m.response_time_us.record(v * 1000);
    m.service_time_us.record(v * 500);
    truth.push_back(v);
    ++m.responses;
    const int code = fail_every > 0 && i % fail_every == 0 ? 503 : 200;
    ++m.status_classes[static_cast<std::size_t>(code / 100)];
  }
  return m;
}

ThresholdVerdict judge_one(const char* key, const char* cond, const RunResult& run) {
  return evaluate_thresholds({parse_threshold(key, cond)}, run).at(0);
}

}  // namespace

TEST_CASE("request thresholds with tags merge every matching series, checked by brute force") {
  std::vector<double> items_browse, items_checkout, login_browse;
  RunResult run;
  run.duration_s = 10;
  run.by_name = {
      series("items", {{"scenario", "browse"}, {"page", "home"}}, 1, 400, 10, items_browse),
      series("items", {{"scenario", "checkout"}, {"group", "::checkout"}}, 500, 300, 0,
             items_checkout),
      series("login", {{"scenario", "browse"}}, 2000, 100, 4, login_browse),
  };
  for (const auto& m : run.by_name)
    run.total.add(m);

  std::vector<double> items = items_browse;
  items.insert(items.end(), items_checkout.begin(), items_checkout.end());
  std::vector<double> browse = items_browse;
  browse.insert(browse.end(), login_browse.begin(), login_browse.end());

  auto v = judge_one("latency{name:items,p99}", "< 1s", run);  // both items series, merged
  CHECK(v.observed.value() == doctest::Approx(nearest_rank(items, 99)).epsilon(0.001));
  CHECK(v.passed);
  v = judge_one("latency{scenario:browse,p(90)}", "< 1s", run);  // items and login
  CHECK(v.observed.value() == doctest::Approx(nearest_rank(browse, 90)).epsilon(0.001));
  CHECK_FALSE(v.passed);  // the login tail is at 2 s
  v = judge_one("latency{name:items,scenario:browse,max}", "< 1s", run);  // one series only
  CHECK(v.observed.value() == doctest::Approx(400).epsilon(0.001));
  v = judge_one("service_time{group:::checkout,min}", "> 1ms", run);
  CHECK(v.observed.value() == doctest::Approx(250).epsilon(0.001));
  v = judge_one("errors{name:items,count}", "== 40", run);  // 40 in browse, none in checkout
  CHECK(v.observed.value() == 40);
  CHECK(v.passed);
  v = judge_one("errors{scenario:browse,rate}", "< 10%", run);  // (40 + 25) / 500
  CHECK(v.observed.value() == doctest::Approx(65.0 / 500.0));
  CHECK_FALSE(v.passed);
  v = judge_one("requests{name:login,count}", "== 100", run);
  CHECK(v.passed);
  v = judge_one("requests{scenario:browse,rate}", ">= 50", run);  // 500 responses / 10 s
  CHECK(v.observed.value() == doctest::Approx(50));
  CHECK(v.passed);
  v = judge_one("latency{p50}", "< 1s", run);  // no tags: the total
  std::vector<double> all = browse;
  all.insert(all.end(), items_checkout.begin(), items_checkout.end());
  CHECK(v.observed.value() == doctest::Approx(nearest_rank(all, 50)).epsilon(0.001));

  v = judge_one("latency{name:items,scenario:nope,p99}", "< 1s", run);
  CHECK_FALSE(v.passed);
  CHECK_FALSE(v.observed.has_value());
  CHECK(v.note == "no requests match {name:items,scenario:nope}");
  v = judge_one("errors{page:about,rate}", "< 1%", run);  // a tag no series carries with that value
  CHECK(v.note == "no requests match {page:about}");
}

TEST_CASE("checks thresholds: overall rate, counts, and filters by check name and group") {
  RunResult run;
  run.config.script = "shop.lua";
  run.script.checks = {
      {"status is 200", 90, 10},
      {"::checkout::status is 200", 50, 0},
      {"::checkout::has id", 40, 10},
      {"::checkout::pay::ok", 5, 5},
  };
  // Brute force over the tallies, with the matches listed by hand.
  auto rate_of = [&](std::initializer_list<std::size_t> which) {
    double p = 0, f = 0;
    for (std::size_t i : which) {
      p += static_cast<double>(run.script.checks[i].passes);
      f += static_cast<double>(run.script.checks[i].fails);
    }
    return p / (p + f);
  };
  auto v = judge_one("checks{rate}", "> 99%", run);
  CHECK(v.observed.value() == doctest::Approx(rate_of({0, 1, 2, 3})));
  CHECK_FALSE(v.passed);
  v = judge_one("checks{rate}", ">= 0.8", run);
  CHECK(v.passed);
  v = judge_one("checks{check:status is 200,rate}", "> 90%", run);  // last segment: two checks
  CHECK(v.observed.value() == doctest::Approx(rate_of({0, 1})));
  CHECK(v.passed);
  v = judge_one("checks{check:::checkout::has id,fails}", "== 10", run);  // full name
  CHECK(v.observed.value() == 10);
  CHECK(v.passed);
  v = judge_one("checks{group:::checkout,count}", "== 100", run);  // not the nested ::checkout::pay
  CHECK(v.observed.value() == 100);
  v = judge_one("checks{group:checkout,passes}", "== 90", run);  // "::" may be left out
  CHECK(v.observed.value() == 90);
  v = judge_one("checks{group:::checkout::pay,check:ok,rate}", ">= 50%", run);
  CHECK(v.observed.value() == doctest::Approx(0.5));
  CHECK(v.passed);
  v = judge_one("checks{passes}", "> 0", run);
  CHECK(v.observed.value() == 185);
  v = judge_one("checks{count}", "== 210", run);
  CHECK(v.passed);

  v = judge_one("checks{check:nope,rate}", "> 99%", run);
  CHECK_FALSE(v.observed.has_value());
  CHECK(v.note == "no checks match {check:nope}");
  run.script.checks.clear();
  v = judge_one("checks{rate}", "> 99%", run);
  CHECK_FALSE(v.passed);
  CHECK(v.note == "no checks in this run");
  run.script.checks = {{"zero", 0, 0}};
  v = judge_one("checks{rate}", "> 99%", run);
  CHECK(v.note == "no checks were run");
  CHECK(judge_one("checks{count}", "== 0", run).passed);
}

TEST_CASE("iterations and script_errors thresholds") {
  RunResult run;
  run.duration_s = 10;
  run.config.script = "shop.lua";
  run.script.iterations = 300;
  run.script.iterations_failed = 20;
  run.script.iterations_interrupted = 7;  // cut short by the scenario's end: neither kind
  auto v = judge_one("iterations{count}", ">= 300", run);
  CHECK(v.observed.value() == 300);
  CHECK(v.passed);
  v = judge_one("iterations{rate}", "> 29.5", run);
  CHECK(v.observed.value() == doctest::Approx(30));
  CHECK(v.passed);
  v = judge_one("script_errors{count}", "== 0", run);
  CHECK(v.observed.value() == 20);
  CHECK_FALSE(v.passed);
  v = judge_one("script_errors{rate}", "< 5%", run);
  CHECK(v.observed.value() == doctest::Approx(20.0 / 320.0));
  CHECK_FALSE(v.passed);

  run.script = {};
  v = judge_one("script_errors{rate}", "< 5%", run);
  CHECK(v.note == "no iterations ended");
  CHECK(judge_one("iterations{count}", "== 0", run).passed);  // a script ran: zero is a figure

  RunResult url_run;
  url_run.duration_s = 10;
  v = judge_one("iterations{count}", "> 0", url_run);
  CHECK_FALSE(v.passed);
  CHECK(v.note.find("not recorded") != std::string::npos);
}

TEST_CASE("custom metric thresholds by kind, in the metric's own unit, checked by brute force") {
  RunResult run;
  run.duration_s = 10;
  std::vector<double> cart;
  CustomMetric orders = make_metric("orders", CustomMetricKind::counter, 42, 10, 10);
  CustomMetric hits = make_metric("cache_hit", CustomMetricKind::rate, 30, 40, 30);
  CustomMetric cart_ms = make_metric("cart_ms", CustomMetricKind::trend);
  for (int i = 1; i <= 1000; ++i) {
    const double value = i * 0.5;  // 0.5 .. 500 ms
    cart.push_back(value);
    cart_ms.values_milli.record(static_cast<std::int64_t>(value * 1000));
    cart_ms.sum += value;
    ++cart_ms.count;
  }
  CustomMetric empty_trend = make_metric("empty_ms", CustomMetricKind::trend);
  run.script.metrics = {orders, hits, cart_ms, empty_trend};

  auto v = judge_one("orders{count}", "== 42", run);  // a counter's count is its sum, as in k6
  CHECK(v.observed.value() == 42);
  CHECK(v.passed);
  v = judge_one("orders{rate}", "> 4", run);
  CHECK(v.observed.value() == doctest::Approx(4.2));
  CHECK(v.passed);
  v = judge_one("cache_hit{rate}", "> 70%", run);
  CHECK(v.observed.value() == doctest::Approx(0.75));
  CHECK(v.passed);
  v = judge_one("cart_ms{p(95)}", "< 480ms", run);
  CHECK(v.observed.value() == doctest::Approx(nearest_rank(cart, 95)).epsilon(0.001));
  CHECK(v.passed);
  v = judge_one("cart_ms{p99.9}", "< 0.4s", run);  // a duration limit in ms: 400
  CHECK(v.observed.value() == doctest::Approx(nearest_rank(cart, 99.9)).epsilon(0.001));
  CHECK_FALSE(v.passed);
  v = judge_one("cart_ms{med}", "< 300", run);
  CHECK(v.observed.value() == doctest::Approx(nearest_rank(cart, 50)).epsilon(0.001));
  v = judge_one("cart_ms{avg}", "== 250.25", run);  // exact: the sum over the count
  CHECK(v.passed);
  v = judge_one("cart_ms{min}", "<= 0.5", run);
  CHECK(v.observed.value() == doctest::Approx(0.5).epsilon(0.001));
  v = judge_one("cart_ms{max}", "> 499", run);
  CHECK(v.observed.value() == doctest::Approx(500).epsilon(0.001));
  CHECK(judge_one("cart_ms{count}", "== 1000", run).passed);

  struct Bad {
    const char* key;
    const char* cond;
    const char* note;
  };
  const Bad bad[] = {
      {"orders{p95}", "< 1",
       "aggregate 'p95' does not apply to counter metric 'orders' (use count or rate)"},
      {"cache_hit{count}", "> 1",
       "aggregate 'count' does not apply to rate metric 'cache_hit' (use rate)"},
      {"cart_ms{rate}", "< 1%",
       "aggregate 'rate' does not apply to trend metric 'cart_ms' (use pNN, avg, min, max, med or "
       "count)"},
      {"cart_ms{passes}", "> 1",
       "aggregate 'passes' does not apply to trend metric 'cart_ms' (use pNN, avg, min, max, med "
       "or count)"},
      {"empty_ms{p99}", "< 1s", "no values were added to 'empty_ms'"},
      {"missing{count}", "> 0", "metric 'missing' is not recorded by this run"},
  };
  for (const auto& b : bad) {
    CAPTURE(b.key);
    v = judge_one(b.key, b.cond, run);
    CHECK_FALSE(v.passed);
    CHECK_FALSE(v.observed.has_value());
    CHECK(v.note == b.note);
  }
  CHECK(judge_one("empty_ms{count}", "== 0", run).passed);
}

TEST_CASE("parsing is lenient for a script's metric names and strict for built-in ones") {
  auto t = parse_threshold("cart.build_ms{p(99.5)}", "< 1.5s");
  CHECK(t.metric == "cart.build_ms");
  CHECK(t.percentile == doctest::Approx(99.5));
  CHECK(t.limit == doctest::Approx(1500));
  t = parse_threshold("orders{count}", "> 10");
  CHECK(t.limit == 10);
  t = parse_threshold("cache_hit{rate}", ">= 95%");
  CHECK(t.limit == doctest::Approx(0.95));
  t = parse_threshold("cart_ms{avg}", "< 300ms");
  CHECK(t.limit == doctest::Approx(300));
  t = parse_threshold("ok{passes}", "> 0");
  CHECK(t.aggregate == "passes");
  t = parse_threshold("checks{group:::checkout,check:has id,rate}", "> 99%");
  CHECK(t.tags.at("group") == "::checkout");
  CHECK(t.tags.at("check") == "has id");
  CHECK(t.limit == doctest::Approx(0.99));
  t = parse_threshold("script_errors{rate}", "< 1%");
  CHECK(t.limit == doctest::Approx(0.01));
  t = parse_threshold("iterations{rate}", ">= 20");
  CHECK(t.limit == 20);
  t = parse_threshold("latency{scenario:browse,group:::checkout,p95}", "< 400ms");
  CHECK(t.tags.size() == 2);
  CHECK(t.delay_abort_eval.count() == 0);
  CHECK_FALSE(t.abort_on_fail);

  const std::vector<std::pair<const char*, const char*>> bad = {
      {"orders{sum}", "> 1"},
      {"orders{p101}", "< 1"},
      {"cart_ms{p99}", "< 5%"},
      {"orders{scenario:browse,count}", "> 1"},
      {"orders{count}", "> lots"},
      {"checks{p99}", "< 1s"},
      {"checks{rate}", "< 1s"},
      {"checks{passes}", "> 5%"},
      {"checks{scenario:x,rate}", "> 99%"},
      {"iterations{p95}", "< 1"},
      {"iterations{rate}", "> 5%"},
      {"requests{rate}", "> 5%"},
      {"iterations{scenario:x,count}", "> 1"},
      {"script_errors{avg}", "< 1"},
      {"script_errors{count}", "< 1s"},
      {"errors{count}", "< 1s"},
  };
  for (const auto& [key, cond] : bad) {
    CAPTURE(key);
    CAPTURE(cond);
    try {
      (void)parse_threshold(key, cond);
      FAIL("accepted");
    } catch (const UsageError& e) {
      CHECK(std::string(e.what()).find(std::string("threshold '") + key) != std::string::npos);
    }
  }
}

TEST_CASE("first_abort: only judged failures of abort_on_fail thresholds past their delay") {
  std::vector<double> truth;
  RunResult partial;
  partial.duration_s = 6;
  partial.config.script = "shop.lua";
  partial.by_name = {series("items", {{"scenario", "browse"}}, 10, 100, 0, truth)};
  partial.total = partial.by_name[0];  // 10 .. 109 ms

  std::vector<ThresholdSpec> specs;
  specs.push_back(parse_threshold("latency{p99}", "< 50ms"));  // fails, but not abort_on_fail
  specs.push_back(parse_threshold("checks{rate}", "> 99%"));   // no checks yet: never aborts
  specs.back().abort_on_fail = true;
  specs.push_back(parse_threshold("latency{scenario:browse,p99}", "< 100ms"));  // fails at 5 s
  specs.back().abort_on_fail = true;
  specs.back().delay_abort_eval = std::chrono::seconds(5);
  specs.push_back(parse_threshold("errors{rate}", "< 1%"));  // passes: never aborts
  specs.back().abort_on_fail = true;

  CHECK_FALSE(first_abort(specs, partial, 4.999).has_value());  // the failing one still waits
  CHECK(first_abort(specs, partial, 5.0) == "latency{scenario:browse,p99} < 100ms");
  CHECK(first_abort(specs, partial, 60.0) == "latency{scenario:browse,p99} < 100ms");

  // A missing observation never aborts, even past the delay.
  specs[2] = parse_threshold("latency{scenario:checkout,p99}", "< 100ms");
  specs[2].abort_on_fail = true;
  CHECK_FALSE(first_abort(specs, partial, 60.0).has_value());
  CHECK_FALSE(first_abort({}, partial, 60.0).has_value());

  // Once checks exist and fail, the first failing spec in order is the one reported.
  partial.script.checks = {{"status is 200", 1, 1}};
  CHECK(first_abort(specs, partial, 0.0) == "checks{rate} > 99%");
}

TEST_CASE("rate_limited and schedule_lag thresholds") {
  RunResult r;
  r.duration_s = 10;
  r.total.responses = 200;
  r.total.status_classes[2] = 150;
  r.total.status_classes[4] = 50;
  r.total.status_codes = {{200, 150}, {429, 40}, {400, 10}};
  for (int i = 1; i <= 1000; ++i)
    r.schedule.schedule_lag_us.record(i * 10);  // 10 µs .. 10 ms
  const std::vector<ThresholdSpec> specs = {
      parse_threshold("rate_limited{rate}", "< 25%"),  // 40 / 200 = 20%: passes
      parse_threshold("rate_limited{count}", "< 40"),  // fails
      parse_threshold("errors{count}", "== 10"),       // 429s are not errors: passes
      parse_threshold("schedule_lag{p99}", "< 10ms"),  // 9.9 ms: passes
      parse_threshold("schedule_lag{max}", "< 9ms"),   // fails
  };
  const auto v = evaluate_thresholds(specs, r);
  CHECK(v[0].passed);
  CHECK(v[0].observed.value() == doctest::Approx(0.2));
  CHECK_FALSE(v[1].passed);
  CHECK(v[2].passed);
  CHECK(v[3].passed);
  CHECK(v[3].observed.value() == doctest::Approx(9.9).epsilon(0.002));
  CHECK_FALSE(v[4].passed);
  // A closed-model run has no schedule lag: the threshold cannot pass, and says why.
  RunResult closed;
  const auto c = evaluate_thresholds({parse_threshold("schedule_lag{p99}", "< 10ms")}, closed);
  CHECK_FALSE(c[0].passed);
  CHECK(c[0].note.find("arrival-rate") != std::string::npos);
  CHECK_THROWS_AS(parse_threshold("schedule_lag{name:x,p99}", "< 1ms"), UsageError);
  CHECK_THROWS_AS(parse_threshold("rate_limited{p99}", "< 1"), UsageError);
}
