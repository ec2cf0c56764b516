// One chart as inline SVG: axes with ticks, a legend, lines, bands and points, decimated to
// about one point pair per pixel column. A chart with nothing to draw says so instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reporters/html/decimate.hpp"
#include "reporters/html/scale.hpp"

namespace strain::html {

enum class SeriesStyle : std::uint8_t {
  line,    // points joined in x order
  dashed,  // the same, dashed (e.g. service time beside response time)
  points,  // one dot per point, with an optional hover title each
  band,    // the area between low and high (a soak floor/peak, a confidence interval)
};

// One named series of a chart, in one colour and style.
struct Series {
  std::string name;                       // legend text
  int color = 0;                          // palette slot, 0..9 (CSS classes s0..s9)
  SeriesStyle style = SeriesStyle::line;  // how it is drawn
  std::vector<Point> points;              // line, dashed, points: in chart units, lines sorted by x
  std::vector<BandPoint> band;            // band: sorted by x
  std::vector<std::string> titles;        // points: hover text, one per point (or none)
  bool in_legend = true;                  // false: drawn but not named in the legend
};

// A line, dashed or points series (no titles, in the legend).
Series make_series(std::string name, int color, SeriesStyle style, std::vector<Point> points);

// A reference line across the plot: vertical at x = value, or horizontal at y = value.
struct Marker {
  bool vertical = true;  // a line at an x value (else at a y value)
  double value = 0;      // where, in chart units
  std::string label;     // drawn beside the line
  int color = 9;         // palette slot
};

// One axis: its label, scale, tick format and domain.
struct AxisSpec {
  std::string label;                       // with its unit: "response time, ms"
  ScaleKind scale = ScaleKind::linear;     // linear or log10
  TickFormat format = TickFormat::number;  // how ticks and read-outs print values
  bool from_zero = true;                   // linear: the domain includes 0
  std::optional<double> lo;                // fixed ends; otherwise from the data, rounded
  std::optional<double> hi;                // (same)
};

// Everything one chart shows; render_chart() turns it into SVG.
struct ChartSpec {
  std::string id;               // element id, unique in the page
  std::string title;            // heading above the chart
  std::string caption;          // one line below it: what to read in it (may be empty)
  std::string no_data;          // what to say instead when no series has a point
  AxisSpec x;                   // horizontal axis
  AxisSpec y;                   // vertical axis
  std::vector<Series> series;   // drawn in order: later ones on top
  std::vector<Marker> markers;  // reference lines over the data
  int height_px = 300;          // of the whole SVG; the width is kChartWidthPx
};

inline constexpr int kChartWidthPx = 1100;

// A vertical (at x) or horizontal (at y) reference line.
Marker make_marker(bool vertical, double value, std::string label, int color);

// A <figure> holding <svg class="chart"> with a <g class="data"> of the drawn series, or a
// <figure class="nodata"> with the title and spec.no_data. Deterministic: same spec, same bytes.
std::string render_chart(const ChartSpec& spec);

}  // namespace strain::html
