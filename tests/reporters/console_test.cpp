#include "reporters/console.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace strain;

namespace {

// A script metric with its tallies; the trend histogram starts empty.
CustomMetric make_metric(std::string name, CustomMetricKind kind, double sum = 0,
                         std::uint64_t count = 0, std::uint64_t nonzero = 0) {
  CustomMetric m;
  m.name = std::move(name);
  m.kind = kind;
  m.sum = sum;
  m.count = count;
  m.nonzero = nonzero;
  return m;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

RequestMetrics series(std::string name, std::map<std::string, std::string> tags,
                      std::uint64_t responses, std::int64_t latency_us) {
  RequestMetrics m;
  m.name = std::move(name);
  m.tags = std::move(tags);
  for (std::uint64_t i = 0; i < responses; ++i) {
    m.response_time_us.record(latency_us);
    m.service_time_us.record(latency_us);
  }
  m.responses = responses;
  m.status_classes[2] = responses;
  return m;
}

RunResult url_run() {
  RunResult r;
  r.config.url = "http://127.0.0.1:8080/";
  r.config.vus = 10;
  r.config.threads = 1;
  r.duration_s = 10;
  r.total = series("total", {}, 1000, 1500);
  return r;
}

RunResult scripted_run() {
  RunResult r;
  r.config.script = "shop.lua";
  r.config.scenarios = {"browse", "checkout"};
  r.config.vus = 20;
  r.config.threads = 2;
  r.duration_s = 10;
  r.threshold_abort = "checks{rate} > 99%";
  // 30 series: "s1" has 10 responses … "s30" has 300, so the 5 smallest are cut.
  for (int i = 1; i <= 30; ++i) {
    const char* scenario = i % 2 == 0 ? "browse" : "checkout";
    r.by_name.push_back(series("s" + std::to_string(i), {{"scenario", scenario}},
                               static_cast<std::uint64_t>(i) * 10, 2000));
    r.total.add(r.by_name.back());
  }
  r.script.iterations = 1200;
  r.script.iterations_failed = 30;
  r.script.iterations_interrupted = 4;
  r.script.untracked_names = 7;
  r.script.checks = {{"::checkout::status is 200", 500, 0}, {"has id", 495, 5}};
  CustomMetric orders = make_metric("orders", CustomMetricKind::counter, 250, 100, 100);
  CustomMetric hits = make_metric("cache_hit", CustomMetricKind::rate, 30, 40, 30);
  CustomMetric cart = make_metric("cart_ms", CustomMetricKind::trend);
  for (int i = 1; i <= 1000; ++i) {
    cart.values_milli.record(i * 1000);
    cart.sum += i;
    ++cart.count;
  }
  r.script.metrics = {orders, hits, cart};
  for (int i = 1; i <= 12; ++i) {
    r.script.errors.push_back({"shop.lua:" + std::to_string(i) + ": boom",
                               "stack traceback:\n\tshop.lua:" + std::to_string(i) + ": in browse",
                               static_cast<std::uint64_t>(i == 3 ? 10 : 1)});
  }
  return r;
}

}  // namespace

TEST_CASE("a single-URL run's summary has none of the script sections") {
  const std::string out = render_summary(url_run());
  CHECK(has(out, "strain run http://127.0.0.1:8080/"));
  CHECK(has(out, "requests"));
  for (const char* absent : {"checks", "iterations", "script errors", "custom metrics", "by name",
                             "stopped early", "(other)", "scenarios", "more series"}) {
    CAPTURE(absent);
    CHECK_FALSE(has(out, absent));
  }
}

TEST_CASE("a scripted run's summary shows checks, iterations, errors, metrics and series") {
  const std::string out = render_summary(scripted_run());
  CHECK(has(out, "strain run shop.lua"));
  CHECK(has(out, "stopped early: threshold checks{rate} > 99% failed (abort_on_fail)"));
  CHECK(out.find("stopped early") < out.find("requests"));  // near the top
  CHECK(has(out, "scenarios      browse, checkout"));

  // checks: 995 of 1000 passed overall; the failing one marked.
  CHECK(has(out, "checks         99.50% passed (995 of 1000)"));
  CHECK(has(out, "✓ ::checkout::status is 200"));
  CHECK(has(out, "✗ has id"));
  CHECK(has(out, "495 passed        5 failed    99.00%"));

  CHECK(
      has(out, "iterations     1200 completed, 120.0/s; 30 failed by script error, 4 interrupted"));

  // script errors: the most frequent first, ten shown, tracebacks indented.
  CHECK(has(out, "script errors  30 iterations ended by a script error, 12 distinct"));
  CHECK(has(out,
            "    ×10     shop.lua:3: boom\n            stack traceback:\n"
            "              shop.lua:3: in browse\n"));
  CHECK(out.find("shop.lua:3: boom") < out.find("shop.lua:1: boom"));
  CHECK(has(out, "… 2 more distinct errors (see --out)"));
  CHECK_FALSE(has(out, "shop.lua:12: boom"));  // the 11th and 12th of the equal ones are cut
  CHECK_FALSE(has(out, "shop.lua:11: boom"));

  CHECK(has(out, "custom metrics"));
  CHECK(has(out, "orders        counter  250 total, 25/s"));
  CHECK(has(out, "cache_hit     rate     75.00% (30/40)"));
  // Trend figures in the metric's unit: values 1..1000, HDR to three digits.
  CHECK(has(out,
            "cart_ms       trend    avg 500.5  p50 500.2  p95 950.3  p99 990.2  max 1000  "
            "(1000 values)"));

  // series: sorted by requests, 25 shown, tags listed.
  CHECK(has(out, "by name"));
  CHECK(has(out, "s30            scenario=browse"));
  CHECK(out.find("s30 ") < out.find("s29 "));
  CHECK(has(out, "s6 "));
  CHECK_FALSE(has(out, "s5 "));
  CHECK(has(out, "… 5 more series (see --out)"));
  CHECK(has(out,
            "warning: 7 requests were recorded as '(other)': more distinct request names "
            "than the cap; name them with name=…"));
}

TEST_CASE("a lone default scenario is not listed, nor its tag on every series") {
  RunResult r = url_run();
  r.config.url.clear();
  r.config.script = "simple.lua";
  r.config.scenarios = {"default"};
  r.by_name = {series("home", {{"scenario", "default"}}, 100, 1000),
               series("cart", {{"scenario", "default"}, {"group", "::buy"}}, 50, 1000)};
  r.script.iterations = 100;
  const std::string out = render_summary(r);
  CHECK_FALSE(has(out, "scenario=default"));
  CHECK_FALSE(has(out, "scenarios"));
  CHECK(has(out, "group=::buy"));
  CHECK(has(out, "iterations     100 completed"));
  CHECK_FALSE(has(out, "script errors"));  // none happened
  CHECK_FALSE(has(out, "checks"));
  CHECK_FALSE(has(out, "more series"));
}

TEST_CASE("a multi-line script error keeps every line under its message") {
  RunResult r = url_run();
  r.script.iterations_failed = 2;
  r.script.errors = {{"x.lua:1: bad\nsecond line", "", 2}, {"", "", 1}};
  const std::string out = render_summary(r);
  CHECK(has(out,
            "script errors  2 iterations ended by a script error, 2 distinct\n"
            "    ×2      x.lua:1: bad\n"
            "            second line\n"
            "    ×1      (no message)\n"));
  CHECK(has(out, "iterations     0 completed"));  // errors make it a scripted run
}
