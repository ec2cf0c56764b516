#include "reporters/html/soak_section.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include "reporters/html/figures.hpp"
#include "reporters/html/html_escape.hpp"
#include "reporters/html/svg_chart.hpp"

namespace strain::html {
namespace {

constexpr std::size_t kMaxRestartMarkers = 20;  // past that the lines hide the data
constexpr std::size_t kMaxGapRows = 50;

const SoakVerdict* verdict_for(const SoakReport& soak, const SoakSeries& s) {
  for (const SoakVerdict& v : soak.verdicts)
    if (v.component == s.component && v.resource == s.resource) return &v;
  return nullptr;
}

bool rising(const SoakVerdict& v) {
  return v.verdict == "leak" || v.verdict == "growth" || v.verdict == "degrading";
}

std::string badge(const SoakVerdict& v) {
  const char* kind = v.fails_run ? "bad" : rising(v) ? "warn" : v.verdict == "stable" ? "good" : "";
  return fmt::format("<span class=\"badge {}\">{}</span>", kind, escape(v.verdict));
}

std::string per_hour(double value, const std::string& unit) {
  return (value >= 0 ? "+" : "") + in_unit(value, unit) + "/h";
}

std::string projection_text(const SoakVerdict& v) {
  if (!v.projection) return {};
  return fmt::format("reaches {} ({}) in {}", in_unit(v.projection->limit, v.unit),
                     v.projection->limit_source, duration(v.projection->hours * 3600));
}

void add_trend(ChartSpec& c, const SoakVerdict& v, const SoakSeries& s, double warmup_s) {
  const std::optional<std::array<Point, 2>> line = fitted_trend(v, s, warmup_s);
  if (!line) return;
  const auto [first, last] = *line;
  const double mid = (first.x + last.x) / 2;
  const double at_mid = (first.y + last.y) / 2;
  const int color = rising(v) ? 2 : 4;
  // The slope's 95% interval fans out from the window's middle.
  Series band;
  band.name = "95% interval of the slope";
  band.color = color;
  band.style = SeriesStyle::band;
  for (const double t : {first.x, mid, last.x}) {
    const double a = at_mid + v.ci_low / 3600 * (t - mid);
    const double b = at_mid + v.ci_high / 3600 * (t - mid);
    band.band.push_back({t, std::min(a, b), std::max(a, b)});
  }
  c.series.push_back(std::move(band));
  c.series.push_back(make_series("fitted trend " + per_hour(v.slope_per_hour, v.unit), color,
                                 SeriesStyle::dashed, {first, last}));
}

ChartSpec series_chart(const SoakReport& soak, const SoakSeries& s, std::size_t index,
                       double duration_s) {
  ChartSpec c;
  c.id = fmt::format("soak-{}", index);
  c.title = s.component + " · " + s.resource;
  c.no_data = "no sample was read";
  c.height_px = 240;
  c.x.label = "time since the load started";
  c.x.format = TickFormat::duration;
  c.x.lo = 0;
  c.x.hi = std::max(duration_s, s.t_s.empty() ? 1.0 : s.t_s.back());
  const bool in_bytes = s.unit == "bytes" || s.unit == "bytes/s";
  c.y.format = in_bytes ? TickFormat::bytes : TickFormat::number;
  c.y.label = s.unit;
  // A leak is a slow rise on top of a large level: from zero, it would be a flat line.
  c.y.from_zero = false;

  Series band;
  band.name = "min–max per bucket";
  band.color = 0;
  band.style = SeriesStyle::band;
  std::vector<Point> floor;
  double top = -INFINITY;
  for (std::size_t i = 0; i < s.t_s.size(); ++i) {
    band.band.push_back({s.t_s[i], s.min[i], s.max[i]});
    floor.push_back({s.t_s[i], s.min[i]});
    top = std::max(top, s.max[i]);
  }
  c.series.push_back(std::move(band));
  c.series.push_back(make_series("floor", 0, SeriesStyle::line, std::move(floor)));

  const SoakVerdict* v = verdict_for(soak, s);
  if (v != nullptr && !s.t_s.empty()) {
    add_trend(c, *v, s, soak.warmup_s);
    // The limit only when it is near enough not to flatten the data against the axis.
    if (v->projection && v->projection->limit <= 2 * top)
      c.markers.push_back(make_marker(false, v->projection->limit,
                                      "limit (" + v->projection->limit_source + ")", 2));
  }
  std::size_t restarts = 0;
  for (const SoakRestart& r : soak.restarts) {
    if (r.component != s.component || restarts == kMaxRestartMarkers) continue;
    c.markers.push_back(make_marker(true, r.t_s, fmt::format("restart (pid {})", r.pid), 9));
    ++restarts;
  }
  if (v != nullptr) {
    c.caption = v->verdict + ": " + v->reason;
    if (v->projection) c.caption += "; " + projection_text(*v);
  } else {
    c.caption = fmt::format("Not judged; buckets of {}.", duration(s.bucket_s));
  }
  return c;
}

std::string verdict_table(const SoakReport& soak) {
  if (soak.verdicts.empty()) return "<p class=\"muted\">No verdicts (nothing was judged).</p>\n";
  std::string out =
      "<table><thead><tr><th>component</th><th>resource</th><th>source</th><th>verdict</th>"
      "<th class=\"num\">slope</th><th class=\"num\">95% interval</th><th class=\"num\">p</th>"
      "<th class=\"num\">level</th><th>projection</th><th>why</th></tr></thead><tbody>\n";
  for (const SoakVerdict& v : soak.verdicts) {
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{} … {}/h</td><td class=\"num\">{:.3g}</td><td class=\"num\">{}</td>"
        "<td>{}</td><td class=\"why\">{}</td></tr>\n",
        escape(v.component), escape(v.resource), escape(v.source), badge(v),
        v.fails_run ? " <span class=\"badge bad\">fails the run</span>" : "",
        escape(per_hour(v.slope_per_hour, v.unit)), escape(in_unit(v.ci_low, v.unit)),
        escape(in_unit(v.ci_high, v.unit)), v.p_value, escape(in_unit(v.level, v.unit)),
        escape(projection_text(v)), escape(v.reason));
  }
  return out + "</tbody></table>\n";
}

std::string gaps_table(const SoakReport& soak) {
  if (soak.gaps.empty()) return {};
  std::string out =
      "<h3>Gaps</h3><table><thead><tr><th>component</th><th class=\"num\">from</th>"
      "<th class=\"num\">to</th><th "
      "class=\"num\">samples</th><th>reason</th></tr></thead><tbody>\n";
  const std::size_t shown = std::min(soak.gaps.size(), kMaxGapRows);
  for (std::size_t i = 0; i < shown; ++i) {
    const SoakGap& g = soak.gaps[i];
    out += fmt::format(
        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td>{}</td></tr>\n",
        escape(g.component), duration(g.from_s), duration(g.to_s), count(g.samples),
        escape(g.reason));
  }
  out += "</tbody></table>\n";
  const std::uint64_t more = soak.gaps.size() - shown + soak.gaps_left_out;
  if (more > 0) out += fmt::format("<p class=\"muted\">… and {} more gaps.</p>\n", count(more));
  return out;
}

}  // namespace

std::optional<std::array<Point, 2>> fitted_trend(const SoakVerdict& v, const SoakSeries& s,
                                                 double warmup_s) {
  // "Too short to judge" fits nothing: its slope and interval are zeros, not a finding.
  const bool unfitted =
      v.verdict == "inconclusive" && v.slope_per_hour == 0 && v.ci_low == 0 && v.ci_high == 0;
  if (v.points == 0 || unfitted) return std::nullopt;
  const double per_s = v.slope_per_hour / 3600;
  std::vector<double> offsets;
  double from = INFINITY;
  double to = -INFINITY;
  for (std::size_t i = 0; i < s.t_s.size() && i < s.min.size(); ++i) {
    if (s.t_s[i] < warmup_s) continue;
    offsets.push_back(s.min[i] - per_s * s.t_s[i]);
    from = std::min(from, s.t_s[i]);
    to = std::max(to, s.t_s[i]);
  }
  if (offsets.size() < 2 || !(to > from)) return std::nullopt;
  const auto middle = offsets.begin() + static_cast<std::ptrdiff_t>(offsets.size() / 2);
  std::nth_element(offsets.begin(), middle, offsets.end());
  const double intercept = *middle;
  return std::array<Point, 2>{Point{from, intercept + per_s * from},
                              Point{to, intercept + per_s * to}};
}

std::string render_soak_section(const SoakReport& soak, double duration_s) {
  std::string out = "<section id=\"soak\"><h2>Soak</h2>\n";
  out += fmt::format(
      "<p class=\"muted\">Sampled every {}, warm-up {}, {} sampling rounds, sampler CPU {}.</p>\n",
      duration(soak.sample_every_s), duration(soak.warmup_s), count(soak.sample_rounds),
      duration(soak.sampler_cpu_s));
  out += verdict_table(soak);
  if (soak.series.empty()) {
    out += "<p class=\"nodata\">no data: no watched resource was sampled</p>\n";
  }
  for (std::size_t i = 0; i < soak.series.size(); ++i)
    out += render_chart(series_chart(soak, soak.series[i], i, duration_s));
  out += gaps_table(soak);
  if (!soak.restarts.empty())
    out += fmt::format("<p>{} restart(s) of a watched process (marked on its charts).</p>\n",
                       count(soak.restarts.size()));
  const SoakFiles& f = soak.files;
  if (!f.intervals.empty() || !f.hlog.empty() || !f.samples.empty())
    out += fmt::format("<p class=\"muted\">Full-resolution files: {} · {} · {}</p>\n",
                       escape(f.intervals), escape(f.hlog), escape(f.samples));
  return out + "</section>\n";
}

}  // namespace strain::html
