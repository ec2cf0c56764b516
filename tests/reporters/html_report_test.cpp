#include "reporters/html/html_report.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "reporters/html/decimate.hpp"
#include "reporters/html/html_escape.hpp"
#include "reporters/html/run_charts.hpp"
#include "reporters/html/scale.hpp"
#include "reporters/html/soak_section.hpp"
#include "reporters/html/stress_section.hpp"
#include "reporters/html/svg_chart.hpp"

using namespace strain;
using namespace strain::html;

namespace {

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++n;
  return n;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The `d` attributes of the paths inside each chart's <g class="data">.
std::vector<std::string> data_paths(const std::string& page) {
  std::vector<std::string> out;
  for (auto at = page.find("<g class=\"data\""); at != std::string::npos;
       at = page.find("<g class=\"data\"", at + 1)) {
    const auto end = page.find("</g>\n", at);
    const std::string group = page.substr(at, end - at);
    // No std::regex: GCC 12 warns inside <regex> at -O1 (the ASan preset), a false positive.
    for (auto p = group.find("<path "); p != std::string::npos; p = group.find("<path ", p + 1)) {
      const auto close = group.find('>', p);
      const auto d = group.find(" d=\"", p);
      if (d == std::string::npos || d > close) continue;
      const auto value = d + 4;
      out.push_back(group.substr(value, group.find('"', value) - value));
    }
  }
  return out;
}

// A run of `seconds` one-second points: 100/s, p50 2 ms … max 9 ms, a 400 ms stall at 60 s.
RunResult timed_run(int seconds) {
  RunResult r;
  r.config.command = "run";
  r.config.url = "http://127.0.0.1:8080/";
  r.config.vus = 10;
  r.config.threads = 2;
  r.started_at = "2026-12-06T00:00:00Z";
  r.duration_s = seconds;
  for (int i = 0; i < seconds; ++i) {
    IntervalPoint p;
    p.start_s = i;
    p.length_s = 1;
    p.responses = 100 + static_cast<std::uint64_t>(i % 7);
    p.p50_ms = 2 + 0.1 * (i % 5);
    p.p90_ms = 4;
    p.p99_ms = 6 + (i % 3);
    p.max_ms = i == 60 ? 400 : 9;
    p.service_p50_ms = 1.5;
    p.service_p99_ms = 5;
    if (i % 10 == 0) {
      p.errors = 2;
      p.errors_by_kind[static_cast<std::size_t>(ErrorKind::timeout)] = 2;
    }
    r.timeline.push_back(p);
  }
  for (int v = 1; v <= 10000; ++v) {
    r.total.response_time_us.record(v);
    r.total.service_time_us.record(v / 2);
  }
  r.total.responses = 10000;
  return r;
}

}  // namespace

TEST_CASE("escape: markup characters in names become character references") {
  CHECK(escape("<b a=\"x\">&'") == "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
  CHECK(escape("plain ünïcode") == "plain ünïcode");
}

TEST_CASE("decimate_min_max keeps the peak and the trough of a 43,200-point series") {
  // Twelve hours at one point a second: a slow wave, one 1 s spike and one 1 s dip.
  std::vector<Point> points;
  for (int i = 0; i < 43200; ++i)
    points.push_back({static_cast<double>(i), 50 + 10 * std::sin(i / 600.0)});
  points[31337].y = 1e6;
  points[777].y = -5;
  const double bucket = 43200.0 / 1000;  // a 1000-pixel-wide plot
  const std::vector<Point> kept = decimate_min_max(points, 0, bucket);
  CHECK(kept.size() <= 2000);
  CHECK(kept.size() >= 1000);
  const auto [lo, hi] = std::minmax_element(
      kept.begin(), kept.end(), [](const Point& a, const Point& b) { return a.y < b.y; });
  CHECK(hi->y == 1e6);
  CHECK(hi->x == 31337);
  CHECK(lo->y == -5);
  CHECK(std::is_sorted(kept.begin(), kept.end(),
                       [](const Point& a, const Point& b) { return a.x < b.x; }));
}

TEST_CASE("decimate_band keeps the lowest floor and the highest peak per bucket") {
  std::vector<BandPoint> band;
  for (int i = 0; i < 43200; ++i)
    band.push_back({static_cast<double>(i), 100.0, 110.0});
  band[20000].high = 9999;
  band[20001].low = 1;
  const std::vector<BandPoint> kept = decimate_band(band, 0, 43.2);
  CHECK(kept.size() == 1000);
  double low = INFINITY;
  double high = -INFINITY;
  for (const BandPoint& p : kept) {
    low = std::min(low, p.low);
    high = std::max(high, p.high);
  }
  CHECK(low == 1);
  CHECK(high == 9999);
}

TEST_CASE("a chart of a 43,200-point series draws about a point pair per pixel, peak kept") {
  ChartSpec c;
  c.id = "long";
  c.title = "long";
  c.x.format = TickFormat::duration;
  std::vector<Point> points;
  for (int i = 0; i < 43200; ++i)
    points.push_back({static_cast<double>(i), 10.0 + (i % 17)});
  points[40000].y = 500;
  c.series.push_back(make_series("v", 0, SeriesStyle::line, points));
  const std::string svg = render_chart(c);
  const std::vector<std::string> paths = data_paths(svg);
  REQUIRE(paths.size() == 1);
  const std::size_t pairs = occurrences(paths[0], ",");
  CHECK(pairs <= 2 * static_cast<std::size_t>(kChartWidthPx));
  CHECK(pairs > 500);
  // The peak is the highest point of the chart: the smallest pixel y of the path.
  double top_px = INFINITY;
  // Every "x,y" pair: the y follows its comma.
  for (auto comma = paths[0].find(','); comma != std::string::npos;
       comma = paths[0].find(',', comma + 1))
    top_px = std::min(top_px, std::strtod(paths[0].c_str() + comma + 1, nullptr));
  const auto plot = svg.find("data-plot=\"");
  REQUIRE(plot != std::string::npos);
  double left = 0, plot_top = 0;
  REQUIRE(std::sscanf(svg.c_str() + plot + 11, "%lf %lf", &left, &plot_top) == 2);
  CHECK(top_px <= plot_top + 8);  // the 500 lands at the top of a 0..500 axis
}

TEST_CASE("a run's page has charts with non-empty paths, and is the same bytes twice") {
  const RunResult r = timed_run(120);
  const std::string page = render_html_report(r);
  CHECK(page.rfind("<!doctype html>", 0) == 0);
  // Latency, throughput, errors and distribution; a closed-model run has no schedule lag.
  CHECK(occurrences(page, "<svg class=\"chart\"") == 4);
  CHECK(has(page, "id=\"lag-time\""));
  CHECK(has(page, "no data: a closed-model run keeps no arrival schedule"));
  const std::vector<std::string> paths = data_paths(page);
  CHECK(paths.size() >= 10);
  for (const std::string& d : paths) {
    CHECK(d.size() > 10);
    CHECK(d[0] == 'M');
  }
  CHECK(has(page, "<title>timeout</title>"));
  CHECK(has(page, "http://127.0.0.1:8080/"));  // the target URL is printed …
  CHECK(!has(page, "src=\"http"));             // … but nothing is fetched
  CHECK(!has(page, "href=\"http"));
  CHECK(render_html_report(r) == page);
}

TEST_CASE("names with < & \" are escaped in tables, titles and attributes") {
  RunResult r = timed_run(10);
  r.config.url = "http://127.0.0.1:8080/?a=1&b=<2>";
  RequestMetrics m;
  m.name = "<script>alert(\"x&y\")</script>";
  m.tags["group"] = "a&b";
  m.responses = 1;
  m.response_time_us.record(1000);
  r.by_name.push_back(m);
  r.script.checks.push_back({"::cart::status is \"200\" & <ok>", 9, 1});
  ThresholdVerdict t;
  t.expression = "latency{name:<x>}";
  t.condition = "< 250ms";
  t.observed = 300;
  r.thresholds.push_back(t);
  r.generator.notes.push_back("note <with> & \"quotes\"");
  const std::string page = render_html_report(r);
  CHECK(has(page, "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;"));
  CHECK(!has(page, "<script>alert"));
  CHECK(has(page, "group=a&amp;b"));
  CHECK(has(page, "::cart::status is &quot;200&quot; &amp; &lt;ok&gt;"));
  CHECK(has(page, "latency{name:&lt;x&gt;}"));
  CHECK(has(page, "&lt; 250ms"));
  CHECK(has(page, "?a=1&amp;b=&lt;2&gt;"));
  CHECK(has(page, "note &lt;with&gt; &amp; &quot;quotes&quot;"));
  CHECK(has(page, "<span class=\"badge bad\">fail</span>"));
  CHECK(occurrences(page, "<script>") == 2);  // the page's own two
}

TEST_CASE("an empty result renders without empty charts: each says no data") {
  const RunResult r;
  const std::string page = render_html_report(r);
  CHECK(occurrences(page, "<svg class=\"chart\"") == 0);
  CHECK(occurrences(page, "<figure class=\"nodata\"") == 5);
  CHECK(occurrences(page, "no data:") >= 6);
  CHECK(!has(page, "id=\"soak\""));
  CHECK(!has(page, "id=\"stress\""));
  CHECK(data_paths(page).empty());
}

TEST_CASE("a soak renders each resource with its band and fitted trend") {
  RunResult r = timed_run(600);
  SoakReport soak;
  soak.judged = true;
  soak.warmup_s = 60;
  SoakSeries s;
  s.component = "target";
  s.resource = "rss";
  s.unit = "bytes";
  s.bucket_s = 1;
  for (int i = 0; i < 600; ++i) {
    s.t_s.push_back(i);
    s.min.push_back(50e6 + i * 1e4);
    s.max.push_back(52e6 + i * 1e4);
  }
  soak.series.push_back(s);
  SoakSeries flat = s;
  flat.resource = "fds";
  flat.unit = "count";
  std::fill(flat.min.begin(), flat.min.end(), 12.0);
  std::fill(flat.max.begin(), flat.max.end(), 12.0);
  soak.series.push_back(flat);
  SoakVerdict v;
  v.component = "target";
  v.resource = "rss";
  v.verdict = "leak";
  v.unit = "bytes";
  v.slope_per_hour = 36e6;
  v.ci_low = 30e6;
  v.ci_high = 40e6;
  v.level = 50.6e6;
  v.points = 500;
  v.fails_run = true;
  v.projection = SoakProjection{1e9, "memory.max", 26};
  v.reason = "floor rises <fast>";
  soak.verdicts.push_back(v);
  r.soak = soak;
  const std::string page = render_html_report(r);
  CHECK(has(page, "id=\"soak-0\""));
  CHECK(has(page, "id=\"soak-1\""));
  CHECK(has(page, "target · rss"));
  CHECK(has(page, "fitted trend +34.3 MiB/h"));
  CHECK(has(page, "(memory.max) in 26h 00m"));
  CHECK(has(page, "floor rises &lt;fast&gt;"));
  CHECK(has(page, "soak: leak on target rss"));
  // The constant descriptor count is drawn, and marked flat for the page's self-check.
  const auto fds = page.find("id=\"soak-1\"");
  CHECK(page.find("data-flat=\"1\"", fds) < page.find("</figure>", fds));
  CHECK(occurrences(page, "<svg class=\"chart\"") == 6);
}

TEST_CASE("a stress search renders its steps, knee, breaking point and USL curve") {
  RunResult r = timed_run(60);
  StressReport s;
  s.slo = "p99<100ms";
  s.end = "precise";
  s.max_sustainable_rps = 400;
  s.first_bad_rps = 420;
  s.knee_rps = 350;
  s.usl = StressUsl{0.02, 0.0005, 100, 0.98, std::sqrt((1 - 0.02) / 0.0005), 0};
  s.verdict = "Holds 400/s; breaks at 420/s <queues>.";
  for (std::uint32_t i = 0; i < 6; ++i) {
    StressStep st;
    st.index = i + 1;
    st.offered_rps = 100.0 * (i + 1);
    st.achieved_rps = std::min(st.offered_rps, 410.0);
    st.ok_rps = st.achieved_rps;
    st.p50_ms = 5 + i;
    st.p99_ms = i < 4 ? 20.0 + 10 * i : 900.0;
    st.concurrency = 1.0 + 3 * i;
    st.ok = i < 4;
    st.broke = st.ok ? "" : "latency{p99}";
    s.steps.push_back(st);
  }
  r.stress = s;
  const std::string page = render_html_report(r);
  CHECK(has(page, "id=\"stress-latency\""));
  CHECK(has(page, "id=\"stress-usl\""));
  CHECK(has(page, ">knee</text>"));
  CHECK(has(page, ">broke (offered)</text>"));
  CHECK(has(page, "USL fit (σ 0.02"));
  CHECK(has(page, "Holds 400/s; breaks at 420/s &lt;queues&gt;."));
  CHECK(occurrences(page, "<title>step ") == 12);  // each step in both charts
}

TEST_CASE("usl_curve peaks where the law says, sqrt((1 - sigma) / kappa)") {
  const StressUsl usl{0.05, 0.001, 200, 1, std::nullopt, 0};
  const std::vector<Point> curve = usl_curve(usl, 1, 100, 991);
  REQUIRE(curve.size() == 991);
  const auto top = std::max_element(curve.begin(), curve.end(),
                                    [](const Point& a, const Point& b) { return a.y < b.y; });
  CHECK(top->x == doctest::Approx(std::sqrt(0.95 / 0.001)).epsilon(0.01));
  CHECK(curve.front().y == doctest::Approx(200));  // X(1) = lambda
}

TEST_CASE("percentile_curve matches nearest-rank percentiles of the raw values") {
  Histogram h;
  std::vector<std::int64_t> values;
  for (std::int64_t v = 1; v <= 100000; v += 7)
    values.push_back(v * 3 % 100003);
  for (const auto v : values)
    h.record(v);
  std::sort(values.begin(), values.end());
  const std::vector<Point> curve = percentile_curve(h);
  REQUIRE(!curve.empty());
  for (const double p : {0.5, 0.9, 0.99, 0.999}) {
    const double x = 1 / (1 - p);
    // The segment covering x; on a step, the later one (nearest rank rounds up).
    double y = NAN;
    for (std::size_t i = 0; i + 1 < curve.size(); i += 2)
      if (curve[i].x <= x && x < curve[i + 1].x) y = curve[i].y;
    const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
    const double truth_ms = static_cast<double>(values[rank - 1]) / 1000;
    CHECK(y == doctest::Approx(truth_ms).epsilon(0.002));  // 3 significant digits
  }
  CHECK(curve.back().x == doctest::Approx(static_cast<double>(values.size())));
}

TEST_CASE("axis ticks read as a person would label them") {
  std::vector<std::string> labels;
  for (const Tick& t : make_ticks(ScaleKind::log, TickFormat::percentile, 1, 1e4))
    labels.push_back(t.label);
  CHECK(labels == std::vector<std::string>{"0%", "50%", "90%", "99%", "99.9%", "99.99%"});
  labels.clear();
  for (const Tick& t : make_ticks(ScaleKind::linear, TickFormat::duration, 0, 43200, 10))
    labels.push_back(t.label);
  CHECK(labels == std::vector<std::string>{"0", "2h", "4h", "6h", "8h", "10h", "12h"});
  double lo = 3;
  double hi = 97;
  nice_domain(ScaleKind::linear, TickFormat::number, true, lo, hi);
  CHECK(lo == 0);
  CHECK(hi == 100);
  CHECK(format_value(TickFormat::bytes, 1.5 * 1024 * 1024) == "1.50 MiB");
  CHECK(format_value(TickFormat::number, 123456) == "123k");
}

TEST_CASE("the fitted trend runs through the floors it was fitted to") {
  // Floors on a known line, 2 MB + 1 kB/s, with spikes above it now and then (a floor series'
  // buckets sit on the line or above); the warm-up's own level is far off, as a rising series'
  // warm-up median is.
  SoakSeries s;
  for (int i = 0; i < 600; ++i) {
    s.t_s.push_back(i);
    s.min.push_back(2e6 + 1000.0 * i + (i % 9 == 0 ? 5e4 : 0));
    s.max.push_back(s.min.back() + 1e5);
  }
  SoakVerdict v;
  v.slope_per_hour = 3.6e6;
  v.level = 1e6;
  v.points = 500;
  const auto line = fitted_trend(v, s, 60);
  REQUIRE(line.has_value());
  CHECK((*line)[0].x == 60);
  CHECK((*line)[1].x == 599);
  CHECK((*line)[0].y == doctest::Approx(2e6 + 1000.0 * 60));
  CHECK((*line)[1].y == doctest::Approx(2e6 + 1000.0 * 599));
  v.points = 0;
  CHECK(!fitted_trend(v, s, 60).has_value());
  // Too short to judge: points were counted, nothing was fitted.
  v.points = 9;
  v.verdict = "inconclusive";
  v.slope_per_hour = 0;
  CHECK(!fitted_trend(v, s, 60).has_value());
}
