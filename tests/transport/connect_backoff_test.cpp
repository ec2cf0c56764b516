// The back-off schedule against its written definition: ceilings by plain doubling, waits
// inside [ceiling/2, ceiling], and the worst-case connect count a closed loop can reach.
#include "engine/transport/connect_backoff.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <vector>

using strain::BackoffSchedule;

namespace {
constexpr std::int64_t kMs = 1'000'000;
}  // namespace

TEST_CASE("back-off ceilings: 5 ms doubling per failed connect, capped at 1 s") {
  const BackoffSchedule schedule;  // the defaults
  const std::vector<std::int64_t> expected_ms = {5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000};
  for (std::uint32_t failures = 1; failures <= expected_ms.size(); ++failures) {
    CAPTURE(failures);
    CHECK(schedule.ceiling_ns(failures) == expected_ms[failures - 1] * kMs);
  }
  CHECK(schedule.ceiling_ns(64) == 1000 * kMs);
  CHECK(schedule.ceiling_ns(std::numeric_limits<std::uint32_t>::max()) == 1000 * kMs);
  CHECK(schedule.enabled());
  CHECK_FALSE(BackoffSchedule{0, 1000 * kMs}.enabled());
}

TEST_CASE("back-off waits: equal jitter, within [ceiling/2, ceiling], both ends reachable") {
  const BackoffSchedule schedule{5 * kMs, 1000 * kMs};
  std::uint64_t state = 42;
  for (std::uint32_t failures = 1; failures <= 12; ++failures) {
    CAPTURE(failures);
    const std::int64_t ceiling = schedule.ceiling_ns(failures);
    const std::int64_t half = ceiling / 2;
    CHECK(schedule.wait_ns(failures, 0) == ceiling - half);
    CHECK(schedule.wait_ns(failures, static_cast<std::uint64_t>(half)) == ceiling);
    std::int64_t low = ceiling;
    std::int64_t high = 0;
    for (int i = 0; i < 2000; ++i) {
      const std::int64_t wait = schedule.wait_ns(failures, strain::next_random(state));
      REQUIRE(wait >= ceiling - half);
      REQUIRE(wait <= ceiling);
      low = std::min(low, wait);
      high = std::max(high, wait);
    }
    // The draws spread over the range rather than sticking to one value.
    CHECK(high - low > half / 2);
  }
}

TEST_CASE("back-off: no overflow with extreme settings") {
  const BackoffSchedule huge{1, std::numeric_limits<std::int64_t>::max()};
  CHECK(huge.ceiling_ns(63) == std::int64_t{1} << 62);
  CHECK(huge.ceiling_ns(200) == std::numeric_limits<std::int64_t>::max());
  CHECK(huge.wait_ns(200, ~std::uint64_t{0}) > 0);
  const BackoffSchedule first_above_cap{5000 * kMs, 1000 * kMs};
  CHECK(first_above_cap.ceiling_ns(1) == 1000 * kMs);
}

TEST_CASE("back-off floor: a closed loop against a refused port makes at most 9 connects in 1 s") {
  // The bound native_client_test asserts, derived here from the floors alone: connect k+1 comes
  // no sooner than the sum of the first k floors after connect 1.
  const BackoffSchedule schedule;
  std::int64_t earliest = 0;  // earliest time of the next connect, from the first
  int connects_by_1s = 0;
  for (std::uint32_t failures = 1; earliest <= 1000 * kMs; ++failures) {
    ++connects_by_1s;
    earliest += schedule.wait_ns(failures, 0);
  }
  CHECK(connects_by_1s == 9);
  CHECK(earliest == 1137'500'000);  // the 10th: 2.5+5+10+20+40+80+160+320+500 ms
}
