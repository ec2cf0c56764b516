#include "tools/target/limits.hpp"

#include <doctest/doctest.h>

using namespace strain;
using namespace strain::target;
using std::chrono::milliseconds;

TEST_CASE("capacity: W servers, one FIFO queue, deterministic service") {
  Capacity c(2, 100);
  const TimePoint t0 = TimePoint{} + std::chrono::hours(1);
  // Five arrive at once with two servers of 10ms: ends 10, 10, 20, 20, 30 by hand.
  const long expected_end_ms[] = {10, 10, 20, 20, 30};
  for (const long end_ms : expected_end_ms) {
    const auto a = c.admit(t0, milliseconds(10));
    REQUIRE(a.admitted);
    CHECK(a.end - t0 == milliseconds(end_ms));
    CHECK(a.end - a.start == milliseconds(10));
  }
  CHECK(c.in_service_max() == 2);
  CHECK(c.queued_max() == 3);
  CHECK(c.rejected() == 0);
  // Later, everything is done: a new arrival starts at once.
  const auto a = c.admit(t0 + milliseconds(100), milliseconds(10));
  CHECK(a.start == t0 + milliseconds(100));
}

TEST_CASE("capacity: over --queue-limit is turned away, and only waiting requests count") {
  Capacity c(1, 1);
  const TimePoint t0 = TimePoint{} + std::chrono::hours(1);
  CHECK(c.admit(t0, milliseconds(10)).admitted);  // in service
  CHECK(c.admit(t0, milliseconds(10)).admitted);  // queued
  CHECK_FALSE(c.admit(t0, milliseconds(10)).admitted);
  CHECK(c.rejected() == 1);
  // At 10ms the queued one is in service, so the queue has room again.
  const auto a = c.admit(t0 + milliseconds(10), milliseconds(10));
  CHECK(a.admitted);
  CHECK(a.start == t0 + milliseconds(20));
  Capacity none(1, 0);
  CHECK(none.admit(t0, milliseconds(10)).admitted);
  CHECK_FALSE(none.admit(t0, milliseconds(10)).admitted);
}

TEST_CASE("stall windows are [k*every + (every - for), (k+1)*every)") {
  StallSchedule s{std::chrono::seconds(5), std::chrono::seconds(1)};
  CHECK(s.stalled_until(milliseconds(0)).count() == 0);
  CHECK(s.stalled_until(milliseconds(3999)).count() == 0);
  CHECK(s.stalled_until(milliseconds(4000)) == milliseconds(5000));
  CHECK(s.stalled_until(milliseconds(4999)) == milliseconds(5000));
  CHECK(s.stalled_until(milliseconds(5000)).count() == 0);
  CHECK(s.stalled_until(milliseconds(9500)) == milliseconds(10000));
  using W = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
  CHECK(s.windows(milliseconds(4000), 10).empty());
  CHECK(s.windows(milliseconds(11000), 10) == W{{4000, 5000}, {9000, 10000}});
  CHECK(s.windows(milliseconds(9500), 10) == W{{4000, 5000}, {9000, 9500}});
  CHECK(s.windows(milliseconds(11000), 1) == W{{9000, 10000}});
  CHECK_FALSE(StallSchedule{}.enabled());
  CHECK(StallSchedule{}.stalled_until(milliseconds(1)).count() == 0);
}

TEST_CASE("token bucket: a burst, then the rate") {
  const TimePoint t0 = TimePoint{} + std::chrono::hours(1);
  TokenBucket b(10, 2, t0);
  CHECK(b.try_take(t0));
  CHECK(b.try_take(t0));
  CHECK_FALSE(b.try_take(t0));
  CHECK_FALSE(b.try_take(t0 + milliseconds(50)));
  CHECK(b.try_take(t0 + milliseconds(100)));
  CHECK_FALSE(b.try_take(t0 + milliseconds(100)));
  // Never more than the burst saved up.
  CHECK(b.try_take(t0 + std::chrono::seconds(10)));
  CHECK(b.try_take(t0 + std::chrono::seconds(10)));
  CHECK_FALSE(b.try_take(t0 + std::chrono::seconds(10)));
}

TEST_CASE("leak: grows per request up to the limit, then says so once") {
  Leak l(1000, 2500);
  CHECK_FALSE(l.on_served());
  CHECK_FALSE(l.on_served());
  CHECK(l.leaked_bytes() == 2000);
  CHECK_FALSE(l.limit_reached());
  CHECK(l.on_served());
  CHECK_FALSE(l.on_served());
  CHECK(l.leaked_bytes() == 2000);
  CHECK(l.limit_reached());
}
