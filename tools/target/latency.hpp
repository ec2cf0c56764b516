// Latency distributions for strain-target: --latency and ?latency= parsed once, sampled per
// request.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "tools/target/rng.hpp"

namespace strain::target {

enum class LatencyKind : std::uint8_t { fixed, uniform, lognormal, bimodal };

// A parsed latency. Plain data; every duration in it is at most kMaxDelay (behaviour.hpp).
struct Latency {
  LatencyKind kind = LatencyKind::fixed;
  // fixed: the delay; uniform: the low end; lognormal: the median; bimodal: the fast mode
  std::chrono::nanoseconds low{0};
  // uniform: the high end; lognormal: the 99th percentile; bimodal: the slow mode
  std::chrono::nanoseconds high{0};
  double slow_fraction = 0;  // bimodal: probability of the slow mode, 0..1
  double sigma = 0;          // lognormal: ln(p99 / median) / z(0.99), derived from the two

  static Latency fixed(std::chrono::nanoseconds delay) noexcept {
    Latency l;
    l.low = delay;
    return l;
  }
  // A fixed latency needs no draw (and a zero one no timer).
  bool is_fixed() const noexcept { return kind == LatencyKind::fixed; }

  friend bool operator==(const Latency&, const Latency&) = default;
};

// Parses "2ms" or "fixed:2ms", "uniform:1ms..5ms", "lognormal:10ms,p99=80ms" (median and 99th
// percentile), "bimodal:2ms,200ms@5%" (the slow mode 5% of the time). Throws UsageError naming
// `what` and quoting `text` on anything else, on a duration over 1h, on low > high, or on
// p99 <= median.
Latency parse_latency(std::string_view text, std::string_view what);

// One delay drawn from `latency`: at most one or two draws from `rng`, none for a fixed one.
// Lognormal draws are capped at kMaxDelay.
std::chrono::nanoseconds sample(const Latency& latency, Rng& rng) noexcept;

}  // namespace strain::target
