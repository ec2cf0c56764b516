#include "reporters/console.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string_view>
#include <vector>

#include "engine/core/units.hpp"
#include "reporters/soak_summary.hpp"
#include "reporters/stress_summary.hpp"

namespace strain {
namespace {

std::string latency_row(const char* label, const Histogram& h) {
  const LatencySummary s = summarize_us(h);
  return fmt::format("  {:<15}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}\n", label,
                     format_duration_ms(s.min), format_duration_ms(s.mean),
                     format_duration_ms(s.p50), format_duration_ms(s.p90),
                     format_duration_ms(s.p99), format_duration_ms(s.p999),
                     format_duration_ms(s.max), format_duration_ms(s.stddev));
}

// At most this many distinct script errors and request series are listed; the file has all.
constexpr std::size_t max_errors_shown = 10;
constexpr std::size_t max_series_shown = 25;

// A script's values: four significant digits (HDR keeps three), whole numbers from 10^4 up.
std::string figure(double v) {
  return std::fabs(v) >= 1e4 ? fmt::format("{:.0f}", v) : fmt::format("{:.4g}", v);
}

std::string percent(std::uint64_t part, std::uint64_t whole) {
  return whole > 0 ? fmt::format("{:.2f}%",
                                 100.0 * static_cast<double>(part) / static_cast<double>(whole))
                   : "-";
}

// Shortens to about `width` columns with an ellipsis, never splitting a UTF-8 sequence.
std::string clip(const std::string& s, std::size_t width) {
  if (s.size() <= width) return s;
  std::size_t cut = width > 1 ? width - 1 : 0;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;
  return s.substr(0, cut) + "…";
}

// Lua tracebacks indent with tabs; the summary indents with spaces.
std::string indented(std::string_view text, std::string_view prefix) {
  std::string out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    std::string expanded;
    for (char ch : line)
      expanded += ch == '\t' ? std::string("  ") : std::string(1, ch);
    out += fmt::format("{}{}\n", prefix, expanded);
  }
  return out;
}

bool is_scripted(const RunResult& r) {
  return !r.by_name.empty() || !r.script.empty() || !r.config.script.empty();
}

// Every series carries scenario=default when the script defines no scenarios: noise, then.
bool single_default_scenario(const RunResult& r) {
  if (!r.config.scenarios.empty())
    return r.config.scenarios.size() == 1 && r.config.scenarios.front() == "default";
  return std::all_of(r.by_name.begin(), r.by_name.end(), [](const RequestMetrics& m) {
    auto it = m.tags.find("scenario");
    return it == m.tags.end() || it->second == "default";
  });
}

// "scenario=browse group=::checkout page=home": scenario and group first, as k6 lists them.
std::string series_tags(const RequestMetrics& m, bool hide_scenario) {
  std::string out;
  auto put = [&](const std::string& tag, const std::string& value) {
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", tag, value);
  };
  if (auto it = m.tags.find("scenario"); it != m.tags.end() && !hide_scenario)
    put(it->first, it->second);
  if (auto it = m.tags.find("group"); it != m.tags.end()) put(it->first, it->second);
  for (const auto& [tag, value] : m.tags) {
    if (tag != "scenario" && tag != "group") put(tag, value);
  }
  return out;
}

std::string series_table(const RunResult& r) {
  std::vector<const RequestMetrics*> rows;
  for (const RequestMetrics& m : r.by_name)
    rows.push_back(&m);
  std::stable_sort(rows.begin(), rows.end(), [](const RequestMetrics* a, const RequestMetrics* b) {
    return a->responses > b->responses;
  });
  const std::size_t shown = std::min(rows.size(), max_series_shown);
  const bool hide_scenario = single_default_scenario(r);
  std::vector<std::string> tags;
  std::size_t name_w = 0;
  std::size_t tags_w = 0;
  for (std::size_t i = 0; i < shown; ++i) {
    tags.push_back(series_tags(*rows[i], hide_scenario));
    name_w = std::max(name_w, rows[i]->name.size());
    tags_w = std::max(tags_w, tags.back().size());
  }
  name_w = std::clamp<std::size_t>(name_w, 13, 40);
  tags_w = tags_w == 0 ? 0 : std::clamp<std::size_t>(tags_w, 4, 48);
  std::string out;
  auto tags_cell = [&](const std::string& text) {
    return tags_w == 0 ? std::string() : fmt::format("  {:<{}}", clip(text, tags_w), tags_w);
  };
  out += fmt::format("\n  {:<{}}{}{:>10}{:>9}{:>9}{:>9}{:>9}\n", "by name", name_w + 2,
                     tags_cell("tags"), "requests", "p50", "p95", "p99", "failed");
  for (std::size_t i = 0; i < shown; ++i) {
    const RequestMetrics& m = *rows[i];
    const Histogram& h = m.response_time_us;
    auto pct = [&](double p) {
      return format_duration_ms(static_cast<double>(h.value_at_percentile(p)) / 1000.0);
    };
    const bool any = h.total_count() > 0;
    out += fmt::format("    {:<{}}{}{:>10}{:>9}{:>9}{:>9}{:>9}\n", clip(m.name, name_w), name_w,
                       tags_cell(tags[i]), m.responses, any ? pct(50) : "-", any ? pct(95) : "-",
                       any ? pct(99) : "-", m.failed());
  }
  if (rows.size() > shown) {
    out += fmt::format("    … {} more series (see --out)\n", rows.size() - shown);
  }
  return out;
}

std::string checks_section(const ScriptStats& s) {
  std::uint64_t passes = 0;
  std::uint64_t fails = 0;
  std::size_t name_w = 0;
  for (const CheckTally& c : s.checks) {
    passes += c.passes;
    fails += c.fails;
    name_w = std::max(name_w, c.name.size());
  }
  name_w = std::clamp<std::size_t>(name_w, 10, 50);
  std::string out = fmt::format("\n  {:<15}{} passed ({} of {})\n", "checks",
                                percent(passes, passes + fails), passes, passes + fails);
  for (const CheckTally& c : s.checks) {
    out += fmt::format("    {} {:<{}}{:>10} passed{:>9} failed{:>10}\n", c.fails > 0 ? "✗" : "✓",
                       clip(c.name, name_w), name_w, c.passes, c.fails,
                       percent(c.passes, c.passes + c.fails));
  }
  return out;
}

std::string iterations_line(const RunResult& r) {
  const ScriptStats& s = r.script;
  const double rate = r.duration_s > 0 ? static_cast<double>(s.iterations) / r.duration_s : 0.0;
  return fmt::format(
      "\n  {:<15}{} completed, {:.1f}/s; {} failed by script error, {} interrupted\n", "iterations",
      s.iterations, rate, s.iterations_failed, s.iterations_interrupted);
}

std::string errors_section(const ScriptStats& s) {
  std::string out = fmt::format("\n  {:<15}{} iteration{} ended by a script error, {} distinct\n",
                                "script errors", s.iterations_failed,
                                s.iterations_failed == 1 ? "" : "s", s.errors.size());
  // The most frequent first: that is where a script is most broken.
  std::vector<const ScriptErrorTally*> rows;
  for (const ScriptErrorTally& e : s.errors)
    rows.push_back(&e);
  std::stable_sort(
      rows.begin(), rows.end(),
      [](const ScriptErrorTally* a, const ScriptErrorTally* b) { return a->count > b->count; });
  const std::size_t shown = std::min(rows.size(), max_errors_shown);
  for (std::size_t i = 0; i < shown; ++i) {
    constexpr std::string_view under = "            ";  // below the message, past "×count"
    const ScriptErrorTally& e = *rows[i];
    const std::string message = indented(e.message.empty() ? "(no message)" : e.message, under);
    out += fmt::format("    {:<8}{}", fmt::format("×{}", e.count), message.substr(under.size()));
    out += indented(e.traceback, under);
  }
  if (rows.size() > shown) {
    out += fmt::format("    … {} more distinct errors (see --out)\n", rows.size() - shown);
  }
  return out;
}

std::string metrics_section(const RunResult& r) {
  std::size_t name_w = 0;
  for (const CustomMetric& m : r.script.metrics)
    name_w = std::max(name_w, m.name.size());
  name_w = std::clamp<std::size_t>(name_w, 12, 40);
  std::string out = "\n  custom metrics\n";
  for (const CustomMetric& m : r.script.metrics) {
    std::string figures;
    switch (m.kind) {
      case CustomMetricKind::counter:
        figures = fmt::format("{} total, {}/s", figure(m.sum),
                              figure(r.duration_s > 0 ? m.sum / r.duration_s : 0.0));
        break;
      case CustomMetricKind::rate:
        figures = fmt::format("{} ({}/{})", percent(m.nonzero, m.count), m.nonzero, m.count);
        break;
      case CustomMetricKind::trend: {
        const Histogram& h = m.values_milli;
        auto at = [&](double p) {
          return figure(static_cast<double>(h.value_at_percentile(p)) / 1000.0);
        };
        if (m.count == 0 || h.total_count() == 0) {
          figures = "no values";
        } else {
          figures = fmt::format("avg {}  p50 {}  p95 {}  p99 {}  max {}  ({} values)",
                                figure(m.sum / static_cast<double>(m.count)), at(50), at(95),
                                at(99), figure(static_cast<double>(h.max()) / 1000.0), m.count);
          if (h.saturated_count() > 0) {
            figures += fmt::format(
                "\n    {:<{}}  warning: {} values above {} were counted at {} (percentiles and "
                "max are lower bounds; avg is exact)",
                "", name_w, h.saturated_count(),
                figure(static_cast<double>(h.highest_trackable()) / 1000.0),
                figure(static_cast<double>(h.highest_trackable()) / 1000.0));
          }
        }
        break;
      }
    }
    out += fmt::format("    {:<{}}  {:<9}{}\n", clip(m.name, name_w), name_w, to_string(m.kind),
                       figures);
  }
  return out;
}

// Open model: the schedule strain offered and how well it kept it.
std::string schedule_section(const RunResult& r) {
  const ScheduleStats& s = r.schedule;
  std::string out = latency_row("schedule lag", s.schedule_lag_us);
  const double started_pct =
      s.due > 0 ? 100.0 * static_cast<double>(s.started) / static_cast<double>(s.due) : 0.0;
  out += fmt::format("\n  {:<15}offered {:.1f}/s ({} arrivals due), started {} ({:.2f}%)\n",
                     "schedule", *r.offered_rps, s.due, s.started, started_pct);
  out += fmt::format(
      "  {:<15}{} waited for a free VU, {} overflowed the backlog, {} unstarted at stop; "
      "at most {} VUs busy, {} arrivals waiting\n",
      "", s.waited, s.overflow, s.unstarted_at_stop, s.peak_vus, s.peak_backlog);
  std::size_t open = 0;
  for (const ScenarioResult& sc : r.scenarios)
    open += sc.offered_rps ? 1u : 0u;
  if (open > 1) {
    for (const ScenarioResult& sc : r.scenarios) {
      if (!sc.offered_rps) continue;
      out += fmt::format(
          "    {:<13}offered {:.1f}/s over {} ({} due, {} started, {} dropped)\n",
          clip(sc.name, 13), *sc.offered_rps,
          format_duration(std::chrono::nanoseconds(static_cast<std::int64_t>(sc.active_s * 1e9))),
          sc.schedule.due, sc.schedule.started,
          sc.schedule.overflow + sc.schedule.unstarted_at_stop);
    }
  }
  return out;
}

}  // namespace

std::string render_summary(const RunResult& r) {
  const auto& t = r.total;
  std::string out;
  out += fmt::format(
      "\nstrain {} {} — {}{} VUs ({}) on {} thread{} for {}{}\n\n", r.config.command,
      r.config.url.empty() ? r.config.script : r.config.url, r.offered_rps ? "up to " : "",
      r.config.vus, r.config.executor, r.config.threads, r.config.threads == 1 ? "" : "s",
      format_duration(std::chrono::nanoseconds(static_cast<std::int64_t>(r.duration_s * 1e9))),
      r.partial ? " (interrupted: partial result)" : "");
  if (!r.threshold_abort.empty()) {
    out +=
        fmt::format("  stopped early: threshold {} failed (abort_on_fail)\n\n", r.threshold_abort);
  }
  if (!r.config.scenarios.empty() && !single_default_scenario(r)) {
    std::string names;
    for (const auto& name : r.config.scenarios)
      names += fmt::format("{}{}", names.empty() ? "" : ", ", name);
    out += fmt::format("  {:<15}{}\n", "scenarios", names);
  }
  const double seconds = r.duration_s > 0 ? r.duration_s : 1.0;
  out +=
      fmt::format("  {:<15}{} completed, {:.1f}/s\n", "requests", t.responses, r.throughput_rps());
  const std::uint64_t failed = t.failed();
  const std::uint64_t attempts = t.attempts();
  out += fmt::format(
      "  {:<15}{} ({:.2f}%)", "failed", failed,
      attempts > 0 ? 100.0 * static_cast<double>(failed) / static_cast<double>(attempts) : 0.0);
  std::string kinds;
  for (std::size_t i = 1; i < t.errors_by_kind.size(); ++i) {
    if (t.errors_by_kind[i] == 0) continue;
    kinds +=
        fmt::format("{}{} {}", kinds.empty() ? "" : ", ", error_kind_names[i], t.errors_by_kind[i]);
  }
  const std::uint64_t client_errors = t.status_classes[4] - t.rate_limited();
  if (client_errors + t.status_classes[5] > 0) {
    kinds += fmt::format("{}HTTP 4xx {}, 5xx {}", kinds.empty() ? "" : ", ", client_errors,
                         t.status_classes[5]);
  }
  if (t.status_classes[0] > 0) {
    kinds +=
        fmt::format("{}status outside 100-599 {}", kinds.empty() ? "" : ", ", t.status_classes[0]);
  }
  out += kinds.empty() ? "\n" : fmt::format("   [{}]\n", kinds);
  const std::uint64_t abandoned = t.errors_by_kind[static_cast<std::size_t>(ErrorKind::abandoned)];
  if (t.dropped() + abandoned > 0) {
    out += fmt::format(
        "  {:<15}dropped: arrivals never started; abandoned: requests unanswered when the run "
        "gave up on them. Both are failures, and those that waited count their wait in response "
        "time (a lower bound)\n",
        "");
  }
  if (t.rate_limited() > 0) {
    out += fmt::format(
        "  {:<15}{} ({:.2f}%)   [HTTP 429: the target shed load; not counted as failed]\n",
        "rate-limited", t.rate_limited(),
        attempts > 0 ? 100.0 * static_cast<double>(t.rate_limited()) / static_cast<double>(attempts)
                     : 0.0);
  }
  std::string classes;
  const char* class_names[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 0; i < t.status_classes.size(); ++i) {
    if (t.status_classes[i] == 0) continue;
    classes +=
        fmt::format("{}{} {}", classes.empty() ? "" : ", ", class_names[i], t.status_classes[i]);
  }
  std::string codes;
  for (const auto& [code, count] : t.status_codes) {
    codes += fmt::format("{}{} {}", codes.empty() ? "" : ", ", code, count);
  }
  out += fmt::format("  {:<15}{}{}\n", "status", classes.empty() ? "-" : classes,
                     codes.empty() ? "" : fmt::format("   [{}]", codes));
  out += fmt::format(
      "  {:<15}in {} ({}/s), out {} ({}/s)\n\n", "data", format_size(t.bytes_in),
      format_size(static_cast<std::uint64_t>(static_cast<double>(t.bytes_in) / seconds)),
      format_size(t.bytes_out),
      format_size(static_cast<std::uint64_t>(static_cast<double>(t.bytes_out) / seconds)));
  out += fmt::format("  {:<15}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}\n", "latency", "min", "mean",
                     "p50", "p90", "p99", "p99.9", "max", "stdev");
  out += latency_row("response time", t.response_time_us);
  out += latency_row("service time", t.service_time_us);
  if (r.phases) {
    // Where the answered requests' time went; a phase that never happened is left out.
    const std::pair<const char*, const Histogram*> rows[] = {
        {"  blocked", &r.phases->blocked_us},
        {"  connecting", &r.phases->connecting_us},
        {"  tls handshake", &r.phases->tls_handshaking_us},
        {"  waiting", &r.phases->waiting_us},
        {"  receiving", &r.phases->receiving_us}};
    for (const auto& [label, h] : rows) {
      if (h->max() > 0) out += latency_row(label, *h);
    }
  }
  if (r.offered_rps) out += schedule_section(r);
  if (!r.by_name.empty()) out += series_table(r);
  if (r.script.untracked_names > 0) {
    out += fmt::format(
        "  warning: {} requests were recorded as '(other)': more distinct request names than the "
        "cap; name them with name=…\n",
        r.script.untracked_names);
  }
  if (!r.script.checks.empty()) out += checks_section(r.script);
  if (is_scripted(r)) out += iterations_line(r);
  if (!r.script.errors.empty() || r.script.iterations_failed > 0) out += errors_section(r.script);
  if (!r.script.metrics.empty()) out += metrics_section(r);
  if (!r.thresholds.empty()) {
    out += fmt::format("\n  {:<15}\n", "thresholds");
    for (const auto& v : r.thresholds) {
      const std::string observed =
          v.observed ? fmt::format("observed {:.4g}", *v.observed) : v.note;
      out += fmt::format("  {} {} {}   ({})\n", v.passed ? "  pass" : "  FAIL", v.expression,
                         v.condition, observed);
    }
  }
  if (r.soak) out += render_soak(*r.soak);
  if (r.stress) out += render_stress(*r.stress);
  const auto& g = r.generator;
  const double cpu = g.cpu_user_s + g.cpu_system_s;
  out += fmt::format(
      "\n  {:<15}cpu {:.2f}s ({:.2f} cores, {:.0f} req per cpu-second), peak rss {}, {} connects, "
      "{} abandoned at stop\n",
      "generator", cpu, cpu / seconds, cpu > 0 ? static_cast<double>(t.responses) / cpu : 0.0,
      format_size(g.peak_rss_bytes), g.connects, g.in_flight_at_stop);
  if (g.stale_retries > 0) {
    out +=
        fmt::format("  {:<15}{} requests resent once after the server closed an idle connection\n",
                    "", g.stale_retries);
  }
  if (g.connect_backoffs > 0) {
    out += fmt::format("  {:<15}{} connects waited out a back-off after a failed connect\n", "",
                       g.connect_backoffs);
  }
  if (g.generator_bound) out += "  GENERATOR-BOUND: strain could not keep its schedule\n";
  for (const auto& note : g.notes)
    out += fmt::format("  note: {}\n", note);
  return out;
}

}  // namespace strain
