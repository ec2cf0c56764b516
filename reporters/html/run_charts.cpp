#include "reporters/html/run_charts.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

namespace strain::html {
namespace {

// Palette slots, fixed per meaning so the same figure has the same colour in every chart.
constexpr int kP50 = 0;
constexpr int kP90 = 3;
constexpr int kP99 = 1;
constexpr int kMax = 2;
constexpr int kThroughput = 0;
constexpr int kStarted = 4;

double mid(const IntervalPoint& p) {
  return p.start_s + p.length_s / 2;
}

double per_second(std::uint64_t n, const IntervalPoint& p) {
  return p.length_s > 0 ? static_cast<double>(n) / p.length_s : 0.0;
}

// The time axis: from the load's start to the end of the last interval (or the duration).
AxisSpec time_axis(const RunResult& r) {
  double end = r.duration_s;
  for (const IntervalPoint& p : r.timeline)
    end = std::max(end, p.start_s + p.length_s);
  AxisSpec a;
  a.label = "time since the load started";
  a.format = TickFormat::duration;
  a.lo = 0;
  a.hi = end > 0 ? end : 1;
  return a;
}

// Latency in a timeline point only means something when the interval answered requests.
template <class F>
std::vector<Point> latency_points(const RunResult& r, F value) {
  std::vector<Point> out;
  for (const IntervalPoint& p : r.timeline)
    if (p.responses > 0) out.push_back({mid(p), value(p)});
  return out;
}

// Log when one stall would otherwise flatten every ordinary second against the axis.
ScaleKind latency_scale(const RunResult& r) {
  std::vector<double> medians;
  double top = 0;
  for (const IntervalPoint& p : r.timeline) {
    if (p.responses == 0) continue;
    medians.push_back(p.p50_ms);
    top = std::max(top, p.max_ms);
  }
  if (medians.empty()) return ScaleKind::linear;
  const auto middle = medians.begin() + static_cast<std::ptrdiff_t>(medians.size() / 2);
  std::nth_element(medians.begin(), middle, medians.end());
  return *middle > 0 && top / *middle > 50 ? ScaleKind::log : ScaleKind::linear;
}

ChartSpec latency_chart(const RunResult& r) {
  ChartSpec c;
  c.id = "latency-time";
  c.title = "Latency over time";
  c.no_data = "no interval of this run answered a request";
  c.x = time_axis(r);
  c.y.scale = latency_scale(r);
  c.y.label = c.y.scale == ScaleKind::log ? "ms (log scale)" : "ms";
  c.series.push_back(
      make_series("p50", kP50, SeriesStyle::line,
                  latency_points(r, [](const IntervalPoint& p) { return p.p50_ms; })));
  c.series.push_back(
      make_series("p90", kP90, SeriesStyle::line,
                  latency_points(r, [](const IntervalPoint& p) { return p.p90_ms; })));
  c.series.push_back(
      make_series("p99", kP99, SeriesStyle::line,
                  latency_points(r, [](const IntervalPoint& p) { return p.p99_ms; })));
  c.series.push_back(
      make_series("max", kMax, SeriesStyle::line,
                  latency_points(r, [](const IntervalPoint& p) { return p.max_ms; })));
  const bool has_service = std::any_of(r.timeline.begin(), r.timeline.end(), [](const auto& p) {
    return p.service_p50_ms > 0 || p.service_p99_ms > 0;
  });
  if (has_service) {
    c.series.push_back(
        make_series("service p50", kP50, SeriesStyle::dashed,
                    latency_points(r, [](const IntervalPoint& p) { return p.service_p50_ms; })));
    c.series.push_back(
        make_series("service p99", kP99, SeriesStyle::dashed,
                    latency_points(r, [](const IntervalPoint& p) { return p.service_p99_ms; })));
  }
  c.caption =
      "Solid: response time, from each request's intended start (coordinated omission "
      "corrected). Dashed: service time, from the actual send. A gap between them is time spent "
      "waiting before the request could be sent.";
  return c;
}

ChartSpec throughput_chart(const RunResult& r) {
  ChartSpec c;
  c.id = "throughput-time";
  c.title = "Throughput over time";
  c.no_data = "the run has no timeline";
  c.x = time_axis(r);
  c.y.label = "per second";
  Series responses = make_series("responses/s", kThroughput, SeriesStyle::line, {});
  Series started = make_series("arrivals started/s", kStarted, SeriesStyle::dashed, {});
  bool open_model = false;
  for (const IntervalPoint& p : r.timeline) {
    responses.points.push_back({mid(p), per_second(p.responses, p)});
    started.points.push_back({mid(p), per_second(p.started, p)});
    open_model = open_model || p.started > 0;
  }
  c.series.push_back(std::move(responses));
  if (open_model) c.series.push_back(std::move(started));
  c.caption = open_model ? "Responses completed per second, beside the arrivals the schedule "
                           "started: where they part, the target fell behind."
                         : "Responses completed per second (any status).";
  return c;
}

ChartSpec errors_chart(const RunResult& r) {
  ChartSpec c;
  c.id = "errors-time";
  c.title = "Errors by kind over time";
  c.no_data = "no request failed in this run";
  c.x = time_axis(r);
  c.y.label = "failed requests per second";
  // Red is the status failures' own; the kinds take the other slots in turn.
  static constexpr std::array<int, 9> kKindColors = {0, 1, 3, 4, 5, 6, 7, 8, 9};
  std::size_t next_color = 0;
  std::uint64_t by_status = 0;
  for (const IntervalPoint& p : r.timeline)
    by_status += p.failed_status;
  if (by_status > 0) {
    Series s = make_series("failed by status", 2, SeriesStyle::line, {});
    for (const IntervalPoint& p : r.timeline)
      s.points.push_back({mid(p), per_second(p.failed_status, p)});
    c.series.push_back(std::move(s));
  }
  for (std::size_t k = 1; k < error_kind_count; ++k) {
    std::uint64_t total = 0;
    for (const IntervalPoint& p : r.timeline)
      total += p.errors_by_kind[k];
    if (total == 0) continue;
    Series s = make_series(std::string(error_kind_names[k]),
                           kKindColors[next_color++ % kKindColors.size()], SeriesStyle::line, {});
    for (const IntervalPoint& p : r.timeline)
      s.points.push_back({mid(p), per_second(p.errors_by_kind[k], p)});
    c.series.push_back(std::move(s));
  }
  c.caption =
      "Requests without a response, by kind, and responses that failed by status (>= 400 "
      "except 429).";
  return c;
}

ChartSpec lag_chart(const RunResult& r) {
  ChartSpec c;
  c.id = "lag-time";
  c.title = "Schedule lag over time";
  c.no_data = "a closed-model run keeps no arrival schedule, so it has no schedule lag";
  c.x = time_axis(r);
  c.y.label = "ms";
  Series s = make_series("schedule lag p99", 6, SeriesStyle::line, {});
  for (const IntervalPoint& p : r.timeline)
    if (p.started > 0) s.points.push_back({mid(p), p.schedule_lag_p99_ms});
  c.series.push_back(std::move(s));
  c.caption =
      "How late arrivals began against their schedule (p99 per interval): time an arrival "
      "waited for a free VU, or for strain itself.";
  return c;
}

}  // namespace

std::vector<Point> percentile_curve(const Histogram& h) {
  std::vector<Point> out;
  const std::int64_t total = h.total_count();
  if (total == 0) return out;
  const auto n = static_cast<double>(total);
  std::int64_t below = 0;
  h.for_each_recorded([&](std::int64_t value, std::int64_t count) {
    // value_at_percentile reports a bucket's highest equivalent value: the curve does too.
    const double y = static_cast<double>(h.highest_equivalent_value(value)) / 1000.0;
    const double x0 = n / static_cast<double>(total - below);
    below += count;
    // 1/(1-p) is infinite at p = 1: the last bucket ends where one more nine would need more
    // samples than the run has.
    const double x1 = below >= total ? n : n / static_cast<double>(total - below);
    out.push_back({x0, y});
    out.push_back({std::max(x0, x1), y});
  });
  return out;
}

std::vector<ChartSpec> timeline_charts(const RunResult& r) {
  return {latency_chart(r), throughput_chart(r), errors_chart(r), lag_chart(r)};
}

ChartSpec distribution_chart(const RunResult& r) {
  ChartSpec c;
  c.id = "distribution";
  c.title = "Latency by percentile";
  c.no_data = "no response was recorded";
  c.x.label = "percentile";
  c.x.scale = ScaleKind::log;
  c.x.format = TickFormat::percentile;
  c.y.label = "ms";
  const auto total = static_cast<double>(r.total.response_time_us.total_count());
  c.x.lo = 1;
  c.x.hi = std::pow(10.0, std::max(1.0, std::ceil(std::log10(std::max(total, 10.0)) - 1e-9)));
  c.series.push_back(make_series("response time", kP99, SeriesStyle::line,
                                 percentile_curve(r.total.response_time_us)));
  if (r.total.service_time_us.total_count() > 0)
    c.series.push_back(make_series("service time", kP50, SeriesStyle::dashed,
                                   percentile_curve(r.total.service_time_us)));
  c.caption =
      "The whole run's histograms (HdrHistogram's plot): each step right on the percentile axis "
      "is one more nine, so the tail is as wide as the median.";
  return c;
}

}  // namespace strain::html
