#include "reporters/stress_summary.hpp"

#include <fmt/format.h>

namespace strain {
namespace {

std::string top_errors(const StressStep& s) {
  std::string out;
  for (const auto& [kind, n] : s.errors) {
    if (out.size() > 40) break;
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", kind, n);
  }
  return out;
}

}  // namespace

std::string render_stress_header() {
  return fmt::format("  {:>4} {:>10} {:>10} {:>9} {:>9} {:>7} {:>7}  {}", "step", "offered",
                     "achieved", "p50", "p99", "errors", "steady", "verdict");
}

std::string render_stress_step(const StressStep& s) {
  std::string verdict = s.ok ? "held" : "BROKE: " + s.broke;
  if (s.generator_bound) verdict += " (strain was the limit)";
  if (s.ended_by_governor) verdict += " (cut short)";
  const std::string errors = top_errors(s);
  if (!errors.empty()) verdict += " [" + errors + "]";
  // A --vus-search step offers VUs, not a rate.
  const std::string offered =
      s.vus > 0 ? fmt::format("{:>6} VUs", s.vus) : fmt::format("{:>8.1f}/s", s.offered_rps);
  return fmt::format("  {:>4} {:>10} {:>8.1f}/s {:>7.2f}ms {:>7.2f}ms {:>6.2f}% {:>6.1f}s  {}",
                     s.index, offered, s.achieved_rps, s.p50_ms, s.p99_ms, s.error_rate * 100,
                     s.steady_after_s, verdict);
}

std::string render_stress(const StressReport& r) {
  std::string out = "\n  stress         SLO " + r.slo + ", search " + r.end + "\n";
  out += render_stress_header() + "\n";
  for (const StressStep& s : r.steps)
    out += render_stress_step(s) + "\n";
  if (r.vus_search && r.max_sustainable_vus) {
    out += fmt::format("  sustainable    {} VUs ({:.1f}/s)", *r.max_sustainable_vus,
                       r.max_sustainable_rps.value_or(0));
    if (r.first_bad_vus) out += fmt::format(" (broke at {} VUs)", *r.first_bad_vus);
    out += "\n";
  } else if (r.max_sustainable_rps) {
    out += fmt::format("  sustainable    {:.1f}/s", *r.max_sustainable_rps);
    if (r.precision)
      out +=
          fmt::format(" (broke at {:.1f}/s, within {:.1f}%)", *r.first_bad_rps, *r.precision * 100);
    out += "\n";
  }
  if (r.knee_rps) out += fmt::format("  knee           {:.1f}/s\n", *r.knee_rps);
  if (r.first_failure) out += "  first broke    " + r.first_failure->detail + "\n";
  if (r.saturated) {
    out +=
        fmt::format("  saturated      {} {} at {:.0f}% ({:.3g} of {:.3g} {})\n",
                    r.saturated->component, r.saturated->resource, r.saturated->utilisation * 100,
                    r.saturated->value, r.saturated->limit, r.saturated->unit);
  }
  if (!r.failure_mode.empty())
    out += "  failure mode   " + r.failure_mode + ": " + r.failure_mode_reason + "\n";
  if (r.usl) {
    out += fmt::format("  USL            sigma {:.4g}, kappa {:.4g}, lambda {:.4g}/s, r2 {:.3f}",
                       r.usl->sigma, r.usl->kappa, r.usl->lambda, r.usl->r2);
    if (r.usl->peak_concurrency)
      out += fmt::format("; peak {:.0f} concurrent, {:.1f}/s", *r.usl->peak_concurrency,
                         r.usl->peak_rps);
    out += "\n";
  } else if (!r.usl_note.empty()) {
    out += "  USL            no fit: " + r.usl_note + "\n";
  }
  out += "\n  " + r.verdict + "\n";
  return out;
}

}  // namespace strain
