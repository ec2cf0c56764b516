#include "tools/target/behaviour.hpp"

#include <doctest/doctest.h>

#include "engine/core/error.hpp"

using namespace std::chrono_literals;
using strain::target::Behaviour;
using strain::target::resolve_behaviour;

namespace {

Behaviour defaults() {
  Behaviour b;
  b.delay = 2ms;
  b.body_bytes = 1024;
  b.status = 200;
  return b;
}

}  // namespace

TEST_CASE("no query gives the defaults") {
  const auto r = resolve_behaviour(defaults(), "");
  CHECK(r.ok());
  CHECK(r.behaviour == defaults());
}

TEST_CASE("each parameter overrides its default and leaves the others alone") {
  auto r = resolve_behaviour(defaults(), "delay=5ms");
  REQUIRE(r.ok());
  CHECK(r.behaviour.delay == 5ms);
  CHECK(r.behaviour.body_bytes == 1024);
  CHECK(r.behaviour.status == 200);

  r = resolve_behaviour(defaults(), "size=10KiB");
  REQUIRE(r.ok());
  CHECK(r.behaviour.body_bytes == 10240);
  CHECK(r.behaviour.delay == 2ms);

  r = resolve_behaviour(defaults(), "status=503");
  REQUIRE(r.ok());
  CHECK(r.behaviour.status == 503);
  CHECK(r.behaviour.body_bytes == 1024);
}

TEST_CASE("all parameters together, in any order, last one wins") {
  auto r = resolve_behaviour(defaults(), "status=503&size=0&delay=1s");
  REQUIRE(r.ok());
  CHECK(r.behaviour.delay == 1s);
  CHECK(r.behaviour.body_bytes == 0);
  CHECK(r.behaviour.status == 503);

  r = resolve_behaviour(defaults(), "status=201&status=202");
  REQUIRE(r.ok());
  CHECK(r.behaviour.status == 202);
}

TEST_CASE("unknown parameters and empty pieces are ignored") {
  const auto r = resolve_behaviour(defaults(), "id=7&&cache=no&size=1&x");
  REQUIRE(r.ok());
  CHECK(r.behaviour.body_bytes == 1);
  CHECK(r.behaviour.delay == 2ms);
}

TEST_CASE("a malformed parameter is an error naming it, not an exception") {
  struct Case {
    const char* query;
    const char* names;
  };
  const Case cases[] = {
      {"delay=abc", "delay"},  {"delay=", "delay"},       {"delay", "delay"},
      {"delay=-5ms", "delay"}, {"delay=2h", "delay"},     {"size=lots", "size"},
      {"size=2GiB", "size"},   {"size=-1", "size"},       {"status=abc", "status"},
      {"status=99", "status"}, {"status=600", "status"},  {"status=200x", "status"},
      {"status=", "status"},   {"status=+200", "status"}, {"size=1&delay=x", "delay"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.query);
    const auto r = resolve_behaviour(defaults(), c.query);
    CHECK_FALSE(r.ok());
    CHECK(r.error.rfind(c.names, 0) == 0);
  }
}

TEST_CASE("boundary values are accepted") {
  auto r = resolve_behaviour(defaults(), "status=200&size=1GiB&delay=1h");
  REQUIRE(r.ok());
  CHECK(r.behaviour.status == 200);
  CHECK(r.behaviour.body_bytes == (1ull << 30));
  CHECK(r.behaviour.delay == 1h);
  r = resolve_behaviour(defaults(), "status=599&delay=0");
  REQUIRE(r.ok());
  CHECK(r.behaviour.status == 599);
  CHECK(r.behaviour.delay == 0ns);
}

TEST_CASE("flag parsers throw UsageError naming the flag") {
  using strain::target::parse_body_size;
  using strain::target::parse_delay;
  using strain::target::parse_status;
  CHECK(parse_delay("250us", "--latency") == 250us);
  CHECK(parse_body_size("1KiB", "--body-size") == 1024);
  CHECK(parse_status("404", "--status") == 404);
  try {
    parse_status("1000", "--status");
    FAIL("no throw");
  } catch (const strain::UsageError& e) {
    CHECK(std::string(e.what()).find("--status") != std::string::npos);
  }
  CHECK_THROWS_AS(parse_delay("soon", "--latency"), strain::UsageError);
  CHECK_THROWS_AS(parse_body_size("5GiB", "--body-size"), strain::UsageError);
}

TEST_CASE("?service= overrides --service") {
  using namespace std::chrono_literals;
  strain::target::Behaviour d;
  d.service = 10ms;
  const auto r = strain::target::resolve_behaviour(d, "service=25ms");
  REQUIRE(r.ok());
  CHECK(r.behaviour.service == 25ms);
  CHECK(strain::target::resolve_behaviour(d, "").behaviour.service == 10ms);
  CHECK_FALSE(strain::target::resolve_behaviour(d, "service=x").ok());
}

TEST_CASE("?close_every=N") {
  const strain::target::Behaviour d;
  CHECK(strain::target::resolve_behaviour(d, "close_every=3").behaviour.close_every == 3);
  CHECK(strain::target::resolve_behaviour(d, "").behaviour.close_every == 0);
  CHECK_FALSE(strain::target::resolve_behaviour(d, "close_every=-1").ok());
}
