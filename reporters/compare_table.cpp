#include "reporters/compare_table.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "engine/core/units.hpp"

namespace strain {
namespace {

bool is_latency(Figure f) {
  return f != Figure::throughput && f != Figure::errors;
}

std::string value(Figure f, double v) {
  if (f == Figure::errors) return fmt::format("{:.2f}%", v);
  if (f == Figure::throughput) return format_count(v) + "/s";
  return format_duration(
      std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(v * 1e6))));
}

std::string change(const ComparedFigure& c) {
  if (c.figure == Figure::errors) return fmt::format("{:+.2f}pp", c.change);
  return fmt::format("{:+.1f}%", c.change);
}

// The limit as the direction it guards: latencies and errors may rise, throughput may drop.
std::string limit(const ComparedFigure& c) {
  if (!c.limit) return "-";
  if (c.figure == Figure::errors) return fmt::format("+{:g}pp", *c.limit);
  return fmt::format("{}{:g}%", c.figure == Figure::throughput ? "-" : "+", *c.limit);
}

// Intervals get a digit more than the table: two that differ only past its rounding would
// otherwise read as the same numbers.
std::string precise_ms(double v) {
  if (v >= 1000) return value(Figure::p50, v);
  if (v < 10) return fmt::format("{:.3f}ms", v);
  return v < 100 ? fmt::format("{:.2f}ms", v) : fmt::format("{:.1f}ms", v);
}

std::string interval(Figure f, double low, double high) {
  if (is_latency(f)) return precise_ms(low) + ".." + precise_ms(high);
  if (f == Figure::errors) return fmt::format("{:.2f}..{:.2f}%", low, high);
  return format_count(low) + ".." + format_count(high) + "/s";
}

// "within noise" says why: the two runs' intervals, which overlap (or, for throughput and
// errors, are close enough for the test).
std::string verdict(const ComparedFigure& c) {
  switch (c.verdict) {
    case FigureVerdict::regression:
      return "REGRESSION";
    case FigureVerdict::within_noise:
      return fmt::format("within noise ({} vs {})", interval(c.figure, c.base_low, c.base_high),
                         interval(c.figure, c.next_low, c.next_high));
    default:
      return to_string(c.verdict);
  }
}

std::string label(const SeriesComparison& s) {
  std::string out = s.name;
  if (!s.tags.empty()) {
    out += '{';
    bool first = true;
    for (const auto& [tag, v] : s.tags) {
      out += (first ? "" : ",") + tag + '=' + v;
      first = false;
    }
    out += '}';
  }
  return out;
}

}  // namespace

std::string render_comparison(const RunComparison& c) {
  // Series labels (name and tags) can be long: each heads its own block of figure rows.
  std::string out = fmt::format("  {:<12} {:>10} {:>10} {:>9} {:>8}  {}\n", "figure", "base", "new",
                                "change", "limit", "verdict");
  std::size_t noise = 0;
  std::vector<std::string> regressions;
  for (const SeriesComparison& s : c.series) {
    const std::string name = label(s);
    if (s.presence != SeriesPresence::both) {
      out += s.presence == SeriesPresence::only_base
                 ? fmt::format("  {}: only in base ({} responses): removed, not judged\n", name,
                               s.base_responses)
                 : fmt::format("  {}: only in new ({} responses): added, not judged\n", name,
                               s.next_responses);
      continue;
    }
    out += fmt::format("  {} ({} -> {} responses)\n", name, s.base_responses, s.next_responses);
    for (const ComparedFigure& f : s.figures) {
      out += fmt::format("    {:<10} {:>10} {:>10} {:>9} {:>8}  {}\n", to_string(f.figure),
                         value(f.figure, f.base), value(f.figure, f.next), change(f), limit(f),
                         verdict(f));
      if (f.verdict == FigureVerdict::within_noise) ++noise;
      if (f.verdict == FigureVerdict::regression)
        regressions.push_back(
            fmt::format("{} {} {} (limit {})", name, to_string(f.figure), change(f), limit(f)));
    }
  }
  for (const std::string& note : c.notes)
    out += "  note: " + note + "\n";
  if (c.regressed) {
    out += "verdict: REGRESSION:";
    for (std::size_t i = 0; i < regressions.size(); ++i)
      out += (i == 0 ? " " : ", ") + regressions[i];
    out += "\n";
  } else {
    out += fmt::format(
        "verdict: passed: no figure worse beyond its limit and the runs' noise{}\n",
        noise > 0 ? fmt::format(" ({} difference{} within noise)", noise, noise == 1 ? "" : "s")
                  : "");
  }
  return out;
}

}  // namespace strain
