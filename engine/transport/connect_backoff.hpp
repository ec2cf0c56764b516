// How long a session waits before connecting again after its connects failed: pure functions.
#pragma once

#include <algorithm>
#include <cstdint>

namespace strain {

// Without a wait, a closed-loop VU retries a refused connect at once, forever: two cores made
// ~117,000 connects a second to a refused port, enough to hammer a service that is restarting.
// So each consecutive failed connect doubles the longest wait, from first_ns up to cap_ns, and a
// successful connect starts over. 5 ms first: a blip costs little; 1 s cap: a target that comes
// back is found within a second.
//
// Equal jitter: half the ceiling is always waited, the other half is drawn at random. Full jitter
// (uniform on [0, ceiling]) spreads retries a little better, but a draw near zero lets a VU come
// straight back; the floor makes the worst case a bound (after the cap, at most two connects a
// second per VU, whatever the draws), while the random half still scatters the VUs that failed
// together (a restart fails them all at once), so they do not return in lockstep.
struct BackoffSchedule {
  std::int64_t first_ns = 5'000'000;    // the ceiling after one failed connect; 0: never wait
  std::int64_t cap_ns = 1'000'000'000;  // the ceiling after many

  bool enabled() const { return first_ns > 0; }

  // The longest wait after `failures` (>= 1) consecutive failed connects.
  std::int64_t ceiling_ns(std::uint32_t failures) const {
    std::int64_t ceiling = std::min(first_ns, cap_ns);
    for (std::uint32_t i = 1; i < failures && ceiling < cap_ns; ++i) {
      ceiling = ceiling > cap_ns / 2 ? cap_ns : ceiling * 2;
    }
    return ceiling;
  }

  // The wait: ceiling/2 (rounded up) plus `random` (any uniform 64-bit draw) reduced onto
  // [0, ceiling/2]; so within [ceiling/2, ceiling].
  std::int64_t wait_ns(std::uint32_t failures, std::uint64_t random) const {
    const std::int64_t ceiling = ceiling_ns(failures);
    const std::int64_t half = ceiling / 2;
    return ceiling - half +
           static_cast<std::int64_t>(random % static_cast<std::uint64_t>(half + 1));
  }
};

// splitmix64: one word of state, uniform enough to spread jitter; for nothing that needs more.
inline std::uint64_t next_random(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace strain
