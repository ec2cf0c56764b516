#include "reporters/html/summary_section.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include "reporters/html/figures.hpp"
#include "reporters/html/html_escape.hpp"

namespace strain::html {
namespace {

struct Verdict {
  const char* kind;  // badge class: good, warn, bad
  std::string text;  // already escaped
};

// The judgements the exit code is made of (engine/runtime/exit_code.cpp has the precedence),
// each said once: the page lists them all rather than the one that won.
std::vector<Verdict> verdicts(const RunResult& r) {
  std::vector<Verdict> out;
  if (!r.aborted_reason.empty())
    out.push_back({"bad", "the run stopped early: " + escape(r.aborted_reason)});
  if (!r.threshold_abort.empty())
    out.push_back(
        {"bad", "stopped by threshold " + escape(r.threshold_abort) + " (abort_on_fail)"});
  if (r.partial) out.push_back({"warn", "partial: interrupted, the figures cover what ran"});
  if (r.stress) {
    if (r.stress->generator_limited())
      out.push_back({"warn", "strain could not offer the load that would have decided"});
    if (r.stress->failed())
      out.push_back({"bad", "the expected peak is above the sustainable load"});
  } else if (r.generator.generator_bound) {
    out.push_back({"warn", "generator-bound: strain, not the target, limited the run"});
  }
  std::size_t failed = 0;
  for (const ThresholdVerdict& t : r.thresholds)
    failed += t.passed ? 0 : 1;
  if (!r.thresholds.empty())
    out.push_back({failed > 0 ? "bad" : "good",
                   fmt::format("thresholds: {} of {} passed", r.thresholds.size() - failed,
                               r.thresholds.size())});
  if (r.soak && r.soak->judged) {
    std::string failing;
    for (const SoakVerdict& v : r.soak->verdicts)
      if (v.fails_run)
        failing += (failing.empty() ? "" : ", ") +
                   escape(v.verdict + " on " + v.component + " " + v.resource);
    out.push_back({failing.empty() ? "good" : "bad",
                   failing.empty() ? std::string("soak: no leak") : "soak: " + failing});
  }
  if (r.total.responses == 0 && r.script.iterations == 0)
    out.push_back({"bad", "nothing was answered"});
  return out;
}

void fact(std::string& out, const char* name, const std::string& value) {
  if (!value.empty()) out += fmt::format("<dt>{}</dt><dd>{}</dd>", name, value);
}

std::string card(const char* name, const std::string& value, const std::string& detail = {}) {
  return fmt::format(
      "<div class=\"card\"><div class=\"k\">{}</div><div class=\"v\">{}</div>{}</div>", name, value,
      detail.empty() ? "" : "<div class=\"d\">" + detail + "</div>");
}

}  // namespace

std::string render_header(const RunResult& r) {
  const RunConfig& c = r.config;
  std::string out = "<header>\n";
  out += fmt::format("<h1>strain {} report</h1>\n", escape(c.command));
  const std::string target = !c.script.empty() ? c.script : c.method + " " + c.url;
  out += "<p class=\"target\">" + escape(target) + "</p>\n<dl class=\"facts\">";
  fact(out, "started", escape(r.started_at));
  std::string length = duration(r.duration_s);
  if (c.planned_duration_s > 0 && std::abs(c.planned_duration_s - r.duration_s) > 0.5)
    length += " of " + duration(c.planned_duration_s) + " planned";
  if (r.drain_s > 0) length += ", drain " + duration(r.drain_s);
  fact(out, "duration", length);
  fact(out, "load model", escape(c.executor));
  if (c.vus > 0) fact(out, "VUs", count(c.vus));
  if (c.threads > 0) fact(out, "threads", count(c.threads));
  if (!c.scenarios.empty()) {
    std::string names;
    for (const std::string& s : c.scenarios)
      names += (names.empty() ? "" : ", ") + s;
    fact(out, "scenarios", escape(names));
  }
  if (r.offered_rps) fact(out, "offered", rate(*r.offered_rps));
  out += "</dl>\n";
  const std::vector<Verdict> vs = verdicts(r);
  if (!vs.empty()) {
    out += "<ul class=\"verdicts\">";
    for (const Verdict& v : vs)
      out += fmt::format("<li><span class=\"badge {}\">{}</span> {}</li>", v.kind,
                         std::string_view(v.kind) == "good"  ? "pass"
                         : std::string_view(v.kind) == "bad" ? "fail"
                                                             : "note",
                         v.text);
    out += "</ul>\n";
  }
  return out + "</header>\n";
}

std::string render_summary(const RunResult& r) {
  const RequestMetrics& t = r.total;
  const LatencySummary latency = summarize_us(t.response_time_us);
  const std::uint64_t attempts = t.attempts();
  const double error_rate =
      attempts > 0 ? static_cast<double>(t.failed()) / static_cast<double>(attempts) : 0.0;
  std::string out = "<section id=\"summary\"><h2>Summary</h2>\n<div class=\"cards\">";
  out += card("requests", count(attempts), count(t.responses) + " answered");
  out += card("throughput", rate(r.throughput_rps()),
              r.offered_rps ? "offered " + rate(*r.offered_rps) : std::string());
  out += card("errors", percent(error_rate),
              count(t.failed()) + " failed" +
                  (t.rate_limited() > 0 ? ", " + count(t.rate_limited()) + " rate-limited (429)"
                                        : std::string()));
  out += card("p50", ms(latency.p50), "mean " + ms(latency.mean));
  out += card("p99", ms(latency.p99), "p99.9 " + ms(latency.p999));
  out += card("max", ms(latency.max),
              t.saturated() > 0 ? count(t.saturated()) + " above the 1 h top" : std::string());
  out += "</div>\n";

  std::string statuses;
  for (const auto& [code, n] : t.status_codes)
    statuses += fmt::format("{}{} ×{}", statuses.empty() ? "" : ", ", code, count(n));
  std::string kinds;
  for (std::size_t k = 1; k < error_kind_count; ++k)
    if (t.errors_by_kind[k] > 0)
      kinds += fmt::format("{}{} ×{}", kinds.empty() ? "" : ", ", error_kind_names[k],
                           count(t.errors_by_kind[k]));
  out += "<dl class=\"facts\">";
  fact(out, "statuses", escape(statuses));
  fact(out, "no response", escape(kinds));
  fact(out, "data",
       bytes(static_cast<double>(t.bytes_in)) + " in, " + bytes(static_cast<double>(t.bytes_out)) +
           " out");
  const GeneratorStats& g = r.generator;
  fact(out, "strain itself",
       fmt::format("CPU {} user + {} system, busy {}, peak RSS {}, {} connects",
                   duration(g.cpu_user_s), duration(g.cpu_system_s), percent(g.busy_fraction),
                   bytes(static_cast<double>(g.peak_rss_bytes)), count(g.connects)));
  out += "</dl>\n";
  if (!g.notes.empty()) {
    out += "<ul class=\"notes\">";
    for (const std::string& n : g.notes)
      out += "<li>" + escape(n) + "</li>";
    out += "</ul>\n";
  }
  return out + "</section>\n";
}

}  // namespace strain::html
