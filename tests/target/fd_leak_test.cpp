#include "tools/target/fd_leak.hpp"

#include <doctest/doctest.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <limits>

#include "tests/target/proc_reading.hpp"

using namespace strain::target;
using strain::target::testing::open_fd_count;

namespace {
constexpr auto kNoCeiling = std::numeric_limits<std::uint64_t>::max();
}

TEST_CASE("fd leak: one per N served, really open, up to the limit, then says so once") {
  const auto before = open_fd_count();
  {
    FdLeak leak(3, 2, kNoCeiling);
    for (int i = 0; i < 2; ++i)
      CHECK_FALSE(leak.on_served());
    CHECK(leak.leaked_fds() == 0);
    CHECK_FALSE(leak.on_served());
    CHECK(leak.leaked_fds() == 1);
    CHECK(open_fd_count() == before + 1);
    for (int i = 0; i < 3; ++i)
      CHECK_FALSE(leak.on_served());
    CHECK(leak.leaked_fds() == 2);
    CHECK(open_fd_count() == before + 2);
    CHECK_FALSE(leak.limit_reached());
    CHECK_FALSE(leak.on_served());
    CHECK_FALSE(leak.on_served());
    CHECK(leak.on_served());  // the ninth would be the third descriptor
    CHECK(leak.limit_reached());
    for (int i = 0; i < 9; ++i)
      CHECK_FALSE(leak.on_served());
    CHECK(leak.leaked_fds() == 2);
    CHECK(leak.limit() == 2);
    CHECK(open_fd_count() == before + 2);
  }
  CHECK(open_fd_count() == before);
}

TEST_CASE("fd leak: never takes a descriptor at or above the ceiling") {
  const auto before = open_fd_count();
  // Descriptors come lowest first: with the ceiling two above the lowest free number, only
  // that one and the next (if free) can be taken.
  const int lowest = ::eventfd(0, EFD_CLOEXEC);
  REQUIRE(lowest >= 0);
  ::close(lowest);
  FdLeak leak(1, 1000, static_cast<std::uint64_t>(lowest) + 2);
  std::uint64_t served = 0;
  bool stopped = false;
  while (!stopped && served < 100) {
    stopped = leak.on_served();
    ++served;
  }
  CHECK(stopped);
  CHECK(leak.limit_reached());
  CHECK(leak.leaked_fds() >= 1);
  CHECK(leak.leaked_fds() <= 2);
  CHECK(open_fd_count() == before + leak.leaked_fds());
  FdLeak none(1, 1000, 0);
  CHECK(none.on_served());
  CHECK(none.leaked_fds() == 0);
}

TEST_CASE("fd leak: the ceiling is the open-file soft limit less the headroom") {
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  if (limit.rlim_cur != RLIM_INFINITY) CHECK(fd_ceiling() == limit.rlim_cur - FdLeak::kHeadroom);
}
