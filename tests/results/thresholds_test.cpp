#include "engine/results/thresholds.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/core/error.hpp"

using namespace strain;

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
