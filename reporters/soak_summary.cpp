#include "reporters/soak_summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "engine/core/units.hpp"

namespace strain {
namespace {

// A slope or level in the series' unit: sizes for bytes, plain figures otherwise.
std::string amount(double v, const std::string& unit) {
  if (unit == "bytes") {
    const std::string size = format_size(static_cast<std::uint64_t>(std::llround(std::fabs(v))));
    return (v < 0 ? "-" : "") + size;
  }
  if (unit == "fraction") return fmt::format("{:.3g}%", v * 100);
  if (unit == "ms") return fmt::format("{:.3g} ms", v);
  return fmt::format("{:.4g}", v);
}

std::string signed_amount(double v, const std::string& unit) {
  return (v >= 0 ? "+" : "") + amount(v, unit);
}

}  // namespace

std::string render_soak(const SoakReport& s) {
  std::string out = fmt::format(
      "\n  {:<15}{} sample rounds every {:.3g}s, warm-up {:.3g}s, sampler cpu {:.3f}s ({:.2f} ms "
      "per round)\n",
      "soak", s.sample_rounds, s.sample_every_s, s.warmup_s, s.sampler_cpu_s,
      s.sample_rounds > 0 ? s.sampler_cpu_s * 1000 / static_cast<double>(s.sample_rounds) : 0.0);
  for (const SoakVerdict& v : s.verdicts) {
    std::string verdict = v.verdict;
    if (v.fails_run) {
      for (char& c : verdict)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    std::string line = fmt::format(
        "  {:<15}{:<28}{:<13}{}/h [{}, {}]  p {:.2g}, {} points", "",
        v.component + " " + v.resource, verdict, signed_amount(v.slope_per_hour, v.unit),
        signed_amount(v.ci_low, v.unit), signed_amount(v.ci_high, v.unit), v.p_value, v.points);
    if (v.projection) {
      line +=
          fmt::format(", reaches {} ({}) in about {:.2g} h", amount(v.projection->limit, v.unit),
                      v.projection->limit_source, v.projection->hours);
    }
    if (v.budget_per_hour) {
      line += fmt::format(", budget {}/h {}", amount(*v.budget_per_hour, v.unit),
                          v.budget_broken ? "BROKEN" : "kept");
    }
    out += line + "\n";
    if (v.verdict != "stable" && !v.reason.empty())
      out += fmt::format("  {:<17}{}\n", "", v.reason);
  }
  for (const SoakGap& g : s.gaps) {
    out += fmt::format("  {:<15}gap in {} from {:.1f}s to {:.1f}s ({} samples): {}\n", "",
                       g.component, g.from_s, g.to_s, g.samples, g.reason);
  }
  if (s.gaps_left_out > 0) out += fmt::format("  {:<15}and {} more gaps\n", "", s.gaps_left_out);
  for (const SoakRestart& r : s.restarts)
    out +=
        fmt::format("  {:<15}{} restarted at {:.1f}s as pid {}\n", "", r.component, r.t_s, r.pid);
  if (!s.files.intervals.empty()) {
    out += fmt::format("  {:<15}timeline in {}, {}, {}\n", "", s.files.intervals, s.files.hlog,
                       s.files.samples);
  }
  return out;
}

std::string render_soak_progress(const std::vector<SoakVerdict>& so_far) {
  if (so_far.empty()) return "soak: judging from 10 s";
  // The most worrying first: what would fail the run, then leaks and growth, then the rest.
  std::vector<const SoakVerdict*> order;
  for (const SoakVerdict& v : so_far)
    if (v.source != "self" && v.source != "run") order.push_back(&v);
  const auto rank = [](const SoakVerdict& v) {
    if (v.fails_run) return 0;
    if (v.verdict == "leak" || v.verdict == "growth" || v.verdict == "degrading") return 1;
    return 2;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](const SoakVerdict* a, const SoakVerdict* b) { return rank(*a) < rank(*b); });
  std::string line = "soak so far:";
  std::size_t shown = 0;
  for (const SoakVerdict* v : order) {
    if (shown++ == 3) break;
    line += fmt::format(" {} {} {}/h {};", v->component, v->resource,
                        signed_amount(v->slope_per_hour, v->unit), v->verdict);
  }
  if (shown == 0) return "soak so far: nothing watched but strain";
  line.pop_back();
  return line;
}

}  // namespace strain
