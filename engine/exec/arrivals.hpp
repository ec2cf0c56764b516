// Open-model arrival schedules: when each iteration of an arrival-rate scenario should start.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

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

// One worker's share of a scenario's arrivals, in order. The scenario's k-th arrival (k = 0, 1,
// ...) belongs to worker k % workers, so the workers' shares partition the scenario exactly.
class ArrivalSchedule {
 public:
  // `worker` < `workers`; every worker of a scenario must be given the same profile and seed.
  ArrivalSchedule(RateProfile profile, ArrivalProcess process, std::uint64_t seed,
                  std::uint32_t worker, std::uint32_t workers);

  // The next intended start of this worker's share, from the scenario start; nullopt once the
  // profile has ended (and from then on).
  std::optional<std::chrono::nanoseconds> next() noexcept;
  // The scenario-wide index k of the arrival next() last returned; only after it returned one.
  std::uint64_t index() const noexcept;

 private:
  double unit_exponential() noexcept;  // the next Exp(1) draw of the scenario-wide sequence

  RateProfile profile_;
  ArrivalProcess process_;
  std::uint32_t workers_;
  std::uint64_t next_k_;                // scenario-wide index of this worker's next arrival
  std::uint64_t drawn_ = 0;             // poisson: Exp(1) gaps drawn so far (= arrivals k < drawn_)
  double count_ = 0;                    // poisson: the running sum of those gaps
  std::array<std::uint64_t, 4> rng_{};  // xoshiro256** state
  bool ended_ = false;                  // next() has returned nullopt
};

}  // namespace strain
