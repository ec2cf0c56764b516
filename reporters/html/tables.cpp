#include "reporters/html/tables.hpp"

#include <fmt/format.h>

#include "reporters/html/figures.hpp"
#include "reporters/html/html_escape.hpp"

namespace strain::html {
namespace {

// The result file has every series; a page of thousands of rows helps nobody.
constexpr std::size_t kMaxNameRows = 500;
constexpr std::size_t kMaxScriptErrors = 20;

std::string tags_text(const std::map<std::string, std::string>& tags) {
  std::string out;
  for (const auto& [k, v] : tags)
    out += (out.empty() ? "" : ", ") + k + "=" + v;
  return out;
}

std::string by_name_table(const RunResult& r) {
  std::string out =
      "<section id=\"by-name\"><h2>Requests by name</h2>\n"
      "<table><thead><tr><th>name</th><th>tags</th><th class=\"num\">requests</th>"
      "<th class=\"num\">failed</th><th class=\"num\">p50</th><th class=\"num\">p90</th>"
      "<th class=\"num\">p99</th><th class=\"num\">max</th></tr></thead><tbody>\n";
  const std::size_t shown = std::min(r.by_name.size(), kMaxNameRows);
  for (std::size_t i = 0; i < shown; ++i) {
    const RequestMetrics& m = r.by_name[i];
    const LatencySummary l = summarize_us(m.response_time_us);
    const std::uint64_t attempts = m.attempts();
    const double failed =
        attempts > 0 ? static_cast<double>(m.failed()) / static_cast<double>(attempts) : 0.0;
    out += fmt::format(
        "<tr><td>{}</td><td class=\"muted\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
        escape(m.name), escape(tags_text(m.tags)), count(attempts), m.failed() > 0 ? " bad" : "",
        percent(failed), ms(l.p50), ms(l.p90), ms(l.p99), ms(l.max));
  }
  out += "</tbody></table>\n";
  if (r.by_name.size() > shown)
    out += fmt::format("<p class=\"muted\">… and {} more series in the result file.</p>\n",
                       count(r.by_name.size() - shown));
  return out + "</section>\n";
}

std::string checks_table(const ScriptStats& s) {
  std::string out =
      "<section id=\"checks\"><h2>Checks</h2>\n<table><thead><tr><th>check</th>"
      "<th class=\"num\">passed</th><th class=\"num\">failed</th><th>verdict</th></tr></thead>"
      "<tbody>\n";
  for (const CheckTally& c : s.checks) {
    const std::uint64_t all = c.passes + c.fails;
    const double rate = all > 0 ? static_cast<double>(c.passes) / static_cast<double>(all) : 0.0;
    out += fmt::format(
        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
        escape(c.name), count(c.passes), count(c.fails),
        c.fails == 0 ? std::string("<span class=\"badge good\">pass</span>")
                     : "<span class=\"badge bad\">fail</span> " + percent(rate) + " held");
  }
  return out + "</tbody></table></section>\n";
}

std::string thresholds_table(const std::vector<ThresholdVerdict>& ts) {
  std::string out =
      "<section id=\"thresholds\"><h2>Thresholds</h2>\n<table><thead><tr><th>metric</th>"
      "<th>condition</th><th class=\"num\">observed</th><th>verdict</th></tr></thead><tbody>\n";
  for (const ThresholdVerdict& t : ts) {
    const std::string observed =
        t.observed ? fmt::format("{:.6g}", *t.observed) : "<span class=\"muted\">none</span>";
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}{}</td></tr>\n",
        escape(t.expression), escape(t.condition), observed,
        t.passed ? "<span class=\"badge good\">pass</span>"
                 : "<span class=\"badge bad\">fail</span>",
        t.note.empty() ? std::string() : " <span class=\"muted\">" + escape(t.note) + "</span>");
  }
  return out + "</tbody></table></section>\n";
}

std::string scenarios_table(const std::vector<ScenarioResult>& ss) {
  std::string out =
      "<section id=\"scenarios\"><h2>Scenarios</h2>\n<table><thead><tr><th>scenario</th>"
      "<th>load model</th><th class=\"num\">start</th><th class=\"num\">active</th>"
      "<th class=\"num\">offered</th><th class=\"num\">iterations</th>"
      "<th class=\"num\">failed</th><th class=\"num\">interrupted</th>"
      "<th class=\"num\">dropped</th></tr></thead><tbody>\n";
  for (const ScenarioResult& s : ss) {
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
        escape(s.name), escape(s.executor), duration(s.start_s), duration(s.active_s),
        s.offered_rps ? rate(*s.offered_rps) : "–", count(s.iterations), count(s.iterations_failed),
        count(s.iterations_interrupted), count(s.schedule.overflow + s.schedule.unstarted_at_stop));
  }
  return out + "</tbody></table></section>\n";
}

std::string script_errors(const ScriptStats& s) {
  std::string out = "<section id=\"script-errors\"><h2>Script errors</h2>\n<ul class=\"errors\">";
  const std::size_t shown = std::min(s.errors.size(), kMaxScriptErrors);
  for (std::size_t i = 0; i < shown; ++i)
    out += fmt::format("<li><b>×{}</b> <code>{}</code></li>", count(s.errors[i].count),
                       escape(s.errors[i].message));
  out += "</ul>\n";
  if (s.errors.size() > shown)
    out += fmt::format("<p class=\"muted\">… and {} more.</p>\n", count(s.errors.size() - shown));
  return out + "</section>\n";
}

}  // namespace

std::string render_tables(const RunResult& r) {
  std::string out;
  out += r.by_name.empty()
             ? "<section id=\"by-name\"><h2>Requests by name</h2><p class=\"nodata\">no data: "
               "a single-URL run has one series, the summary above</p></section>\n"
             : by_name_table(r);
  out += r.script.checks.empty()
             ? "<section id=\"checks\"><h2>Checks</h2><p class=\"muted\">No checks were "
               "declared.</p></section>\n"
             : checks_table(r.script);
  out += r.thresholds.empty()
             ? "<section id=\"thresholds\"><h2>Thresholds</h2><p class=\"muted\">No thresholds "
               "were declared.</p></section>\n"
             : thresholds_table(r.thresholds);
  // One scenario is the whole run, already said in the header.
  if (r.scenarios.size() > 1) out += scenarios_table(r.scenarios);
  if (!r.script.errors.empty()) out += script_errors(r.script);
  return out;
}

}  // namespace strain::html
