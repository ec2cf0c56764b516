#include "engine/schedule/arrivals.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <utility>

#include "engine/core/assert.hpp"

namespace strain {

namespace {

double seconds(std::chrono::nanoseconds d) noexcept {
  return static_cast<double>(d.count()) * 1e-9;
}

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Time into a stage (seconds) at which its own integral reaches `c`, 0 <= c < area. The
// integral is r0*s + (a/2)*s^2 with a = (r1 - r0) / T. The textbook root (-r0 + sqrt(...)) / a
// cancels badly when a is small and divides by zero when it is 0; the conjugate form
// 2c / (r0 + sqrt(r0^2 + 2ac)) is the same root without either problem.
double solve_in_stage(double r0, double r1, double len_s, double area, double c) noexcept {
  if (r1 >= r0) {
    const double a = (r1 - r0) / len_s;
    const double den = r0 + std::sqrt(r0 * r0 + 2 * a * c);
    return den > 0 ? 2 * c / den : 0;
  }
  // A falling rate makes r0^2 + 2ac a difference that vanishes as the rate nears 0. Solve from
  // the stage's end instead: stepping back from it the rate rises, so the sum stays positive.
  const double a = (r0 - r1) / len_s;
  const double rest = std::max(area - c, 0.0);
  const double den = r1 + std::sqrt(r1 * r1 + 2 * a * rest);
  return len_s - (den > 0 ? 2 * rest / den : 0);
}

}  // namespace

std::chrono::nanoseconds profile_length(const RateProfile& p) noexcept {
  std::chrono::nanoseconds sum{0};
  for (const RateStage& st : p.stages)
    sum += st.duration;
  return sum;
}

double expected_arrivals(const RateProfile& p, std::chrono::nanoseconds t) noexcept {
  double sum = 0;
  double from = p.start_per_s;
  std::chrono::nanoseconds offset{0};
  if (t <= offset) return 0;
  for (const RateStage& st : p.stages) {
    const double len_s = seconds(st.duration);
    if (t < offset + st.duration) {
      // The rate is linear within the stage, so its integral up to s is a trapezoid.
      const double s = seconds(t - offset);
      const double rate_at_s = from + (st.target_per_s - from) * (s / len_s);
      return sum + s * (from + rate_at_s) / 2;
    }
    sum += len_s * (from + st.target_per_s) / 2;
    offset += st.duration;
    from = st.target_per_s;
  }
  return sum;
}

namespace {

// Where a count falls: the stage holding it and that stage's start, walked from a given stage.
struct StageWalk {
  std::size_t stage = 0;           // the stage to look in
  double sum = 0;                  // expected arrivals before it
  std::chrono::nanoseconds offset{0};  // when it starts
  double from = 0;                 // the rate at its start
};

// The time of `count` arrivals, walking on from `w` (which it leaves at the stage found). Every
// worker walks the same stages in the same order, so their sums and times agree bit for bit.
std::optional<std::chrono::nanoseconds> walk_to(const RateProfile& p, double count, StageWalk& w) {
  if (!(count >= 0)) count = 0;
  for (; w.stage < p.stages.size(); ++w.stage) {
    const RateStage& st = p.stages[w.stage];
    const double len_s = seconds(st.duration);
    const double area = len_s * (w.from + st.target_per_s) / 2;
    // Strictly below the stage's end: a count reached exactly at a boundary belongs to the
    // next stage with positive rate, which is what skips zero-rate stretches. "Exactly" allows
    // for rounding: 500/s for 30 s sums to 15000.000000000002, and must offer 15000, not 15001.
    const double end = w.sum + area;
    if (count < end - 1e-9 * std::max(1.0, end)) {
      const double s = std::clamp(
          solve_in_stage(w.from, st.target_per_s, len_s, area, count - w.sum), 0.0, len_s);
      const auto at = w.offset + std::chrono::nanoseconds(
                                     static_cast<std::chrono::nanoseconds::rep>(std::llround(s * 1e9)));
      // Rounding must not push an arrival of [0, end) onto the end itself.
      return std::min(at, profile_length(p) - std::chrono::nanoseconds(1));
    }
    w.sum += area;
    w.offset += st.duration;
    w.from = st.target_per_s;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::chrono::nanoseconds> time_of_arrivals(const RateProfile& p,
                                                         double count) noexcept {
  StageWalk w;
  w.from = p.start_per_s;
  return walk_to(p, count, w);
}

RateProfile rate_from(const RateProfile& p, std::chrono::nanoseconds at, double per_s) {
  const std::chrono::nanoseconds length = profile_length(p);
  if (at >= length) return p;
  if (at.count() < 0) at = std::chrono::nanoseconds(0);
  RateProfile out;
  out.start_per_s = p.start_per_s;
  double from = p.start_per_s;
  std::chrono::nanoseconds offset{0};
  for (const RateStage& st : p.stages) {
    if (offset + st.duration <= at) {
      out.stages.push_back(st);
      offset += st.duration;
      from = st.target_per_s;
      continue;
    }
    // The stage holding `at` ends there, at the rate its line reaches; before `at` the
    // integral is the same trapezoid as before, so arrivals already due do not move.
    const auto cut = at - offset;
    if (cut.count() > 0) {
      const double f = static_cast<double>(cut.count()) / static_cast<double>(st.duration.count());
      out.stages.push_back(RateStage{cut, from + (st.target_per_s - from) * f});
    }
    break;
  }
  out.stages.push_back(RateStage{std::chrono::nanoseconds(0), per_s});  // the jump
  out.stages.push_back(RateStage{length - at, per_s});
  return out;
}

ArrivalSchedule::ArrivalSchedule(RateProfile profile, ArrivalProcess process, std::uint64_t seed,
                                 ArrivalSplit split)
    : profile_(std::move(profile)), process_(process), split_(split) {
  STRAIN_ASSERT(std::isfinite(profile_.start_per_s) && profile_.start_per_s >= 0);
  for ([[maybe_unused]] const RateStage& st : profile_.stages) {
    STRAIN_ASSERT(st.duration.count() >= 0);
    STRAIN_ASSERT(std::isfinite(st.target_per_s) && st.target_per_s >= 0);
  }
  for (std::uint64_t& word : rng_)
    word = splitmix64(seed);
  stage_from_ = profile_.start_per_s;
}

std::optional<std::chrono::nanoseconds> ArrivalSchedule::time_of(double count) noexcept {
  if (count < stage_sum_) {  // after a retime: walk again from the first stage
    stage_ = 0;
    stage_sum_ = 0;
    stage_offset_ = std::chrono::nanoseconds(0);
    stage_from_ = profile_.start_per_s;
  }
  StageWalk w{stage_, stage_sum_, stage_offset_, stage_from_};
  const auto at = walk_to(profile_, count, w);
  stage_ = w.stage;
  stage_sum_ = w.sum;
  stage_offset_ = w.offset;
  stage_from_ = w.from;
  return at;
}

std::optional<std::chrono::nanoseconds> ArrivalSchedule::next() noexcept {
  if (ended_) return std::nullopt;
  const std::optional<std::uint64_t> k = split_.first_from(next_k_);
  if (!k) {
    ended_ = true;
    return std::nullopt;
  }
  double count = static_cast<double>(*k);
  if (process_ == ArrivalProcess::poisson) {
    // Time rescaling: unit-rate exponential gaps summed in expected-count space, mapped back
    // through the integral's inverse, give a Poisson process of exactly the profile's rate.
    // Every worker draws every gap of the scenario in the same order, so their running sums
    // agree bit for bit and each keeps its own arrivals of one and the same process.
    while (drawn_ <= *k) {
      count_ += unit_exponential();
      ++drawn_;
    }
    count = count_;
  }
  const auto at = time_of(count);
  if (!at) {
    ended_ = true;
    return std::nullopt;
  }
  last_k_ = *k;
  last_count_ = count;
  next_k_ = *k + 1;
  return at;
}

std::uint64_t ArrivalSchedule::index() const noexcept {
  STRAIN_ASSERT(last_count_ >= 0);
  return last_k_;
}

std::optional<std::chrono::nanoseconds> ArrivalSchedule::retime(RateProfile profile,
                                                                bool pending) noexcept {
  profile_ = std::move(profile);
  stage_sum_ = INFINITY;  // forces time_of() to walk from the first stage
  // A schedule that ran out (a rate of 0 to the end, say) may have arrivals again.
  ended_ = false;
  if (!pending || last_count_ < 0) return std::nullopt;
  const auto at = time_of(last_count_);
  // It no longer falls in the profile: next() looks for it again (under a later profile it may).
  if (!at) next_k_ = last_k_;
  return at;
}

double ArrivalSchedule::unit_exponential() noexcept {
  // xoshiro256**; the top 53 bits make u uniform on [0, 1), so 1 - u is never 0 and the
  // inverse CDF -log(1 - u) is finite. log1p keeps the small gaps accurate.
  const std::uint64_t result = std::rotl(rng_[1] * 5, 7) * 9;
  const std::uint64_t t = rng_[1] << 17;
  rng_[2] ^= rng_[0];
  rng_[3] ^= rng_[1];
  rng_[1] ^= rng_[2];
  rng_[0] ^= rng_[3];
  rng_[2] ^= t;
  rng_[3] = std::rotl(rng_[3], 45);
  const double u = static_cast<double>(result >> 11) * 0x1.0p-53;
  return -std::log1p(-u);
}

}  // namespace strain
