#include "tools/target/cpu_work.hpp"

#include <cstdint>
#include <ctime>

namespace strain::target {
namespace {

// Hashes between two reads of the clock: a few microseconds of work, so the overshoot stays
// small against any --cpu-work worth asking for while the clock read (a system call) costs
// a small share of it.
constexpr std::uint64_t kHashesPerCheck = 1024;

// Every burn ends by storing its digest here. A volatile store must happen, so the hashing
// that feeds it cannot be dropped; starting from the last digest, no burn can be computed
// ahead of time either. One per thread: workers neither race nor share its cache line.
thread_local volatile std::uint64_t digest_sink = 0;

// The splitmix64 finaliser: each round depends on the last, so the work cannot be
// vectorised or run ahead.
std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace

std::chrono::nanoseconds thread_cpu_time() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

std::chrono::nanoseconds burn_cpu(std::chrono::nanoseconds work) noexcept {
  if (work.count() <= 0) return std::chrono::nanoseconds(0);
  const auto start = thread_cpu_time();
  std::uint64_t h = digest_sink;
  std::chrono::nanoseconds used{0};
  // The thread's own clock, not the wall clock: on a busy machine a preempted burn still
  // costs exactly `work` of CPU, which is what a test of CPU saturation needs to rely on.
  do {
    for (std::uint64_t i = 0; i < kHashesPerCheck; ++i)
      h = mix(h + i);
    used = thread_cpu_time() - start;
  } while (used < work);
  digest_sink = h;
  return used;
}

}  // namespace strain::target
