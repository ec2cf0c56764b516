// Synthetic soak series at one sample a second: a garbage-collected heap (sawtooth over a live
// set that may leak, step, hump or restart), an fd count, a per-interval p99 and error rate.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "engine/soak/trend.hpp"

namespace strain::soak::synth {

constexpr double kMiB = 1024.0 * 1024.0;

// A heap: garbage arrives at churn_bytes_per_s (±30% each second); a collection happens when
// the garbage passes headroom_bytes (±20% each cycle) and leaves the live set plus floating
// garbage (uniform in [0, floating_bytes)).
struct Heap {
  double base_bytes = 200 * kMiB;      // live set at the start of each segment
  double leak_bytes_per_s = 0;         // live set growth once leaking
  double leak_start_s = 0;             // time the leak starts (in each segment's own time)
  double churn_bytes_per_s = 20e6;     // garbage made per second
  double headroom_bytes = 100 * kMiB;  // garbage that triggers a collection
  double floating_bytes = 4 * kMiB;    // survivors of a collection that are not live
  double hump_period_s = 0;            // a batch job every this often (0: none) ...
  double hump_bytes = 0;               // ... holds this much live ...
  double hump_length_s = 0;            // ... for this long
  double step_at_s = -1;               // a cache warms up at this time (negative: never) ...
  double step_bytes = 0;               // ... and holds this much from then on
  double fill_bytes = 0;               // a cache fills towards this much ...
  double fill_tau_s = 600;             // ... with this time constant (1 - e^-t/tau)
  double restart_at_s = -1;            // the process restarts here (segment 1; negative: never)
  double wander_bytes = 0;             // the live set wanders (AR(1)) with this spread ...
  double wander_tau_s = 600;           // ... and this correlation time
  double hump_chance_per_s = 0;        // batch jobs at random (Poisson) times instead
  double tenured_bytes_per_s = 0;      // garbage that survives young collections (old gen) ...
  double old_headroom_bytes = 0;       // ... until a full collection at this much (±20%)
};

// A 500 MiB service under moderate load: a collection every ~10 s, up to 8 MiB floating.
inline Heap steady_heap() {
  Heap h;
  h.base_bytes = 500 * kMiB;
  h.churn_bytes_per_s = 20e6;
  h.headroom_bytes = 200 * kMiB;
  h.floating_bytes = 8 * kMiB;
  return h;
}

// The same service under heavy churn: 60 MB/s of garbage, a collection every ~5 s, up to
// 40 MiB floating.
inline Heap churning_heap() {
  Heap h;
  h.base_bytes = 500 * kMiB;
  h.churn_bytes_per_s = 60e6;
  h.headroom_bytes = 300 * kMiB;
  h.floating_bytes = 40 * kMiB;
  return h;
}

inline std::vector<TrendPoint> heap(const Heap& h, double duration_s, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  const double hump_phase = u01(rng) * h.hump_period_s;
  std::vector<TrendPoint> out;
  out.reserve(static_cast<std::size_t>(duration_s) + 1);
  std::uint32_t segment = 0;
  double seg_start = 0;
  auto live = [&](double t) {
    const double own = t - seg_start;
    double v = h.base_bytes + h.leak_bytes_per_s * std::max(0.0, own - h.leak_start_s);
    if (h.hump_period_s > 0 && std::fmod(t + hump_phase, h.hump_period_s) < h.hump_length_s) {
      v += h.hump_bytes;
    }
    if (h.step_at_s >= 0 && t >= h.step_at_s) v += h.step_bytes;
    if (h.fill_bytes > 0) v += h.fill_bytes * (1 - std::exp(-t / h.fill_tau_s));
    return v;
  };
  std::normal_distribution<double> gauss(0.0, 1.0);
  double wander = h.wander_bytes > 0 ? h.wander_bytes * gauss(rng) : 0.0;
  const double keep = std::exp(-1.0 / h.wander_tau_s);
  double random_hump_until = -1;
  double tenured = 0;
  double old_trigger = h.old_headroom_bytes * (0.8 + 0.4 * u01(rng));
  double heap = live(0) + u01(rng) * h.floating_bytes;
  double trigger = h.headroom_bytes * (0.8 + 0.4 * u01(rng));
  for (double t = 0; t < duration_s; t += 1) {
    if (h.restart_at_s >= 0 && segment == 0 && t >= h.restart_at_s) {
      segment = 1;
      seg_start = t;
      heap = live(t) + u01(rng) * h.floating_bytes;
    }
    heap += h.churn_bytes_per_s * (0.7 + 0.6 * u01(rng));
    if (h.wander_bytes > 0) {
      wander = keep * wander + h.wander_bytes * std::sqrt(1 - keep * keep) * gauss(rng);
    }
    if (h.hump_chance_per_s > 0 && u01(rng) < h.hump_chance_per_s) {
      random_hump_until = t + h.hump_length_s;
    }
    if (h.tenured_bytes_per_s > 0) tenured += h.tenured_bytes_per_s * (0.7 + 0.6 * u01(rng));
    if (h.old_headroom_bytes > 0 && tenured > old_trigger) {
      tenured = 0;
      old_trigger = h.old_headroom_bytes * (0.8 + 0.4 * u01(rng));
    }
    const double l = live(t) + wander + tenured + (t < random_hump_until ? h.hump_bytes : 0.0);
    heap = std::max(heap, l);
    if (heap - l > trigger) {
      heap = l + u01(rng) * h.floating_bytes;
      trigger = h.headroom_bytes * (0.8 + 0.4 * u01(rng));
    }
    out.push_back({t, heap, segment});
  }
  return out;
}

// An fd count: base, plus one fd leaked every `leak_every` requests at `rps`, plus the
// connections in flight at the instant (0..in_flight_max, uniform).
inline std::vector<TrendPoint> fds(double base, double rps, double leak_every, int in_flight_max,
                                   double duration_s, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> in_flight(0, in_flight_max);
  std::vector<TrendPoint> out;
  for (double t = 0; t < duration_s; t += 1) {
    const double leaked = leak_every > 0 ? std::floor(t * rps / leak_every) : 0;
    out.push_back({t, base + leaked + in_flight(rng), 0});
  }
  return out;
}

// A flat integer series that is one off, either way, with probability `jitter` each second.
inline std::vector<TrendPoint> jittery_count(double base, double jitter, double duration_s,
                                             std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::vector<TrendPoint> out;
  for (double t = 0; t < duration_s; t += 1) {
    const double r = u01(rng);
    out.push_back({t, base + (r < jitter / 2 ? -1 : r < jitter ? 1 : 0), 0});
  }
  return out;
}

// A per-second p99 (ms): base * (1 + drift_per_hour * t/h), lognormal noise of `sigma`, and a
// stall 5x as slow in 1% of the seconds.
inline std::vector<TrendPoint> p99(double base_ms, double drift_per_hour, double sigma,
                                   double duration_s, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, sigma);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::vector<TrendPoint> out;
  for (double t = 0; t < duration_s; t += 1) {
    double v = base_ms * (1 + drift_per_hour * t / 3600) * std::exp(noise(rng));
    if (u01(rng) < 0.01) v *= 5;
    out.push_back({t, v, 0});
  }
  return out;
}

// A per-second error rate at `rps` requests: each fails with probability p0 + rise_per_hour*t/h.
inline std::vector<TrendPoint> error_rate(double p0, double rise_per_hour, int rps,
                                          double duration_s, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<TrendPoint> out;
  for (double t = 0; t < duration_s; t += 1) {
    std::binomial_distribution<int> failed(rps,
                                           std::clamp(p0 + rise_per_hour * t / 3600, 0.0, 1.0));
    out.push_back({t, static_cast<double>(failed(rng)) / rps, 0});
  }
  return out;
}

}  // namespace strain::soak::synth
