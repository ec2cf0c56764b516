// Open-model arrival schedules: when each iteration of an arrival-rate scenario should start.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/schedule/share.hpp"

namespace strain {

// How arrivals are spread: evenly spaced, or a (possibly time-varying) Poisson process.
enum class ArrivalProcess : std::uint8_t { uniform, poisson };

// One step of a rate ramp: move linearly to `target_per_s` over `duration`.
struct RateStage {
  std::chrono::nanoseconds duration{0};  // length of the step (0 = jump)
  double target_per_s = 0;               // arrivals per second at its end
};

// Rate over time: `start_per_s` at 0, then linear through each stage; ends with the last stage.
// constant-arrival-rate is one stage whose target equals the start.
struct RateProfile {
  double start_per_s = 0;         // arrivals per second at the scenario start
  std::vector<RateStage> stages;  // in order; the profile lasts their summed durations
};

// The profile's length: the sum of its stages' durations.
std::chrono::nanoseconds profile_length(const RateProfile& p) noexcept;
// Expected arrivals in [0, t): the integral of the rate. 0 before the start, the total after.
double expected_arrivals(const RateProfile& p, std::chrono::nanoseconds t) noexcept;
// Inverse of expected_arrivals: the last time the integral is still <= `count` (so zero-rate
// stretches are skipped), rounded to the ns; nullopt when `count` >= the profile's total.
std::optional<std::chrono::nanoseconds> time_of_arrivals(const RateProfile& p,
                                                         double count) noexcept;
// The profile with its rate changed to `per_s` at `at` (from its start): the same before `at`,
// then `per_s` until the profile's end, which does not move. `at` past the end: unchanged.
RateProfile rate_from(const RateProfile& p, std::chrono::nanoseconds at, double per_s);

// One worker's share of a scenario's arrivals, in order: the scenario's k-th arrival (k = 0, 1,
// ...) belongs to the worker whose ArrivalSplit owns k, so the workers' shares partition the
// scenario exactly.
class ArrivalSchedule {
 public:
  // Every worker of a scenario must be given the same profile, process, seed and split size.
  ArrivalSchedule(RateProfile profile, ArrivalProcess process, std::uint64_t seed,
                  ArrivalSplit split);

  // The next intended start of this worker's share, from the scenario start; nullopt once the
  // profile has ended (and from then on).
  std::optional<std::chrono::nanoseconds> next() noexcept;
  // The scenario-wide index k of the arrival next() last returned; only after it returned one.
  std::uint64_t index() const noexcept;
  // Replaces the profile with one that agrees with it up to now (see rate_from): arrivals not
  // yet handed out follow the new one, and each keeps its index, so the workers still
  // partition the scenario. `pending`: the arrival next() last returned has not been handed
  // out yet; its new time is returned (it moves when it was past the change), or nullopt when
  // it no longer falls in the profile (then next() looks for it again). With nothing pending,
  // returns nullopt and next() goes on under the new profile, even after it had run out.
  std::optional<std::chrono::nanoseconds> retime(RateProfile profile, bool pending) noexcept;
  const RateProfile& profile() const noexcept { return profile_; }

 private:
  double unit_exponential() noexcept;  // the next Exp(1) draw of the scenario-wide sequence
  std::optional<std::chrono::nanoseconds> time_of(double count) noexcept;

  RateProfile profile_;
  ArrivalProcess process_;
  ArrivalSplit split_;
  std::uint64_t next_k_ = 0;            // scenario-wide index to look for this worker's next from
  std::uint64_t last_k_ = 0;            // index of the arrival next() last returned
  double last_count_ = -1;              // its place in expected-count space; < 0: none yet
  std::uint64_t drawn_ = 0;             // poisson: Exp(1) gaps drawn so far (= arrivals k < drawn_)
  double count_ = 0;                    // poisson: the running sum of those gaps
  std::array<std::uint64_t, 4> rng_{};  // xoshiro256** state
  bool ended_ = false;                  // next() has returned nullopt
  // Where time_of() last found its count: counts only grow between retimes, so each arrival
  // resumes the walk over the stages there instead of from the first (ramps may have 1000).
  std::size_t stage_ = 0;               // the stage the last count fell in
  double stage_sum_ = 0;                // expected arrivals before that stage
  std::chrono::nanoseconds stage_offset_{0};  // when that stage starts
  double stage_from_ = 0;                     // the rate at its start
};

}  // namespace strain
