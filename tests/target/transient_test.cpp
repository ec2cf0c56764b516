#include "tools/target/transient.hpp"

#include <doctest/doctest.h>

#include "tests/target/proc_reading.hpp"

using namespace strain::target;
using namespace std::chrono_literals;
using strain::target::testing::statm_resident_bytes;

TEST_CASE("transient: held about a second, never more than half the period") {
  CHECK(transient_hold(5s) == 1s);
  CHECK(transient_hold(2s) == 1s);
  CHECK(transient_hold(1s) == 500ms);
  CHECK(transient_hold(100ms) == 50ms);
}

#if defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t asan_shadow_bytes(std::uint64_t bytes) {
  return bytes / 8;
}
#else
constexpr std::uint64_t asan_shadow_bytes(std::uint64_t) {
  return 0;
}
#endif

TEST_CASE("transient: RSS rises by the buffer while held and falls back after") {
  constexpr std::uint64_t kBytes = 32u << 20;
  Transient t(kBytes);
  CHECK(t.held_bytes() == 0);
  const auto floor = statm_resident_bytes();
  REQUIRE(t.take());
  CHECK(t.take());  // already held: nothing more
  const auto peak = statm_resident_bytes();
  CHECK(peak >= floor + kBytes * 95 / 100);
  CHECK(t.held_bytes() == kBytes);
  CHECK(t.cycles() == 1);
  t.release();
  const auto after = statm_resident_bytes();
  // AddressSanitizer keeps the shadow of unmapped memory resident (an eighth of it).
  CHECK(after <= floor + (1u << 20) + asan_shadow_bytes(kBytes));
  CHECK(t.held_bytes() == 0);
  REQUIRE(t.take());
  CHECK(t.cycles() == 2);
  // The destructor gives it back too.
}
