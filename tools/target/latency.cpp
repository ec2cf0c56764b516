#include "tools/target/latency.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"
#include "tools/target/behaviour.hpp"

namespace strain::target {
namespace {

constexpr std::string_view kForms =
    "expected 2ms, fixed:2ms, uniform:1ms..5ms, lognormal:10ms,p99=80ms or bimodal:2ms,200ms@5%";

// The standard normal's 99th percentile: p99 = median * exp(sigma * z99) gives sigma.
constexpr double kZ99 = 2.3263478740408408;

[[noreturn]] void bad_latency(std::string_view what, std::string_view text, std::string_view why) {
  throw UsageError(std::string(what) + ": '" + std::string(text) + "' is not a latency (" +
                   std::string(why) + ")");
}

// One duration inside a latency; errors quote the whole latency, and the part at fault.
std::chrono::nanoseconds part(std::string_view what, std::string_view text, std::string_view p) {
  std::chrono::nanoseconds d{0};
  try {
    d = parse_duration(p, what);
  } catch (const UsageError&) {
    bad_latency(what, text, "'" + std::string(p) + "' is not a duration; " + std::string(kForms));
  }
  if (d > kMaxDelay) bad_latency(what, text, "'" + std::string(p) + "' is longer than 1h");
  return d;
}

}  // namespace

Latency parse_latency(std::string_view text, std::string_view what) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return Latency::fixed(part(what, text, text));
  const auto kind = text.substr(0, colon);
  const auto rest = text.substr(colon + 1);
  Latency l;
  if (kind == "fixed") return Latency::fixed(part(what, text, rest));
  if (kind == "uniform") {
    const auto dots = rest.find("..");
    if (dots == std::string_view::npos)
      bad_latency(what, text, "uniform needs LOW..HIGH, e.g. 1ms..5ms");
    l.kind = LatencyKind::uniform;
    l.low = part(what, text, rest.substr(0, dots));
    l.high = part(what, text, rest.substr(dots + 2));
    if (l.low > l.high) bad_latency(what, text, "the low end is above the high end");
    return l;
  }
  if (kind == "lognormal") {
    const auto comma = rest.find(",p99=");
    if (comma == std::string_view::npos) {
      bad_latency(what, text, "lognormal needs MEDIAN,p99=P99, e.g. 10ms,p99=80ms");
    }
    l.kind = LatencyKind::lognormal;
    l.low = part(what, text, rest.substr(0, comma));
    l.high = part(what, text, rest.substr(comma + 5));
    if (l.low.count() <= 0 || l.high <= l.low) {
      bad_latency(what, text, "the median must be above 0 and the p99 above the median");
    }
    l.sigma =
        std::log(static_cast<double>(l.high.count()) / static_cast<double>(l.low.count())) / kZ99;
    return l;
  }
  if (kind == "bimodal") {
    const auto comma = rest.find(',');
    const auto at = rest.find('@');
    if (comma == std::string_view::npos || at == std::string_view::npos || at < comma) {
      bad_latency(what, text, "bimodal needs FAST,SLOW@P%, e.g. 2ms,200ms@5%");
    }
    l.kind = LatencyKind::bimodal;
    l.low = part(what, text, rest.substr(0, comma));
    l.high = part(what, text, rest.substr(comma + 1, at - comma - 1));
    const auto p = rest.substr(at + 1);
    try {
      l.slow_fraction = parse_percent(p, what);
    } catch (const UsageError&) {
      bad_latency(what, text, "'" + std::string(p) + "' is not a percentage from 0% to 100%");
    }
    return l;
  }
  bad_latency(what, text, kForms);
}

std::chrono::nanoseconds sample(const Latency& l, Rng& rng) noexcept {
  switch (l.kind) {
    case LatencyKind::fixed:
      return l.low;
    case LatencyKind::uniform: {
      const auto span = static_cast<double>((l.high - l.low).count());
      return l.low + std::chrono::nanoseconds(static_cast<std::int64_t>(rng.uniform() * span));
    }
    case LatencyKind::lognormal: {
      // ln(delay) ~ N(ln(median), sigma^2); the tail is cut at kMaxDelay so a draw stays a
      // usable timer.
      const double ns = static_cast<double>(l.low.count()) * std::exp(l.sigma * rng.normal());
      const double cap = static_cast<double>(kMaxDelay.count());
      return std::chrono::nanoseconds(static_cast<std::int64_t>(std::min(ns, cap)));
    }
    case LatencyKind::bimodal:
      return rng.uniform() < l.slow_fraction ? l.high : l.low;
  }
  return l.low;
}

}  // namespace strain::target
