#include "reporters/html/svg_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "reporters/html/html_escape.hpp"

namespace strain::html {
namespace {

constexpr double kLeftPx = 72;    // room for the y tick labels and the axis label
constexpr double kRightPx = 36;   // room for the last x tick label ("99.99%")
constexpr double kBottomPx = 44;  // x tick labels and the axis label
constexpr double kLegendRowPx = 18;
constexpr double kCharPx = 6.8;  // mean glyph width of the 12 px legend font, for wrapping

struct Extent {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
};

// A log axis cannot show zero or less; such values are left out of its extent.
void add_value(Extent& e, double v, ScaleKind kind) {
  if (kind == ScaleKind::log && !(v > 0)) return;
  e.add(v);
}

bool has_points(const Series& s) {
  return s.style == SeriesStyle::band ? !s.band.empty() : !s.points.empty();
}

const char* format_name(TickFormat f) {
  switch (f) {
    case TickFormat::duration:
      return "duration";
    case TickFormat::percentile:
      return "percentile";
    case TickFormat::bytes:
      return "bytes";
    case TickFormat::number:
      break;
  }
  return "number";
}

// What the hover read-out needs to turn a pixel back into a value.
std::string scale_attr(const Scale& s, TickFormat f) {
  return fmt::format("{} {} {} {:.1f} {:.1f} {}", s.kind == ScaleKind::log ? "log" : "lin", s.lo,
                     s.hi, s.px_lo, s.px_hi, format_name(f));
}

std::string px(double v) {
  return fmt::format("{:.1f}", v);
}

// The domain of one axis: fixed ends where given, the data's rounded extent otherwise.
void axis_domain(const AxisSpec& a, Extent e, double& lo, double& hi) {
  lo = e.empty() ? 0 : e.lo;
  hi = e.empty() ? 1 : e.hi;
  nice_domain(a.scale, a.format, a.from_zero, lo, hi);
  if (a.lo) lo = *a.lo;
  if (a.hi) hi = *a.hi;
  if (!(hi > lo)) hi = lo + 1;
}

struct Legend {
  std::string svg;
  double height_px = 0;
};

Legend legend(const std::vector<Series>& series, double left_px, double right_px) {
  Legend out;
  double x = left_px;
  double row = 0;
  bool any = false;
  for (const Series& s : series) {
    if (!s.in_legend || s.name.empty()) continue;
    const double width = 26 + static_cast<double>(s.name.size()) * kCharPx + 18;
    if (any && x + width > right_px) {
      x = left_px;
      row += 1;
    }
    any = true;
    const double y = 14 + row * kLegendRowPx;
    const char* shape = "";
    switch (s.style) {
      case SeriesStyle::band:
        shape = "<rect class=\"band s{0}\" x=\"{1}\" y=\"{2}\" width=\"20\" height=\"10\"/>";
        break;
      case SeriesStyle::points:
        shape = "<circle class=\"pt s{0}\" cx=\"{3}\" cy=\"{4}\" r=\"4\"/>";
        break;
      case SeriesStyle::dashed:
        shape = "<path class=\"line dash s{0}\" d=\"M{1} {4}h20\"/>";
        break;
      case SeriesStyle::line:
        shape = "<path class=\"line s{0}\" d=\"M{1} {4}h20\"/>";
        break;
    }
    out.svg += fmt::format(fmt::runtime(shape), s.color, px(x), px(y - 9), px(x + 10), px(y - 4));
    out.svg += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>", px(x + 26), px(y), escape(s.name));
    x += width;
  }
  out.height_px = any ? 14 + (row + 1) * kLegendRowPx : 12;
  return out;
}

std::string line_path(const std::vector<Point>& pts) {
  std::string d;
  d.reserve(pts.size() * 12);
  for (std::size_t i = 0; i < pts.size(); ++i)
    fmt::format_to(std::back_inserter(d), "{}{:.1f},{:.1f}",
                   i == 0   ? "M"
                   : i == 1 ? "L"
                            : " ",
                   pts[i].x, pts[i].y);
  return d;
}

std::string band_path(const std::vector<BandPoint>& pts) {
  std::string d;
  d.reserve(pts.size() * 24);
  // Upper edge forward, lower edge back: one closed outline per band.
  for (std::size_t i = 0; i < pts.size(); ++i)
    fmt::format_to(std::back_inserter(d), "{}{:.1f},{:.1f}",
                   i == 0   ? "M"
                   : i == 1 ? "L"
                            : " ",
                   pts[i].x, pts[i].high);
  for (std::size_t i = pts.size(); i-- > 0;)
    fmt::format_to(std::back_inserter(d), " {:.1f},{:.1f}", pts[i].x, pts[i].low);
  d += "Z";
  return d;
}

std::string no_data_figure(const ChartSpec& spec) {
  return fmt::format(
      "<figure class=\"nodata\" id=\"{}\"><figcaption>{}</figcaption><p>no data: {}</p></figure>\n",
      escape(spec.id), escape(spec.title),
      escape(spec.no_data.empty() ? "nothing was measured for this chart" : spec.no_data));
}

}  // namespace

Series make_series(std::string name, int color, SeriesStyle style, std::vector<Point> points) {
  Series s;
  s.name = std::move(name);
  s.color = color;
  s.style = style;
  s.points = std::move(points);
  return s;
}

Marker make_marker(bool vertical, double value, std::string label, int color) {
  Marker m;
  m.vertical = vertical;
  m.value = value;
  m.label = std::move(label);
  m.color = color;
  return m;
}

std::string render_chart(const ChartSpec& spec) {
  Extent xs;
  Extent ys;
  bool any = false;
  for (const Series& s : spec.series) {
    any = any || has_points(s);
    for (const Point& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      if (spec.x.scale == ScaleKind::log && !(p.x > 0)) continue;
      add_value(xs, p.x, spec.x.scale);
      add_value(ys, p.y, spec.y.scale);
    }
    for (const BandPoint& p : s.band) {
      add_value(xs, p.x, spec.x.scale);
      add_value(ys, p.low, spec.y.scale);
      add_value(ys, p.high, spec.y.scale);
    }
  }
  if (!any || xs.empty() || ys.empty()) return no_data_figure(spec);
  for (const Marker& m : spec.markers)
    add_value(m.vertical ? xs : ys, m.value, m.vertical ? spec.x.scale : spec.y.scale);

  const double width = kChartWidthPx;
  const double height = spec.height_px;
  const double plot_left = kLeftPx;
  const double plot_right = width - kRightPx;
  const Legend key = legend(spec.series, plot_left, plot_right);
  const double plot_top = key.height_px;
  const double plot_bottom = height - kBottomPx;

  Scale sx{spec.x.scale, 0, 1, plot_left, plot_right};
  Scale sy{spec.y.scale, 0, 1, plot_bottom, plot_top};
  axis_domain(spec.x, xs, sx.lo, sx.hi);
  axis_domain(spec.y, ys, sy.lo, sy.hi);

  std::string out;
  const std::string id = escape(spec.id);
  // Drawn first so the data's vertical extent can mark a flat chart, whose bounding box has
  // no height however right it is (a constant rate, a descriptor count that never moved).
  std::string data;
  Extent drawn_y;
  for (const Series& s : spec.series) {
    if (!has_points(s)) continue;
    if (s.style == SeriesStyle::band) {
      std::vector<BandPoint> mapped;
      mapped.reserve(s.band.size());
      for (const BandPoint& p : s.band)
        mapped.push_back({sx.to_px(p.x), sy.to_px(p.low), sy.to_px(p.high)});
      mapped = decimate_band(mapped, plot_left, 1.0);
      for (const BandPoint& p : mapped) {
        drawn_y.add(p.low);
        drawn_y.add(p.high);
      }
      data += fmt::format("<path class=\"band s{}\" d=\"{}\"><title>{}</title></path>", s.color,
                          band_path(mapped), escape(s.name));
      continue;
    }
    std::vector<Point> mapped;
    mapped.reserve(s.points.size());
    for (const Point& p : s.points) {
      if (spec.x.scale == ScaleKind::log && !(p.x > 0)) continue;
      mapped.push_back({sx.to_px(p.x), sy.to_px(p.y)});
    }
    if (s.style == SeriesStyle::points || mapped.size() == 1) {
      data += fmt::format("<g class=\"pts s{}\">", s.color);
      for (std::size_t i = 0; i < mapped.size(); ++i) {
        drawn_y.add(mapped[i].y);
        const bool titled = i < s.titles.size();
        data += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\">{}</circle>", mapped[i].x,
                            mapped[i].y, s.style == SeriesStyle::points ? "4.5" : "2.5",
                            titled ? "<title>" + escape(s.titles[i]) + "</title>" : "");
      }
      data += "</g>";
      continue;
    }
    mapped = decimate_min_max(mapped, plot_left, 1.0);
    for (const Point& p : mapped)
      drawn_y.add(p.y);
    data += fmt::format("<path class=\"line{} s{}\" d=\"{}\"><title>{}</title></path>",
                        s.style == SeriesStyle::dashed ? " dash" : "", s.color, line_path(mapped),
                        escape(s.name));
  }
  const bool flat = drawn_y.empty() || drawn_y.hi - drawn_y.lo < 0.5;

  out += fmt::format("<figure class=\"chart\" id=\"{}\"><figcaption>{}</figcaption>\n", id,
                     escape(spec.title));
  out += fmt::format(
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {1}\" "
      "width=\"{0}\" height=\"{1}\" role=\"img\" aria-label=\"{2}\" data-x=\"{3}\" data-y=\"{4}\" "
      "data-plot=\"{5} {6} {7} {8}\"{9}>\n",
      kChartWidthPx, spec.height_px, escape(spec.title), scale_attr(sx, spec.x.format),
      scale_attr(sy, spec.y.format), px(plot_left), px(plot_top), px(plot_right), px(plot_bottom),
      flat ? " data-flat=\"1\"" : "");
  out += fmt::format(
      "<clipPath id=\"{}-clip\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>"
      "</clipPath>\n",
      id, px(plot_left), px(plot_top - 4), px(plot_right - plot_left),
      px(plot_bottom - plot_top + 8));

  // Grid and ticks.
  out += "<g class=\"axis\">";
  for (const Tick& t : make_ticks(sy.kind, spec.y.format, sy.lo, sy.hi, 5)) {
    const double y = sy.to_px(t.value);
    out += fmt::format(
        "<path class=\"grid\" d=\"M{} {}H{}\"/><text class=\"yt\" x=\"{}\" y=\"{}\">{}</text>",
        px(plot_left), px(y), px(plot_right), px(plot_left - 6), px(y + 4), escape(t.label));
  }
  for (const Tick& t : make_ticks(sx.kind, spec.x.format, sx.lo, sx.hi, 10)) {
    const double x = sx.to_px(t.value);
    out += fmt::format(
        "<path class=\"grid\" d=\"M{} {}V{}\"/><text class=\"xt\" x=\"{}\" y=\"{}\">{}</text>",
        px(x), px(plot_top), px(plot_bottom), px(x), px(plot_bottom + 16), escape(t.label));
  }
  out += fmt::format("<path class=\"frame\" d=\"M{0} {1}V{2}H{3}\"/>", px(plot_left), px(plot_top),
                     px(plot_bottom), px(plot_right));
  out += fmt::format("<text class=\"xl\" x=\"{}\" y=\"{}\">{}</text>",
                     px((plot_left + plot_right) / 2), px(height - 6), escape(spec.x.label));
  out += fmt::format("<text class=\"yl\" transform=\"translate(14 {}) rotate(-90)\">{}</text>",
                     px((plot_top + plot_bottom) / 2), escape(spec.y.label));
  out += "</g>\n<g class=\"legend\">" + key.svg + "</g>\n";

  out += fmt::format("<g class=\"data\" clip-path=\"url(#{}-clip)\">", id) + data + "</g>\n";

  if (!spec.markers.empty()) {
    out += "<g class=\"markers\">";
    int vertical_labels = 0;
    for (const Marker& m : spec.markers) {
      if (!std::isfinite(m.value)) continue;
      if (m.vertical) {
        // Each label a line below the last: markers can sit a few pixels apart.
        const double label_y = plot_top + 12 + 14 * (vertical_labels++ % 4);
        const double x = sx.to_px(m.value);
        const bool right_half = x > (plot_left + plot_right) / 2;
        out += fmt::format(
            "<path class=\"mk s{}\" d=\"M{} {}V{}\"/><text class=\"mk{}\" x=\"{}\" "
            "y=\"{}\">{}</text>",
            m.color, px(x), px(plot_top), px(plot_bottom), right_half ? " end" : "",
            px(right_half ? x - 4 : x + 4), px(label_y), escape(m.label));
      } else {
        const double y = sy.to_px(m.value);
        out += fmt::format(
            "<path class=\"mk s{}\" d=\"M{} {}H{}\"/><text class=\"mk end\" x=\"{}\" "
            "y=\"{}\">{}</text>",
            m.color, px(plot_left), px(y), px(plot_right), px(plot_right - 4), px(y - 4),
            escape(m.label));
      }
    }
    out += "</g>\n";
  }
  // The hover read-out: a cursor and a line of text the page script moves; empty without JS.
  out += fmt::format(
      "<path class=\"cursor\" d=\"M{0} {1}V{2}\" visibility=\"hidden\"/>"
      "<text class=\"readout\" x=\"{3}\" y=\"{4}\"></text>\n",
      px(plot_left), px(plot_top), px(plot_bottom), px(plot_left + 6), px(plot_top + 14));
  out += "</svg>\n";
  if (!spec.caption.empty()) out += "<p class=\"caption\">" + escape(spec.caption) + "</p>\n";
  out += "</figure>\n";
  return out;
}

}  // namespace strain::html
