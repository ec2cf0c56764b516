// --phases: the per-request defaults cycle through named phases (healthy, slow, failing...).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tools/target/behaviour.hpp"
#include "tools/target/stats.hpp"

namespace strain::target {

// Bounds on one phase's length: long enough to mean something, short enough to come round.
inline constexpr std::chrono::nanoseconds kMinPhase = std::chrono::milliseconds(100);
inline constexpr std::chrono::nanoseconds kMaxPhase = std::chrono::hours(24);
// A slot whose request belongs to no phase (--phases is off, or it is /__strain/stats).
inline constexpr std::uint8_t kNoPhase = 0xff;
static_assert(kMaxPhases < kNoPhase);

// One phase. Plain data.
struct Phase {
  std::string name;                    // a label: letters, digits, '_', '-', '.'
  std::chrono::nanoseconds length{0};  // how long it lasts in each cycle
  std::chrono::nanoseconds offset{0};  // where it begins in each cycle
  std::string query;                   // its parameters as given; "" for the flags' defaults
  Behaviour behaviour;                 // the flags' defaults with `query` applied
};

// Phase i is in force during [k*cycle + offset_i, k*cycle + offset_i + length_i) after the server
// starts listening, k = 0, 1, ...: the phases in order, again and again. Pure arithmetic, any
// thread.
struct PhaseSchedule {
  std::vector<Phase> phases;          // in order; empty: no phases
  std::chrono::nanoseconds cycle{0};  // the lengths summed

  bool enabled() const noexcept { return !phases.empty(); }
  // The index of the phase in force `since_start` after the start (a time before it: phase 0).
  std::size_t at(std::chrono::nanoseconds since_start) const noexcept;
  // How many times phase i has begun within `uptime` of the start (phase 0: once at 0).
  std::uint64_t entered(std::size_t i, std::chrono::nanoseconds uptime) const noexcept;
  // Some phase sets a fault or trickle rate (the exit line then always shows the fault counts).
  bool any_faults() const noexcept;
};

// Parses "60s:healthy; 60s:slow?latency=250ms; 60s:failing?error_rate=500:20%&reset_rate=2%":
// up to kMaxPhases phases separated by ';' (spaces around them ignored), each
// DURATION:NAME[?QUERY]. QUERY takes the query parameters of resolve_behaviour, applied over
// `defaults`; an unknown parameter is an error here (a typo must not pass for a phase). Throws
// UsageError starting with `what` and naming the phase.
PhaseSchedule parse_phases(std::string_view text, const Behaviour& defaults, std::string_view what);

}  // namespace strain::target
