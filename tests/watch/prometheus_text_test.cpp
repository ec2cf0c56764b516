#include "engine/watch/prometheus_text.hpp"

#include <doctest/doctest.h>

#include <cmath>

#include "engine/core/error.hpp"
#include "tests/watch/go_client_scrape.hpp"

using namespace strain;
using namespace strain::watch;

namespace {

const Series* find(const Exposition& e, const std::string& name, const Labels& labels = {}) {
  for (const Series& s : e.series)
    if (s.name == name && s.labels == labels) return &s;
  return nullptr;
}

}  // namespace

TEST_CASE("prometheus text: a Go client's scrape parses whole") {
  const Exposition e = parse_prometheus_text(test::go_client_scrape);
  CHECK(e.bad_lines == 0);
  CHECK(e.first_bad_line == 0);
  CHECK(e.series.size() == 26);

  CHECK(find(e, "go_gc_duration_seconds", {{"quantile", "0.25"}})->value == 3.4e-05);
  CHECK(find(e, "go_gc_duration_seconds_count")->value == 211);
  CHECK(find(e, "go_memstats_heap_inuse_bytes")->value == 8290304);
  CHECK(find(e, "http_request_duration_seconds_bucket", {{"handler", "/api"}, {"le", "+Inf"}})
            ->value == 144320);
  CHECK(find(e, "http_request_duration_seconds_sum", {{"handler", "/api"}})->value == 53423.5);
  CHECK(find(e, "process_max_fds")->value == 1048576);

  const Series* escaped =
      find(e, "http_requests_total",
           {{"code", "200"}, {"method", "get"}, {"path", "C:\\dir \"q\"\nline2"}});
  REQUIRE(escaped != nullptr);
  CHECK(escaped->value == 1027);
  REQUIRE(escaped->timestamp_ms.has_value());
  CHECK(*escaped->timestamp_ms == 1395066363000);
  const Series* trailing_comma =
      find(e, "http_requests_total", {{"code", "200"}, {"method", "post"}});
  REQUIRE(trailing_comma != nullptr);
  CHECK(trailing_comma->timestamp_ms == -1);
  CHECK_FALSE(find(e, "go_goroutines")->timestamp_ms.has_value());

  CHECK(std::isnan(find(e, "cache_hit_ratio")->value));
  const Series* cold = find(e, "temperature_celsius", {{"room", "lab"}, {"rack", "7"}});
  REQUIRE(cold != nullptr);
  CHECK(std::isinf(cold->value));
  CHECK(cold->value < 0);
  CHECK(find(e, "queue_limit", {{"q", "jobs"}})->value == INFINITY);

  CHECK(e.types.at("http_requests_total") == "counter");
  CHECK(e.type_of("go_goroutines") == "gauge");
  CHECK(e.type_of("http_request_duration_seconds_bucket") == "histogram");
  CHECK(e.type_of("http_request_duration_seconds_count") == "histogram");
  CHECK(e.type_of("go_gc_duration_seconds_sum") == "summary");
  CHECK(e.type_of("go_gc_duration_seconds") == "summary");
  CHECK(e.type_of("go_goroutines_count") == "untyped");  // a gauge has no _count series
  CHECK(e.type_of("cache_hit_ratio") == "untyped");
}

TEST_CASE("prometheus text: malformed lines are skipped and counted, the first one kept") {
  const std::string text =
      "ok_one 1\r\n"               // 1  CRLF is fine
      "bad name 2\n"               // 2  bad: "name" is no value
      "no_value\n"                 // 3  bad
      "lbl{a=\"1\" b=\"2\"} 3\n"   // 4  bad: no comma
      "lbl{a=\"unterminated} 3\n"  // 5  bad
      "esc{a=\"\\x\"} 1\n"         // 6  bad: unknown escape
      "val_bad abc\n"              // 7  bad
      "ts_bad 1 12.5\n"            // 8  bad: timestamps are integers
      "# TYPE x notatype\n"        // 9  bad
      "too_many 1 2 3\n"           // 10 bad
      "dup{a=\"1\",a=\"2\"} 1\n"   // 11 bad
      "9starts_with_digit 1\n"     // 12 bad
      "# TYPE ok_two gauge\n"      // 13
      "# TYPE ok_two counter\n"    // 14 bad: a family typed twice
      "# HELP\n"                   // 15 bad: HELP without a name
      "ok_two 2.5e3\n"             // 16
      "\n"                         // 17
      "ok_three{} 3";              // 18 no final newline
  const Exposition e = parse_prometheus_text(text);
  CHECK(e.lines == 18);
  CHECK(e.bad_lines == 13);
  CHECK(e.first_bad_line == 2);
  REQUIRE(e.series.size() == 3);
  CHECK(e.series[0].name == "ok_one");
  CHECK(e.series[1].value == 2500);
  CHECK(e.series[2].name == "ok_three");
  CHECK(e.type_of("ok_two") == "gauge");
}

TEST_CASE("prometheus text: nothing but bad lines keeps the first one's number") {
  const Exposition e = parse_prometheus_text("# HELP x fine\n<html>\n<body>oops</body>\n");
  CHECK(e.series.empty());
  CHECK(e.bad_lines == 2);
  CHECK(e.first_bad_line == 2);
}

TEST_CASE("series selectors: a name and a subset of labels") {
  const Exposition e = parse_prometheus_text(test::go_client_scrape);
  const SeriesSelector all = parse_series_selector("  http_requests_total ");
  CHECK(all.text == "http_requests_total");
  CHECK(all.labels.empty());
  const SeriesSelector get = parse_series_selector("http_requests_total{method=\"get\"}");
  CHECK(get.name == "http_requests_total");
  REQUIRE(get.labels.size() == 1);
  CHECK(get.labels[0] == std::pair<std::string, std::string>{"method", "get"});
  const SeriesSelector escaped =
      parse_series_selector(R"(http_requests_total{ path = "C:\\dir \"q\"\nline2" , })");
  const SeriesSelector no_path = parse_series_selector("http_requests_total{path=\"\"}");

  int n_all = 0, n_get = 0, n_escaped = 0, n_no_path = 0;
  for (const Series& s : e.series) {
    n_all += all.matches(s);
    n_get += get.matches(s);
    n_escaped += escaped.matches(s);
    n_no_path += no_path.matches(s);
  }
  CHECK(n_all == 3);
  CHECK(n_get == 2);
  CHECK(n_escaped == 1);
  CHECK(n_no_path == 2);  // "" matches series without the label
}

TEST_CASE("series selectors: errors name the text and the column") {
  auto message = [](const std::string& text) -> std::string {
    try {
      parse_series_selector(text);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(message("jvm{area=heap}") ==
        "series selector 'jvm{area=heap}': expected '\"' opening the label value at column 10");
  CHECK(message("1abc") == "series selector '1abc': expected a metric name at column 1");
  CHECK(message("up{a=\"b\"} x") == "series selector 'up{a=\"b\"} x': unexpected 'x' at column 11");
  CHECK(message("up{a=\"b\"") == "series selector 'up{a=\"b\"': expected ',' or '}' at column 9");
  CHECK(message("up{a=\"b") ==
        "series selector 'up{a=\"b': expected '\"' closing the label value at column 8");
  CHECK(message("") == "series selector '': expected a metric name at column 1");
  CHECK(message("up{a-b=\"1\"}") == "series selector 'up{a-b=\"1\"}': expected '=' at column 5");
}
