// The one monotonic clock every timestamp in the engine comes from.
#pragma once

#include <chrono>
#include <cstdint>

namespace strain {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Nanos = std::chrono::nanoseconds;
using Micros = std::chrono::microseconds;

// Monotonic nanoseconds since an arbitrary epoch; a vDSO call, ~20 ns.
inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<Nanos>(Clock::now().time_since_epoch()).count();
}

}  // namespace strain
