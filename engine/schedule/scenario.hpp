// Scenarios as plain data, and the schedule arithmetic every worker shares.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/schedule/arrivals.hpp"

namespace strain {

// Closed-model executors start an iteration when a VU is free; open-model (arrival-rate) ones
// start iterations on a schedule, whatever the target does.
enum class ExecutorKind : std::uint8_t {
  constant_vus,           // `vus` VUs loop for `duration`
  ramping_vus,            // VUs follow `stages`, linearly between targets
  per_vu_iterations,      // each of `vus` VUs runs `iterations` iterations
  shared_iterations,      // `vus` VUs share `iterations` iterations between them
  constant_arrival_rate,  // `rate` iterations per `time_unit` for `duration`
  ramping_arrival_rate,   // the rate follows `rate_stages` from `start_rate`
};

inline bool is_arrival_rate(ExecutorKind kind) noexcept {
  return kind == ExecutorKind::constant_arrival_rate || kind == ExecutorKind::ramping_arrival_rate;
}

const char* to_string(ExecutorKind kind) noexcept;
std::optional<ExecutorKind> executor_from_string(std::string_view name) noexcept;

// One step of a ramp: move linearly to `target` VUs over `duration`.
struct Stage {
  std::chrono::nanoseconds duration{0};  // length of the step
  std::uint32_t target = 0;              // VUs at its end
};

struct Scenario {
  std::string name = "default";                        // stats tag `scenario`
  ExecutorKind executor = ExecutorKind::constant_vus;  // load model
  std::string exec = "default";                        // global function each iteration runs
  std::uint32_t vus = 1;                               // all but ramping-vus
  std::uint32_t start_vus = 0;                         // ramping-vus: VUs at the start
  std::vector<Stage> stages;                           // ramping-vus
  std::chrono::nanoseconds duration{0};                // constant-vus
  std::uint64_t iterations = 0;                        // per VU, or shared in all
  std::chrono::nanoseconds max_duration{std::chrono::minutes(10)};  // iteration executors' cap
  std::chrono::nanoseconds start_time{0};  // offset from the start of the run
  std::chrono::nanoseconds graceful_stop{std::chrono::seconds(30)};  // to finish iterations
  std::map<std::string, std::string> tags;  // on every request of the scenario
  // Closed executors, when steered (strain stress --vus-search): at most this many of the VUs
  // run from the start, until Controller::set_vus moves the line; 0 = no line. Every VU is
  // still made at the start, so the line can rise without making any.
  std::uint32_t vus_cap = 0;

  // Arrival-rate executors. Rates are per second (time_unit is applied when options are read).
  double rate_per_s = 0;               // constant-arrival-rate
  double start_rate_per_s = 0;         // ramping-arrival-rate: at the start
  std::vector<RateStage> rate_stages;  // ramping-arrival-rate
  ArrivalProcess arrival = ArrivalProcess::uniform;
  std::uint64_t seed = 0x5eed;         // poisson: the same seed gives the same arrivals
  std::uint32_t preallocated_vus = 0;  // VUs made at the start
  std::uint32_t max_vus = 0;           // more are made when none is free, up to this
  std::uint64_t backlog_limit = 0;     // arrivals waiting for a VU; 0 = default_backlog
};

// Arrival-rate scenarios: the schedule's rate over time.
RateProfile rate_profile(const Scenario& s);
// How many arrivals may wait for a free VU, all workers together, unless the scenario says.
// Ten seconds of the peak rate, at least 10,000 and at most 10,000,000 (8 bytes each).
std::uint64_t default_backlog(const Scenario& s) noexcept;
// The highest rate the profile reaches, per second.
double peak_rate_per_s(const Scenario& s) noexcept;

// How long the scenario starts iterations: duration, the stages' sum, or max_duration.
std::chrono::nanoseconds active_length(const Scenario& s) noexcept;
// When the scenario stops starting iterations, from the start of the run.
inline std::chrono::nanoseconds end_offset(const Scenario& s) noexcept {
  return s.start_time + active_length(s);
}
// Most VUs the scenario ever runs (arrival-rate: max_vus).
std::uint32_t peak_vus(const Scenario& s) noexcept;
// ramping-vus: VUs wanted `since_start` into the scenario (linear within a stage, rounded
// down, as k6 does); the last stage's target after the end.
std::uint32_t ramping_vus_at(const Scenario& s, std::chrono::nanoseconds since_start) noexcept;

}  // namespace strain
