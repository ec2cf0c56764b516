#include "engine/schedule/scenario.hpp"

#include <algorithm>

namespace strain {

const char* to_string(ExecutorKind kind) noexcept {
  switch (kind) {
    case ExecutorKind::constant_vus:
      return "constant-vus";
    case ExecutorKind::ramping_vus:
      return "ramping-vus";
    case ExecutorKind::per_vu_iterations:
      return "per-vu-iterations";
    case ExecutorKind::shared_iterations:
      return "shared-iterations";
    case ExecutorKind::constant_arrival_rate:
      return "constant-arrival-rate";
    case ExecutorKind::ramping_arrival_rate:
      return "ramping-arrival-rate";
  }
  return "constant-vus";
}

std::optional<ExecutorKind> executor_from_string(std::string_view name) noexcept {
  for (auto kind : {ExecutorKind::constant_vus, ExecutorKind::ramping_vus,
                    ExecutorKind::per_vu_iterations, ExecutorKind::shared_iterations,
                    ExecutorKind::constant_arrival_rate, ExecutorKind::ramping_arrival_rate}) {
    if (name == to_string(kind)) return kind;
  }
  return std::nullopt;
}

std::chrono::nanoseconds active_length(const Scenario& s) noexcept {
  switch (s.executor) {
    case ExecutorKind::constant_vus:
    case ExecutorKind::constant_arrival_rate:
      return s.duration;
    case ExecutorKind::ramping_arrival_rate: {
      std::chrono::nanoseconds sum{0};
      for (const RateStage& st : s.rate_stages)
        sum += st.duration;
      return sum;
    }
    case ExecutorKind::ramping_vus: {
      std::chrono::nanoseconds sum{0};
      for (const Stage& st : s.stages)
        sum += st.duration;
      return sum;
    }
    case ExecutorKind::per_vu_iterations:
    case ExecutorKind::shared_iterations:
      return s.max_duration;
  }
  return s.duration;
}

std::uint32_t peak_vus(const Scenario& s) noexcept {
  if (is_arrival_rate(s.executor)) return std::max(s.max_vus, s.preallocated_vus);
  if (s.executor != ExecutorKind::ramping_vus) return s.vus;
  std::uint32_t peak = s.start_vus;
  for (const Stage& st : s.stages)
    peak = std::max(peak, st.target);
  return peak;
}

std::uint32_t ramping_vus_at(const Scenario& s, std::chrono::nanoseconds since_start) noexcept {
  std::uint32_t from = s.start_vus;
  std::chrono::nanoseconds offset{0};
  for (const Stage& st : s.stages) {
    if (since_start < offset + st.duration) {
      // Linear between the previous target and this one; a zero-length stage jumps.
      const double f = static_cast<double>((since_start - offset).count()) /
                       static_cast<double>(st.duration.count());
      const double v = static_cast<double>(from) +
                       (static_cast<double>(st.target) - static_cast<double>(from)) * f;
      return static_cast<std::uint32_t>(v < 0 ? 0 : v);
    }
    offset += st.duration;
    from = st.target;
  }
  return from;
}

RateProfile rate_profile(const Scenario& s) {
  RateProfile p;
  if (s.executor == ExecutorKind::constant_arrival_rate) {
    p.start_per_s = s.rate_per_s;
    p.stages.push_back(RateStage{s.duration, s.rate_per_s});
  } else {
    p.start_per_s = s.start_rate_per_s;
    p.stages = s.rate_stages;
  }
  return p;
}

double peak_rate_per_s(const Scenario& s) noexcept {
  if (s.executor == ExecutorKind::constant_arrival_rate) return s.rate_per_s;
  double peak = s.start_rate_per_s;
  for (const RateStage& st : s.rate_stages)
    peak = std::max(peak, st.target_per_s);
  return peak;
}

std::uint64_t default_backlog(const Scenario& s) noexcept {
  const double ten_seconds = peak_rate_per_s(s) * 10.0;
  if (!(ten_seconds < 1e7)) return 10'000'000;
  return std::max<std::uint64_t>(10'000, static_cast<std::uint64_t>(ten_seconds));
}

}  // namespace strain
