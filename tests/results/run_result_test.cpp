#include "engine/results/run_result.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "engine/core/error.hpp"
#include "engine/results/json.hpp"
#include "tests/results/samples.hpp"

using namespace strain;
using strain::test::make_metric;

namespace {

RequestMetrics sample_metrics(std::uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> lat(7.0, 1.0);  // median ~1.1 ms in µs
  RequestMetrics m;
  m.name = "total";
  for (int i = 0; i < n; ++i) {
    const auto us = static_cast<std::int64_t>(lat(rng));
    m.response_time_us.record(us + 10);
    m.service_time_us.record(us);
    ++m.responses;
    const int code = (i % 50 == 0) ? 503 : 200;
    ++m.status_classes[static_cast<std::size_t>(code / 100)];
    ++m.status_codes[code];
    m.bytes_in += 150;
    m.bytes_out += 80;
  }
  m.errors_by_kind[static_cast<std::size_t>(ErrorKind::reset)] = 3;
  m.errors_by_kind[static_cast<std::size_t>(ErrorKind::timeout)] = 2;
  return m;
}

}  // namespace

TEST_CASE("failed counts transport errors and 4xx/5xx responses, nothing else") {
  RequestMetrics m = sample_metrics(1, 1000);
  // 1000 responses, every 50th a 503 → 20; plus 3 resets and 2 timeouts.
  CHECK(m.transport_errors() == 5);
  CHECK(m.failed() == 25);
}

TEST_CASE("merging metrics is exact: counts add and histograms add bucket by bucket") {
  RequestMetrics a = sample_metrics(1, 5000);
  RequestMetrics b = sample_metrics(2, 7000);
  RequestMetrics merged = a;
  merged.add(b);
  CHECK(merged.responses == 12000);
  CHECK(merged.status_codes[503] == a.status_codes[503] + b.status_codes[503]);
  CHECK(merged.errors_by_kind[static_cast<std::size_t>(ErrorKind::reset)] == 6);
  CHECK(merged.response_time_us.total_count() == 12000);
  // Independent truth: one histogram that saw every sample directly.
  Histogram direct;
  std::mt19937_64 r1(1), r2(2);
  std::lognormal_distribution<double> lat(7.0, 1.0);
  for (int i = 0; i < 5000; ++i)
    direct.record(static_cast<std::int64_t>(lat(r1)) + 10);
  lat.reset();
  for (int i = 0; i < 7000; ++i)
    direct.record(static_cast<std::int64_t>(lat(r2)) + 10);
  CHECK(merged.response_time_us == direct);
}

TEST_CASE("a result survives a JSON round trip without losing a count") {
  RunResult r;
  r.started_at = "2026-11-23T12:00:00Z";
  r.duration_s = 10.0;
  r.config.url = "http://127.0.0.1:8080/";
  r.config.vus = 50;
  r.config.threads = 2;
  r.config.planned_duration_s = 10;
  r.total = sample_metrics(3, 20000);
  r.timeline.push_back(IntervalPoint{0, 1, 2000, 40, 1.1, 9.5, 20.0});
  r.timeline.push_back(IntervalPoint{1, 1, 1990, 0, 1.0, 9.0, 19.0, 2010, 0.75});
  r.generator.cpu_user_s = 1.5;
  r.generator.connects = 50;
  r.generator.notes = {"a note"};

  const std::string text = to_json(r);
  const RunResult back = run_result_from_json(text);
  CHECK(back.total.response_time_us == r.total.response_time_us);
  CHECK(back.total.service_time_us == r.total.service_time_us);
  CHECK(back.total.status_codes == r.total.status_codes);
  CHECK(back.total.errors_by_kind == r.total.errors_by_kind);
  CHECK(back.total.responses == r.total.responses);
  REQUIRE(back.timeline.size() == 2);
  CHECK(back.timeline[0].p99_ms == doctest::Approx(9.5));
  CHECK(back.timeline[0].started == 0);
  CHECK(back.timeline[1].started == 2010);
  CHECK(back.timeline[1].schedule_lag_p99_ms == doctest::Approx(0.75));
  CHECK(back.generator.notes == r.generator.notes);
  CHECK(to_json(back) == text);  // re-rendering a saved result gives the same document

  const auto doc = nlohmann::json::parse(text);
  CHECK(doc["schema"] == "strain.result/1");
  CHECK(doc["partial"] == false);
  CHECK(doc["summary"]["requests"] == 20000);
  CHECK(doc["summary"]["errors"] == r.total.failed());
  CHECK(doc["summary"]["offered_rps"].is_null());
  CHECK(doc["summary"]["throughput_rps"].get<double>() == doctest::Approx(2000.0));
  // Percentiles in the summary agree with a brute-force view of the histogram's own buckets.
  const double p50 = doc["summary"]["response_time_ms"]["p50"];
  CHECK(p50 * 1000 ==
        doctest::Approx(static_cast<double>(r.total.response_time_us.value_at_percentile(50))));
}

TEST_CASE("foreign or damaged result files are rejected with the field named") {
  CHECK_THROWS_AS(run_result_from_json("not json"), Error);
  CHECK_THROWS_AS(run_result_from_json("[]"), Error);
  try {
    run_result_from_json(R"({"schema":"other/9"})");
    FAIL("accepted a foreign schema");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("schema") != std::string::npos);
  }
  RunResult r;
  r.total = sample_metrics(4, 100);
  auto doc = nlohmann::json::parse(to_json(r));
  doc["total"]["histograms"]["response_time"] = "!!!not base64!!!";
  try {
    run_result_from_json(doc.dump());
    FAIL("accepted a damaged histogram");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("histograms") != std::string::npos);
  }
}

TEST_CASE("a count that is not a whole number in range is refused, naming the field") {
  RunResult r;
  r.total = sample_metrics(4, 100);
  const auto good = nlohmann::json::parse(to_json(r));
  // 2.8e57 is what fuzz_result_json found: converting it to an integer was undefined behaviour.
  for (const char* bad : {"2.8e57", "-1", "1.5", "18446744073709551616.0", "-1e3"}) {
    CAPTURE(bad);
    auto doc = good;
    doc["generator"]["connects"] = nlohmann::json::parse(bad);
    try {
      (void)run_result_from_json(doc.dump());
      FAIL("accepted a bad count");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("generator.connects") != std::string::npos);
    }
  }
  // A whole number written as a float still reads.
  auto doc = good;
  doc["generator"]["connects"] = 1e3;
  CHECK(run_result_from_json(doc.dump()).generator.connects == 1000);
}

namespace {

// A scripted run's result with every field the script model adds.
RunResult scripted_result() {
  RunResult r;
  r.started_at = "2026-11-23T12:00:00Z";
  r.duration_s = 20.0;
  r.threshold_abort = "checks{rate} > 99%";
  r.config.script = "shop.lua";
  r.config.scenarios = {"browse", "checkout"};
  r.total = sample_metrics(5, 3000);
  RequestMetrics items = sample_metrics(6, 2000);
  items.name = "items";
  items.tags = {{"scenario", "browse"}, {"page", "home"}};
  RequestMetrics pay = sample_metrics(7, 1000);
  pay.name = "pay";
  pay.tags = {{"scenario", "checkout"}, {"group", "::checkout"}};
  r.by_name = {items, pay};
  r.script.iterations = 900;
  r.script.iterations_failed = 12;
  r.script.iterations_interrupted = 3;
  r.script.untracked_names = 4;
  r.script.checks = {{"status is 200", 890, 10}, {"::checkout::has id", 400, 0}};
  CustomMetric orders =
      make_metric("orders", CustomMetricKind::counter, 0.1 + 0.2, 9, 0);  // inexact on purpose
  CustomMetric hits = make_metric("cache_hit", CustomMetricKind::rate, 30, 40, 30);
  CustomMetric cart = make_metric("cart_ms", CustomMetricKind::trend);
  for (int i = 1; i <= 1000; ++i) {
    cart.values_milli.record(i * 1500);  // 1.5 .. 1500 in the metric's unit
    cart.sum += i * 1.5;
    ++cart.count;
  }
  r.script.metrics = {orders, hits, cart};
  r.script.errors = {
      {"shop.lua:12: attempt to index a nil value", "stack traceback:\n\t[C]: in ?", 11},
      {"shop.lua:40: boom", "stack traceback:\n\tshop.lua:40: in function", 1}};
  return r;
}

void check_same_metrics(const RequestMetrics& a, const RequestMetrics& b) {
  CHECK(a.name == b.name);
  CHECK(a.tags == b.tags);
  CHECK(a.response_time_us == b.response_time_us);
  CHECK(a.service_time_us == b.service_time_us);
  CHECK(a.responses == b.responses);
  CHECK(a.status_classes == b.status_classes);
  CHECK(a.status_codes == b.status_codes);
  CHECK(a.errors_by_kind == b.errors_by_kind);
  CHECK(a.bytes_in == b.bytes_in);
  CHECK(a.bytes_out == b.bytes_out);
}

void check_same_script(const ScriptStats& a, const ScriptStats& b) {
  CHECK(a.iterations == b.iterations);
  CHECK(a.iterations_failed == b.iterations_failed);
  CHECK(a.iterations_interrupted == b.iterations_interrupted);
  CHECK(a.untracked_names == b.untracked_names);
  REQUIRE(a.checks.size() == b.checks.size());
  for (std::size_t i = 0; i < a.checks.size(); ++i) {
    CHECK(a.checks[i].name == b.checks[i].name);
    CHECK(a.checks[i].passes == b.checks[i].passes);
    CHECK(a.checks[i].fails == b.checks[i].fails);
  }
  REQUIRE(a.metrics.size() == b.metrics.size());
  for (std::size_t i = 0; i < a.metrics.size(); ++i) {
    CHECK(a.metrics[i].name == b.metrics[i].name);
    CHECK(a.metrics[i].kind == b.metrics[i].kind);
    CHECK(a.metrics[i].sum == b.metrics[i].sum);  // exact, not approximately
    CHECK(a.metrics[i].count == b.metrics[i].count);
    CHECK(a.metrics[i].nonzero == b.metrics[i].nonzero);
    CHECK(a.metrics[i].values_milli == b.metrics[i].values_milli);
  }
  REQUIRE(a.errors.size() == b.errors.size());
  for (std::size_t i = 0; i < a.errors.size(); ++i) {
    CHECK(a.errors[i].message == b.errors[i].message);
    CHECK(a.errors[i].traceback == b.errors[i].traceback);
    CHECK(a.errors[i].count == b.errors[i].count);
  }
}

}  // namespace

TEST_CASE("a scripted result survives a JSON round trip: series tags, checks, metrics, errors") {
  const RunResult r = scripted_result();
  const std::string text = to_json(r);
  const RunResult back = run_result_from_json(text);
  CHECK(back.threshold_abort == r.threshold_abort);
  CHECK(back.config.script == "shop.lua");
  CHECK(back.config.scenarios == r.config.scenarios);
  check_same_metrics(back.total, r.total);
  REQUIRE(back.by_name.size() == 2);
  check_same_metrics(back.by_name[0], r.by_name[0]);
  check_same_metrics(back.by_name[1], r.by_name[1]);
  check_same_script(back.script, r.script);
  CHECK(to_json(back) == text);

  const auto doc = nlohmann::json::parse(text);
  CHECK(doc["by_name"][0]["tags"] == nlohmann::json{{"page", "home"}, {"scenario", "browse"}});
  CHECK(doc["total"]["tags"] == nlohmann::json::object());
  CHECK(doc["config"]["scenarios"] == nlohmann::json{"browse", "checkout"});
  CHECK(doc["summary"]["threshold_abort"] == "checks{rate} > 99%");
  const auto& s = doc["script"];
  CHECK(s["iterations"] == 900);
  CHECK(s["iterations_failed"] == 12);
  CHECK(s["iterations_interrupted"] == 3);
  CHECK(s["untracked_names"] == 4);
  CHECK(s["checks"][1] ==
        nlohmann::json{{"name", "::checkout::has id"}, {"passes", 400}, {"fails", 0}});
  CHECK(s["metrics"][0]["kind"] == "counter");
  CHECK_FALSE(s["metrics"][0].contains("histogram"));
  CHECK(s["metrics"][1]["kind"] == "rate");
  CHECK(s["metrics"][1]["nonzero"] == 30);
  const auto& trend = s["metrics"][2];
  CHECK(trend["kind"] == "trend");
  CHECK(trend["histogram"]["unit"] == "milli");
  // Summary figures in the metric's unit against brute force: values are 1.5 × 1..1000.
  CHECK(trend["avg"].get<double>() == doctest::Approx(1.5 * 500.5));
  CHECK(trend["p50"].get<double>() == doctest::Approx(1.5 * 500).epsilon(0.001));
  CHECK(trend["p95"].get<double>() == doctest::Approx(1.5 * 950).epsilon(0.001));
  CHECK(trend["p99"].get<double>() == doctest::Approx(1.5 * 990).epsilon(0.001));
  CHECK(trend["max"].get<double>() == doctest::Approx(1500).epsilon(0.001));
  CHECK(s["errors"][0]["count"] == 11);
  CHECK(s["errors"][1]["traceback"] == "stack traceback:\n\tshop.lua:40: in function");

  // The convenience figures are ignored on read: the histogram is what counts.
  auto edited = doc;
  edited["script"]["metrics"][2]["p99"] = 0;
  check_same_script(run_result_from_json(edited.dump()).script, r.script);
}

TEST_CASE("a result file from before scripts reads with the new fields empty") {
  auto doc = nlohmann::json::parse(to_json(scripted_result()));
  doc.erase("script");
  doc["config"].erase("script");
  doc["config"].erase("scenarios");
  doc["summary"].erase("threshold_abort");
  doc["total"].erase("tags");
  for (auto& m : doc["by_name"])
    m.erase("tags");
  const RunResult back = run_result_from_json(doc.dump());
  CHECK(back.script.empty());
  CHECK(back.config.script.empty());
  CHECK(back.config.scenarios.empty());
  CHECK(back.threshold_abort.empty());
  REQUIRE(back.by_name.size() == 2);
  CHECK(back.by_name[0].tags.empty());
  CHECK(back.by_name[0].responses == 2000);
}

TEST_CASE("new fields of the wrong type are usage errors naming the field") {
  const auto good = nlohmann::json::parse(to_json(scripted_result()));
  struct Case {
    const char* field;
    void (*damage)(nlohmann::json&);
  };
  const Case cases[] = {
      {"config.scenarios", [](nlohmann::json& d) { d["config"]["scenarios"] = "browse"; }},
      {"config.script", [](nlohmann::json& d) { d["config"]["script"] = 3; }},
      {"summary.threshold_abort",
       [](nlohmann::json& d) { d["summary"]["threshold_abort"] = true; }},
      {"by_name[].tags",
       [](nlohmann::json& d) {
         d["by_name"][0]["tags"] = {1, 2};
       }},
      {"by_name[].tags", [](nlohmann::json& d) { d["by_name"][0]["tags"]["page"] = 7; }},
      {"script", [](nlohmann::json& d) { d["script"] = 1; }},
      {"script.checks",
       [](nlohmann::json& d) { d["script"]["checks"] = nlohmann::json::object(); }},
      {"script.iterations", [](nlohmann::json& d) { d["script"].erase("iterations"); }},
      {"script.checks[].passes",
       [](nlohmann::json& d) { d["script"]["checks"][0]["passes"] = "many"; }},
      {"script.metrics[].kind",
       [](nlohmann::json& d) { d["script"]["metrics"][0]["kind"] = "gauge"; }},
      {"script.metrics[].histogram",
       [](nlohmann::json& d) { d["script"]["metrics"][2].erase("histogram"); }},
      {"script.metrics[].histogram.unit",
       [](nlohmann::json& d) { d["script"]["metrics"][2]["histogram"]["unit"] = "us"; }},
      {"script.metrics[].histogram.values",
       [](nlohmann::json& d) { d["script"]["metrics"][2]["histogram"]["values"] = "!!"; }},
      {"script.errors[].message",
       [](nlohmann::json& d) { d["script"]["errors"][0]["message"] = 5; }},
  };
  for (const Case& c : cases) {
    CAPTURE(c.field);
    auto doc = good;
    c.damage(doc);
    try {
      (void)run_result_from_json(doc.dump());
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::bad_usage);
      CHECK(std::string(e.what()).find(c.field) != std::string::npos);
    }
  }
}

TEST_CASE("429 responses are their own class: rate-limited, not failed") {
  RequestMetrics m;
  m.responses = 100;
  m.status_classes[2] = 60;
  m.status_classes[4] = 30;
  m.status_classes[5] = 10;
  m.status_codes = {{200, 60}, {429, 25}, {404, 5}, {503, 10}};
  m.errors_by_kind[static_cast<std::size_t>(ErrorKind::reset)] = 2;
  CHECK(m.rate_limited() == 25);
  CHECK(m.failed() == 2 + 5 + 10);
  const auto doc = nlohmann::json::parse(to_json([&] {
    RunResult r;
    r.total = m;
    return r;
  }()));
  CHECK(doc["summary"]["rate_limited"] == 25);
  CHECK(doc["summary"]["errors"] == 17);
}

TEST_CASE("an open-model result keeps its schedule through a JSON round trip") {
  RunResult r;
  r.duration_s = 10;
  r.total = sample_metrics(4, 1000);
  r.offered_rps = 1000.0;
  ScheduleStats& s = r.schedule;
  s.due = 10'000;
  s.started = 9'990;
  s.waited = 120;
  s.overflow = 4;
  s.unstarted_at_stop = 6;
  s.peak_backlog = 80;
  s.peak_vus = 55;
  std::mt19937_64 rng(9);
  std::exponential_distribution<double> lag(1.0 / 200.0);
  for (int i = 0; i < 9'990; ++i)
    s.schedule_lag_us.record(static_cast<std::int64_t>(lag(rng)));
  for (int i = 0; i < 10'000; ++i)
    s.dispatch_lag_us.record(i % 97);
  r.generator.loop_lag_us.record(120);
  r.generator.loop_lag_us.record(15'000);
  r.generator.busy_fraction = 0.42;

  const std::string text = to_json(r);
  const RunResult back = run_result_from_json(text);
  CHECK(back.offered_rps == r.offered_rps);
  CHECK(back.schedule.due == s.due);
  CHECK(back.schedule.started == s.started);
  CHECK(back.schedule.waited == s.waited);
  CHECK(back.schedule.overflow == s.overflow);
  CHECK(back.schedule.unstarted_at_stop == s.unstarted_at_stop);
  CHECK(back.schedule.peak_backlog == s.peak_backlog);
  CHECK(back.schedule.peak_vus == s.peak_vus);
  CHECK(back.schedule.schedule_lag_us == s.schedule_lag_us);
  CHECK(back.schedule.dispatch_lag_us == s.dispatch_lag_us);
  CHECK(back.generator.loop_lag_us == r.generator.loop_lag_us);
  CHECK(back.generator.busy_fraction == doctest::Approx(0.42));
  CHECK(to_json(back) == text);
  const auto doc = nlohmann::json::parse(text);
  CHECK(doc["summary"]["schedule_lag_ms"]["count"] == 9'990);
  CHECK(doc["summary"]["schedule_lag_ms"]["p99"].get<double>() * 1000 ==
        doctest::Approx(static_cast<double>(s.schedule_lag_us.value_at_percentile(99))));
  CHECK(doc["schedule"]["due"] == 10'000);

  // A closed-model result has no schedule at all.
  RunResult closed;
  const auto closed_doc = nlohmann::json::parse(to_json(closed));
  CHECK(closed_doc["summary"]["schedule_lag_ms"].is_null());
  CHECK(closed_doc["schedule"].is_null());
  CHECK(run_result_from_json(to_json(closed)).schedule.empty());
}

TEST_CASE("schedule stats merge exactly") {
  ScheduleStats a, b;
  a.due = 10, a.started = 9, a.overflow = 1, a.peak_vus = 3;
  b.due = 5, b.started = 4, b.unstarted_at_stop = 1, b.peak_vus = 2;
  a.schedule_lag_us.record(100);
  b.schedule_lag_us.record(5000);
  a.add(b);
  CHECK(a.due == 15);
  CHECK(a.started == 13);
  CHECK(a.overflow == 1);
  CHECK(a.unstarted_at_stop == 1);
  CHECK(a.peak_vus == 5);
  CHECK(a.schedule_lag_us.total_count() == 2);
  CHECK(a.schedule_lag_us.max() >= 4995);
}
