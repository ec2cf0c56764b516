#include "engine/stress/analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/stress/knee.hpp"
#include "engine/stress/usl.hpp"

namespace strain::stress {

namespace {

// Status codes a server answers with when it turns load away on purpose.
bool is_shedding_status(const std::string& kind) {
  return kind == "429" || kind == "503";
}

bool is_transport_error(const std::string& kind) {
  return kind == "connect_refused" || kind == "connect_timeout" || kind == "connect_error" ||
         kind == "reset" || kind == "timeout" || kind == "closed" || kind == "abandoned";
}

// A step's level: the rate offered, or the VUs in a --vus-search.
double level(const StressReport& r, const StressStep& s) {
  return r.vus_search ? static_cast<double>(s.vus) : s.offered_rps;
}

std::optional<double> sustainable_level(const StressReport& r) {
  if (!r.vus_search) return r.max_sustainable_rps;
  if (!r.max_sustainable_vus) return std::nullopt;
  return static_cast<double>(*r.max_sustainable_vus);
}

const StressStep* best_good_step(const StressReport& r) {
  const StressStep* best = nullptr;
  for (const StressStep& s : r.steps)
    if (s.ok && (best == nullptr || level(r, s) > level(r, *best))) best = &s;
  return best;
}

std::string vus(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f VUs", v);
  return text;
}

std::string rps(double v) {
  char text[32];
  if (v >= 100)
    std::snprintf(text, sizeof text, "%.0f/s", v);
  else
    std::snprintf(text, sizeof text, "%.1f/s", v);
  return text;
}

void find_saturation(StressReport& r) {
  // The breaking step: the first that broke; if none did, the highest that held.
  const StressStep* at = nullptr;
  if (r.first_failure && r.first_failure->step < r.steps.size())
    at = &r.steps[r.first_failure->step];
  if (at == nullptr) at = best_good_step(r);
  if (at == nullptr) return;
  const StressResource* top = nullptr;
  for (const StressResource& res : at->resources) {
    // strain's own resources tell whether strain was the limit, not what the target ran out of.
    if (res.component == "strain" || !res.utilisation) continue;
    if (top == nullptr || *res.utilisation > *top->utilisation) top = &res;
  }
  if (top == nullptr) return;
  r.saturated = StressSaturation{top->component, top->resource, *top->utilisation,
                                 top->value,     *top->limit,   top->unit};
}

void fit_scalability(StressReport& r) {
  std::vector<UslPoint> points;
  for (const StressStep& s : r.steps)
    if (!s.generator_bound && s.concurrency > 0 && s.ok_rps > 0)
      points.push_back(UslPoint{s.concurrency, s.ok_rps});
  const UslFit fit = fit_usl(points);
  if (!fit.ok) {
    r.usl_note = fit.why;
    return;
  }
  r.usl = StressUsl{fit.sigma, fit.kappa, fit.lambda, fit.r2, fit.peak_concurrency, fit.peak_rps};
}

void find_knee_rps(StressReport& r) {
  std::vector<CurvePoint> curve;
  for (const StressStep& s : r.steps)
    if (!s.generator_bound && !s.ended_by_governor && s.judged_s > 0)
      curve.push_back(CurvePoint{s.achieved_rps, s.p99_ms});
  if (const auto knee = find_knee(curve)) r.knee_rps = knee->x;
}

std::string compose_verdict(const StressReport& r) {
  std::string v;
  char line[400];
  if (r.vus_search && r.max_sustainable_vus) {
    std::snprintf(line, sizeof line, "The target sustains %s within the SLO (%s), serving %s",
                  vus(*r.max_sustainable_vus).c_str(), r.slo.c_str(),
                  rps(r.max_sustainable_rps.value_or(0)).c_str());
    v = line;
    if (r.first_bad_vus) v += "; it broke at " + vus(*r.first_bad_vus);
    v += ".";
  } else if (r.max_sustainable_rps) {
    std::snprintf(line, sizeof line, "The target sustains %s within the SLO (%s)",
                  rps(*r.max_sustainable_rps).c_str(), r.slo.c_str());
    v = line;
    if (r.first_bad_rps && r.precision) {
      std::snprintf(line, sizeof line, "; it broke at %s (bracket %.1f%%)",
                    rps(*r.first_bad_rps).c_str(), *r.precision * 100);
      v += line;
    }
    v += ".";
  } else if (r.end == "below_start") {
    v = "The target broke the SLO (" + r.slo + ") even at the lowest " +
        (r.vus_search ? "VU count" : "rate") + " tried.";
  } else {
    v = "No step held the SLO (" + r.slo + ").";
  }
  if (r.end == "max_rate") {
    v += r.vus_search ? " Every step held up to --max-vus: the breaking point is above."
                      : " Every step held up to --max-rate: the breaking point is above.";
  }
  if (r.end == "max_time") v += " The search ran out of time (--max-time) before it was precise.";
  if (r.end == "interrupted") v += " The search was interrupted: these are the bounds so far.";
  if (r.end == "generator_bound") {
    v += " strain could not offer the next rate on time: the breaking point, if any, is above "
         "what this machine can generate (add threads or machines).";
  }
  if (r.knee_rps) v += " Latency turns upward at about " + rps(*r.knee_rps) + ".";
  if (r.first_failure) v += " First to break: " + r.first_failure->detail + ".";
  if (r.saturated) {
    std::snprintf(line, sizeof line, " Closest to its limit there: %s's %s at %.0f%%.",
                  r.saturated->component.c_str(), r.saturated->resource.c_str(),
                  r.saturated->utilisation * 100);
    v += line;
  }
  if (!r.failure_mode.empty())
    v += " Past it, the target " + r.failure_mode + ": " + r.failure_mode_reason + ".";
  if (r.usl && r.usl->peak_concurrency) {
    std::snprintf(line, sizeof line,
                  " The scalability fit (USL, r2 %.2f) peaks at %.0f concurrent requests and %s.",
                  r.usl->r2, *r.usl->peak_concurrency, rps(r.usl->peak_rps).c_str());
    v += line;
  }
  if (r.headroom) {
    const bool in_vus = r.headroom->expected_peak_vus.has_value();
    std::snprintf(line, sizeof line, " The expected %s is %.0f%% of the sustainable %s%s.",
                  in_vus ? vus(*r.headroom->expected_peak_vus).c_str()
                         : rps(r.headroom->expected_peak_rps).c_str(),
                  r.headroom->share_of_sustainable * 100, in_vus ? "count" : "rate",
                  r.headroom->exceeds ? ": NOT enough headroom" : "");
    v += line;
  }
  return v;
}

}  // namespace

const char* failure_mode(const StressReport& r, std::string& reason) {
  const StressStep* good = best_good_step(r);
  const double good_ok_rps = good != nullptr ? good->ok_rps : 0;
  double shed = 0, transport = 0, other_errors = 0, worst_p99 = 0;
  double best_ok_rps_over = 0;
  bool any = false;
  for (const StressStep& s : r.steps) {
    if (s.ok || s.generator_bound) continue;
    if (const auto good_level = sustainable_level(r); good_level && level(r, s) <= *good_level)
      continue;
    any = true;
    for (const auto& [kind, n] : s.errors) {
      const double count = static_cast<double>(n);
      if (is_shedding_status(kind))
        shed += count;
      else if (is_transport_error(kind))
        transport += count;
      else
        other_errors += count;
    }
    worst_p99 = std::max(worst_p99, s.p99_ms);
    best_ok_rps_over = std::max(best_ok_rps_over, s.ok_rps);
  }
  if (!any) return "";
  const double errors = shed + transport + other_errors;
  const double held = good_ok_rps > 0 ? best_ok_rps_over / good_ok_rps : 0;
  char line[300];
  if (transport > 0 && (transport >= 0.5 * errors || held < 0.8)) {
    std::snprintf(line, sizeof line,
                  "%.0f timeouts and connection errors of %.0f errors, successes at %.0f%% of "
                  "the last good step's",
                  transport, errors, held * 100);
    reason = line;
    return "collapses";
  }
  if (shed > 0 && shed >= 0.5 * errors && held >= 0.9) {
    std::snprintf(line, sizeof line,
                  "%.0f fast refusals (429/503) of %.0f errors, successes held at %.0f%% of the "
                  "last good step's",
                  shed, errors, held * 100);
    reason = line;
    return "sheds";
  }
  if (held < 0.8) {
    std::snprintf(line, sizeof line, "successes fell to %.0f%% of the last good step's",
                  held * 100);
    reason = line;
    return "collapses";
  }
  std::snprintf(line, sizeof line,
                "latency climbs (p99 up to %.0f ms) while %.0f requests fail; successes at "
                "%.0f%% of the last good step's",
                worst_p99, errors, held * 100);
  reason = line;
  return "queues";
}

void analyse(StressReport& r, std::optional<double> expected_peak) {
  find_knee_rps(r);
  find_saturation(r);
  r.failure_mode = failure_mode(r, r.failure_mode_reason);
  fit_scalability(r);
  if (expected_peak) {
    StressHeadroom h;
    if (r.vus_search)
      h.expected_peak_vus = static_cast<std::uint32_t>(*expected_peak);
    else
      h.expected_peak_rps = *expected_peak;
    const double sustainable = sustainable_level(r).value_or(0);
    // Nothing held: no share to give (0), and the expected peak is past it.
    h.share_of_sustainable = sustainable > 0 ? *expected_peak / sustainable : 0;
    h.exceeds = *expected_peak > sustainable;
    r.headroom = h;
  }
  r.verdict = compose_verdict(r);
}

}  // namespace strain::stress
