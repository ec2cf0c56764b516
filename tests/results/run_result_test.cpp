#include "engine/results/run_result.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "engine/core/error.hpp"
#include "engine/results/json.hpp"

using namespace strain;

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
  CHECK(back.timeline.size() == 1);
  CHECK(back.timeline[0].p99_ms == doctest::Approx(9.5));
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
