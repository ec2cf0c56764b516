#include "reporters/html/html_report.hpp"

#include <fmt/format.h>

#include "reporters/html/html_escape.hpp"
#include "reporters/html/page_assets.hpp"
#include "reporters/html/run_charts.hpp"
#include "reporters/html/soak_section.hpp"
#include "reporters/html/stress_section.hpp"
#include "reporters/html/summary_section.hpp"
#include "reporters/html/svg_chart.hpp"
#include "reporters/html/tables.hpp"

namespace strain {
namespace {

std::string navigation(const RunResult& r) {
  std::string out = "<nav class=\"muted\">";
  const auto link = [&](const char* id, const char* name) {
    out += fmt::format("{}<a href=\"#{}\">{}</a>", out.size() > 20 ? " · " : "", id, name);
  };
  link("summary", "Summary");
  if (r.stress) link("stress", "Stress search");
  if (r.soak) link("soak", "Soak");
  link("over-time", "Over time");
  link("distribution", "Distribution");
  link("by-name", "By name");
  link("checks", "Checks");
  link("thresholds", "Thresholds");
  return out + "</nav>\n";
}

}  // namespace

std::string render_html_report(const RunResult& r) {
  const std::string target = !r.config.script.empty() ? r.config.script : r.config.url;
  std::string page;
  page.reserve(256 * 1024);
  page +=
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += fmt::format("<title>strain {} — {}</title>\n", html::escape(r.config.command),
                      html::escape(target));
  page += "<style>";
  page += html::kStyleSheet;
  page += "</style>\n<script>";
  // In the head, so its load listener is in place however fast the body is parsed.
  page += html::kSelfCheckScript;
  page += "</script>\n</head>\n<body>\n<main>\n";
  page += html::render_header(r);
  page += navigation(r);
  page += html::render_summary(r);
  if (r.stress) page += html::render_stress_section(*r.stress);
  if (r.soak) page += html::render_soak_section(*r.soak, r.duration_s);
  page += "<section id=\"over-time\"><h2>Over time</h2>\n";
  if (r.timeline.empty()) page += "<p class=\"nodata\">no data: the result has no timeline</p>\n";
  for (const html::ChartSpec& c : html::timeline_charts(r))
    page += html::render_chart(c);
  page += "</section>\n<section id=\"distribution-section\"><h2>Distribution</h2>\n";
  page += html::render_chart(html::distribution_chart(r));
  page += "</section>\n";
  page += html::render_tables(r);
  page += fmt::format(
      "<footer><p>Written by strain from a {} result. Charts are SVG drawn by strain; long "
      "series keep each pixel column's lowest and highest point, so no peak is dropped.</p>"
      "<p id=\"selfcheck\"></p></footer>\n</main>\n<script>",
      html::escape(r.schema));
  page += html::kHoverScript;
  page += "</script>\n</body></html>\n";
  return page;
}

}  // namespace strain
