#include "engine/runtime/system_limits.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "engine/core/error.hpp"

using namespace strain;

TEST_CASE("ephemeral ports: the kernel's range, as the kernel reports it") {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  std::uint64_t low = 0, high = 0;
  if (!(in >> low >> high)) {
    CHECK(ephemeral_ports() == 0);
    return;
  }
  CHECK(ephemeral_ports() == high - low + 1);
}

TEST_CASE("require_ports refuses more connections than local ports, with advice") {
  CHECK_NOTHROW(require_ports(28'232, 28'232));
  CHECK_NOTHROW(require_ports(1'000'000, 0));  // unknown range: not checked
  try {
    require_ports(30'000, 28'232);
    FAIL("expected a usage error");
  } catch (const UsageError& e) {
    const std::string m = e.what();
    CHECK(m.find("30000 connections") != std::string::npos);
    CHECK(m.find("28232 local ports") != std::string::npos);
    CHECK(m.find("ip_local_port_range") != std::string::npos);
  }
}

TEST_CASE("require_fds refuses connections that cannot fit under the open-file limit") {
  CHECK_NOTHROW(require_fds(100, FdLimit{1024, 1024}));
  CHECK_THROWS_AS(require_fds(1000, FdLimit{1024, 1024}), UsageError);
  CHECK_NOTHROW(require_fds(1'000'000, FdLimit{0, 0}));  // unknown limit: not checked
}
