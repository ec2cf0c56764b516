#include "reporters/html/stress_section.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "reporters/html/figures.hpp"
#include "reporters/html/html_escape.hpp"

namespace strain::html {
namespace {

constexpr int kHeld = 4;
constexpr int kBroke = 2;
constexpr int kGeneratorBound = 9;

// Steps in the order load grew, so lines through them read left to right.
std::vector<const StressStep*> by_load(const StressReport& r) {
  std::vector<const StressStep*> steps;
  for (const StressStep& s : r.steps)
    steps.push_back(&s);
  std::stable_sort(steps.begin(), steps.end(), [](const StressStep* a, const StressStep* b) {
    return a->vus != b->vus ? a->vus < b->vus : a->offered_rps < b->offered_rps;
  });
  return steps;
}

std::string offered(const StressStep& s) {
  return s.vus > 0 ? fmt::format("{} VUs", s.vus) : rate(s.offered_rps);
}

std::string step_title(const StressStep& s) {
  return fmt::format("step {}: offered {}, achieved {}, p50 {}, p99 {}, errors {} — {}", s.index,
                     offered(s), rate(s.achieved_rps), ms(s.p50_ms), ms(s.p99_ms),
                     percent(s.error_rate), s.ok ? "held" : "broke: " + s.broke);
}

ChartSpec latency_chart(const StressReport& r) {
  ChartSpec c;
  c.id = "stress-latency";
  c.title = "Latency against throughput, per step";
  c.no_data = "no step was judged";
  c.x.label = "achieved throughput, responses/s";
  c.y.label = "ms";
  const std::vector<const StressStep*> steps = by_load(r);
  double lowest = INFINITY;
  double highest = 0;
  std::vector<Point> p50;
  std::vector<Point> p99;
  Series held = make_series("p99, step held", kHeld, SeriesStyle::points, {});
  Series broke = make_series("p99, step broke", kBroke, SeriesStyle::points, {});
  for (const StressStep* s : steps) {
    p50.push_back({s->achieved_rps, s->p50_ms});
    p99.push_back({s->achieved_rps, s->p99_ms});
    Series& dots = s->ok ? held : broke;
    dots.points.push_back({s->achieved_rps, s->p99_ms});
    dots.titles.push_back(step_title(*s));
    if (s->p50_ms > 0) lowest = std::min(lowest, s->p50_ms);
    highest = std::max(highest, s->p99_ms);
  }
  // Past the breaking point latency can grow a thousandfold; a log axis keeps the knee visible.
  if (std::isfinite(lowest) && highest / lowest > 50) {
    c.y.scale = ScaleKind::log;
    c.y.label = "ms (log scale)";
  }
  // Lines through the steps in load order, not sorted by x: past the breaking point the
  // throughput can fall back, and that turn is the point of the chart.
  Series p50_line = make_series("p50", 0, SeriesStyle::dashed, std::move(p50));
  Series p99_line = make_series("p99", 1, SeriesStyle::line, std::move(p99));
  c.series.push_back(std::move(p50_line));
  c.series.push_back(std::move(p99_line));
  c.series.push_back(std::move(held));
  c.series.push_back(std::move(broke));
  if (r.knee_rps) c.markers.push_back(make_marker(true, *r.knee_rps, "knee", 5));
  if (r.max_sustainable_rps)
    c.markers.push_back(make_marker(true, *r.max_sustainable_rps, "sustainable", kHeld));
  // The breaking point is a rate offered; a broken step achieves less, so no dot sits on it.
  if (r.first_bad_rps)
    c.markers.push_back(make_marker(true, *r.first_bad_rps, "broke (offered)", kBroke));
  if (r.first_failure && r.first_failure->signal.starts_with("latency"))
    c.markers.push_back(make_marker(false, r.first_failure->limit, "SLO", kBroke));
  c.caption =
      "Each dot is a step's judged window (hover for its figures). Where the line turns upward "
      "is the knee; the breaking point is the first step that broke the SLO.";
  return c;
}

ChartSpec usl_chart(const StressReport& r) {
  ChartSpec c;
  c.id = "stress-usl";
  c.title = "Throughput against concurrency (Universal Scalability Law)";
  c.no_data = "no step has a measured concurrency";
  c.x.label = "concurrency (requests in flight, Little's law)";
  c.y.label = "successful responses/s";
  Series held = make_series("step held", kHeld, SeriesStyle::points, {});
  Series broke = make_series("step broke", kBroke, SeriesStyle::points, {});
  Series bound =
      make_series("strain was the limit (not fitted)", kGeneratorBound, SeriesStyle::points, {});
  double n_min = INFINITY;
  double n_max = 0;
  for (const StressStep* s : by_load(r)) {
    if (!(s->concurrency > 0)) continue;
    Series& dots = s->generator_bound ? bound : s->ok ? held : broke;
    dots.points.push_back({s->concurrency, s->ok_rps});
    dots.titles.push_back(step_title(*s) + fmt::format(", concurrency {:.1f}", s->concurrency));
    n_min = std::min(n_min, s->concurrency);
    n_max = std::max(n_max, s->concurrency);
  }
  // Queueing past the breaking point multiplies the requests in flight a hundredfold; on a
  // linear axis every step that held would crowd into the first few pixels.
  const bool wide = n_max > 50 * n_min;
  if (wide) {
    c.x.scale = ScaleKind::log;
    c.x.label += " (log scale)";
  }
  if (r.usl && n_max > 0) {
    const double lo = wide ? n_min / 1.5 : std::min(1.0, n_max / 100);
    const double hi = wide ? n_max * 1.5 : n_max * 1.25;
    c.series.push_back(
        make_series(fmt::format("USL fit (σ {:.3g}, κ {:.3g}, λ {:.3g}/s, r² {:.2f})", r.usl->sigma,
                                r.usl->kappa, r.usl->lambda, r.usl->r2),
                    6, SeriesStyle::line, usl_curve(*r.usl, lo, hi, 240, wide)));
    if (r.usl->peak_concurrency && *r.usl->peak_concurrency <= hi)
      c.markers.push_back(make_marker(true, *r.usl->peak_concurrency, "USL peak", 6));
  }
  c.series.push_back(std::move(held));
  c.series.push_back(std::move(broke));
  if (!bound.points.empty()) c.series.push_back(std::move(bound));
  c.caption = r.usl ? "X(N) = λN / (1 + σ(N−1) + κN(N−1)), fitted to the steps strain could offer."
                    : "No USL fit: " + r.usl_note;
  return c;
}

std::string steps_table(const StressReport& r) {
  std::string out =
      "<table><thead><tr><th class=\"num\">step</th><th class=\"num\">offered</th>"
      "<th class=\"num\">achieved</th><th class=\"num\">ok</th><th class=\"num\">p50</th>"
      "<th class=\"num\">p99</th><th class=\"num\">errors</th><th class=\"num\">concurrency</th>"
      "<th class=\"num\">judged</th><th>verdict</th></tr></thead><tbody>\n";
  for (const StressStep& s : r.steps) {
    std::string verdict = s.ok ? "<span class=\"badge good\">held</span>"
                               : "<span class=\"badge bad\">broke</span> " + escape(s.broke);
    if (s.generator_bound) verdict += " <span class=\"badge warn\">strain was the limit</span>";
    if (s.ended_by_governor) verdict += " (cut short)";
    if (s.bisecting) verdict += " <span class=\"muted\">bisection</span>";
    std::string errors;
    for (const auto& [kind, n] : s.errors)
      errors += fmt::format("{}{} {}", errors.empty() ? "" : ", ", kind, count(n));
    if (!errors.empty()) verdict += " <span class=\"muted\">[" + escape(errors) + "]</span>";
    out += fmt::format(
        "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{:.1f}</td><td class=\"num\">{}</td>"
        "<td>{}</td></tr>\n",
        s.index, offered(s), rate(s.achieved_rps), rate(s.ok_rps), ms(s.p50_ms), ms(s.p99_ms),
        percent(s.error_rate), s.concurrency, duration(s.judged_s), verdict);
  }
  return out + "</tbody></table>\n";
}

void row(std::string& out, const char* name, const std::string& value) {
  if (!value.empty()) out += fmt::format("<dt>{}</dt><dd>{}</dd>", name, value);
}

std::string findings(const StressReport& r) {
  std::string out = "<dl class=\"facts\">";
  row(out, "SLO", escape(r.slo));
  row(out, "search ended", escape(r.end));
  if (r.vus_search && r.max_sustainable_vus)
    row(out, "sustainable",
        fmt::format("{} VUs ({})", *r.max_sustainable_vus,
                    rate(r.max_sustainable_rps.value_or(0))));
  else if (r.max_sustainable_rps)
    row(out, "sustainable", rate(*r.max_sustainable_rps));
  if (r.first_bad_vus)
    row(out, "broke at", fmt::format("{} VUs", *r.first_bad_vus));
  else if (r.first_bad_rps)
    row(out, "broke at", rate(*r.first_bad_rps));
  if (r.precision) row(out, "precision", percent(*r.precision));
  if (r.knee_rps) row(out, "knee", rate(*r.knee_rps));
  if (r.first_failure) row(out, "first broke", escape(r.first_failure->detail));
  if (r.saturated)
    row(out, "saturated",
        escape(fmt::format("{} {} at {} ({} of {})", r.saturated->component, r.saturated->resource,
                           percent(r.saturated->utilisation),
                           in_unit(r.saturated->value, r.saturated->unit),
                           in_unit(r.saturated->limit, r.saturated->unit))));
  if (!r.failure_mode.empty())
    row(out, "failure mode", escape(r.failure_mode + ": " + r.failure_mode_reason));
  if (r.usl && r.usl->peak_concurrency)
    row(out, "USL peak",
        fmt::format("{:.0f} in flight, {}", *r.usl->peak_concurrency, rate(r.usl->peak_rps)));
  if (r.headroom) {
    const StressHeadroom& h = *r.headroom;
    const std::string expected = h.expected_peak_vus ? fmt::format("{} VUs", *h.expected_peak_vus)
                                                     : rate(h.expected_peak_rps);
    row(out, "expected peak",
        fmt::format("{}: {} of what was sustained {}", expected, percent(h.share_of_sustainable),
                    h.exceeds ? "<span class=\"badge bad\">exceeds</span>"
                              : "<span class=\"badge good\">fits</span>"));
  }
  return out + "</dl>\n";
}

}  // namespace

std::vector<Point> usl_curve(const StressUsl& usl, double n_lo, double n_hi, int samples,
                             bool log_spaced) {
  std::vector<Point> out;
  if (samples < 2 || !(n_hi > n_lo) || (log_spaced && !(n_lo > 0))) return out;
  for (int i = 0; i < samples; ++i) {
    const double f = static_cast<double>(i) / (samples - 1);
    const double n = log_spaced ? n_lo * std::pow(n_hi / n_lo, f) : n_lo + (n_hi - n_lo) * f;
    const double d = 1 + usl.sigma * (n - 1) + usl.kappa * n * (n - 1);
    if (d > 0) out.push_back({n, usl.lambda * n / d});
  }
  return out;
}

std::string render_stress_section(const StressReport& r) {
  std::string out = "<section id=\"stress\"><h2>Stress search</h2>\n";
  if (!r.verdict.empty()) out += "<p class=\"verdict\">" + escape(r.verdict) + "</p>\n";
  out += findings(r);
  out += render_chart(latency_chart(r));
  out += render_chart(usl_chart(r));
  out += "<h3>Steps</h3>\n";
  out += r.steps.empty() ? "<p class=\"nodata\">no data: no step was judged</p>\n" : steps_table(r);
  return out + "</section>\n";
}

}  // namespace strain::html
