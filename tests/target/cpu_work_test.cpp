#include "tools/target/cpu_work.hpp"

#include <doctest/doctest.h>

#include <ctime>
#include <thread>

using namespace std::chrono_literals;
using strain::target::burn_cpu;
using strain::target::thread_cpu_time;

namespace {

// The whole process's CPU time: a clock the burner never reads.
std::chrono::nanoseconds process_cpu_time() {
  timespec ts{};
  REQUIRE(::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

// Only CPU time is bounded above, never wall time: a preempted burn on a busy machine takes
// longer but costs the same CPU.
TEST_CASE("cpu work: burns at least the thread CPU time asked, and not wildly more") {
  for (const auto work : {1ms, 5ms, 20ms}) {
    CAPTURE(work.count());
    const auto process_before = process_cpu_time();
    const auto before = thread_cpu_time();
    const auto used = burn_cpu(work);
    const auto burnt = thread_cpu_time() - before;
    const auto process_burnt = process_cpu_time() - process_before;
    CHECK(burnt >= work);
    CHECK(burnt < 3 * work + 2ms);
    // The figure it reports lies within what the clocks around the call saw.
    CHECK(used >= work);
    CHECK(used <= burnt);
    // The process clock counts this thread too (and anything else running in the process).
    CHECK(process_burnt >= work);
  }
}

TEST_CASE("cpu work: nothing asked, nothing burnt") {
  CHECK(burn_cpu(0ns) == 0ns);
  CHECK(burn_cpu(-1ms) == 0ns);
}

TEST_CASE("cpu work: burnt on the calling thread only") {
  std::chrono::nanoseconds burnt{0};
  const auto before = thread_cpu_time();
  std::thread worker([&burnt] {
    const auto start = thread_cpu_time();
    burn_cpu(10ms);
    burnt = thread_cpu_time() - start;
  });
  worker.join();  // blocks without spinning: this thread's clock barely moves
  const auto here = thread_cpu_time() - before;
  CHECK(burnt >= 10ms);
#if defined(__SANITIZE_THREAD__)
  CHECK(here < 25ms);  // ThreadSanitizer's bookkeeping of a thread's start and join
#else
  CHECK(here < 5ms);
#endif
}
