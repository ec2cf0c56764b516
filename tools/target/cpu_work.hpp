// --cpu-work: real CPU time burnt on the serving thread, so a stress test can saturate cores.
#pragma once

#include <chrono>

namespace strain::target {

// The calling thread's CPU time so far (CLOCK_THREAD_CPUTIME_ID): user and system time on a
// core, never time spent waiting or preempted.
std::chrono::nanoseconds thread_cpu_time() noexcept;

// Hashes on the calling thread until its own CPU clock has advanced by at least `work`, and
// returns by how much it advanced (a few microseconds over `work`; 0 at once for `work` <= 0).
// Blocks the thread meanwhile: a worker serves nothing else.
std::chrono::nanoseconds burn_cpu(std::chrono::nanoseconds work) noexcept;

}  // namespace strain::target
