#include "tools/target/behaviour.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "engine/core/error.hpp"

using namespace std::chrono_literals;
using strain::target::Behaviour;
using strain::target::resolve_behaviour;

namespace {

Behaviour defaults() {
  Behaviour b;
  b.latency = strain::target::Latency::fixed(2ms);
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
  CHECK(r.behaviour.latency == strain::target::Latency::fixed(5ms));
  CHECK(r.behaviour.body_bytes == 1024);
  CHECK(r.behaviour.status == 200);

  r = resolve_behaviour(defaults(), "size=10KiB");
  REQUIRE(r.ok());
  CHECK(r.behaviour.body_bytes == 10240);
  CHECK(r.behaviour.latency == strain::target::Latency::fixed(2ms));

  r = resolve_behaviour(defaults(), "status=503");
  REQUIRE(r.ok());
  CHECK(r.behaviour.status == 503);
  CHECK(r.behaviour.body_bytes == 1024);
}

TEST_CASE("all parameters together, in any order, last one wins") {
  auto r = resolve_behaviour(defaults(), "status=503&size=0&delay=1s");
  REQUIRE(r.ok());
  CHECK(r.behaviour.latency == strain::target::Latency::fixed(1s));
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
  CHECK(r.behaviour.latency == strain::target::Latency::fixed(2ms));
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
  CHECK(r.behaviour.latency == strain::target::Latency::fixed(1h));
  r = resolve_behaviour(defaults(), "status=599&delay=0");
  REQUIRE(r.ok());
  CHECK(r.behaviour.status == 599);
  CHECK(r.behaviour.latency == strain::target::Latency::fixed(0ns));
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

TEST_CASE("?cpu_work= overrides --cpu-work, up to 1s") {
  strain::target::Behaviour d;
  d.cpu_work = 1ms;
  CHECK(resolve_behaviour(d, "").behaviour.cpu_work == 1ms);
  CHECK(resolve_behaviour(d, "cpu_work=2ms").behaviour.cpu_work == 2ms);
  CHECK(resolve_behaviour(d, "cpu_work=0").behaviour.cpu_work == 0ns);
  CHECK(resolve_behaviour(d, "cpu_work=1s").behaviour.cpu_work == 1s);
  CHECK(resolve_behaviour(d, "cpu_work=500%75s").behaviour.cpu_work == 500us);  // %75: 'u'
  for (const char* query : {"cpu_work=1001ms", "cpu_work=x", "cpu_work=-1ms", "cpu_work"}) {
    CAPTURE(query);
    const auto r = resolve_behaviour(d, query);
    CHECK_FALSE(r.ok());
    CHECK(r.error.rfind("cpu_work: ", 0) == 0);
  }
  CHECK(resolve_behaviour(d, "cpu_work=2s").error.find("longer than 1s") != std::string::npos);
  CHECK(strain::target::parse_cpu_work("3ms", "--cpu-work") == 3ms);
  CHECK_THROWS_AS(strain::target::parse_cpu_work("1h", "--cpu-work"), strain::UsageError);
}

TEST_CASE("?close_every=N") {
  const strain::target::Behaviour d;
  CHECK(strain::target::resolve_behaviour(d, "close_every=3").behaviour.close_every == 3);
  CHECK(strain::target::resolve_behaviour(d, "").behaviour.close_every == 0);
  CHECK_FALSE(strain::target::resolve_behaviour(d, "close_every=-1").ok());
}

// ---- the harness shapes -----------------------------------------------------------------------

TEST_CASE("?latency= takes every distribution; ?delay= still means a fixed delay") {
  using strain::target::LatencyKind;
  const Behaviour d = defaults();
  auto r = resolve_behaviour(d, "latency=uniform:1ms..5ms");
  REQUIRE(r.ok());
  CHECK(r.behaviour.latency.kind == LatencyKind::uniform);
  CHECK(r.behaviour.latency.high == 5ms);
  r = resolve_behaviour(d, "latency=lognormal:10ms,p99=80ms&size=1");
  REQUIRE(r.ok());
  CHECK(r.behaviour.latency.kind == LatencyKind::lognormal);
  CHECK(r.behaviour.body_bytes == 1);
  // Raw or percent-encoded, the same.
  r = resolve_behaviour(d, "latency=bimodal:2ms,200ms@5%");
  REQUIRE(r.ok());
  CHECK(r.behaviour.latency.slow_fraction == doctest::Approx(0.05));
  const auto encoded = resolve_behaviour(d, "latency=bimodal%3A2ms%2C200ms%405%25");
  REQUIRE(encoded.ok());
  CHECK(encoded.behaviour.latency == r.behaviour.latency);
  // The last one wins, whichever name it uses.
  r = resolve_behaviour(d, "latency=uniform:1ms..5ms&delay=7ms");
  REQUIRE(r.ok());
  CHECK(r.behaviour.latency == strain::target::Latency::fixed(7ms));
  r = resolve_behaviour(d, "latency=uniform:1ms..5ms2");
  CHECK_FALSE(r.ok());
  CHECK(r.error.rfind("latency: 'uniform:1ms..5ms2'", 0) == 0);
}

TEST_CASE("?error_rate=, ?trickle=, ?header_bytes=") {
  const Behaviour d = defaults();
  auto r = resolve_behaviour(d, "error_rate=503:5%,500:1%");
  REQUIRE(r.ok());
  REQUIRE(r.behaviour.error_rates.count == 2);
  CHECK(r.behaviour.error_rates.entries[0].status == 503);
  CHECK(r.behaviour.error_rates.entries[0].fraction == doctest::Approx(0.05));
  CHECK(r.behaviour.error_rates.entries[1].status == 500);
  CHECK(r.behaviour.error_rates.entries[1].fraction == doctest::Approx(0.01));
  CHECK(r.behaviour.error_rates.total() == doctest::Approx(0.06));
  CHECK(resolve_behaviour(d, "error_rate=503%3A5%25").behaviour.error_rates.count == 1);
  CHECK(resolve_behaviour(d, "error_rate=0").behaviour.error_rates.count == 0);

  r = resolve_behaviour(d, "size=10000&trickle=100/10ms");
  REQUIRE(r.ok());
  CHECK(r.behaviour.trickle.bytes == 100);
  CHECK(r.behaviour.trickle.every == 10ms);
  CHECK_FALSE(resolve_behaviour(d, "trickle=0").behaviour.trickle.on());

  r = resolve_behaviour(d, "header_bytes=1MiB");
  REQUIRE(r.ok());
  CHECK(r.behaviour.header_bytes == 1048576);
}

TEST_CASE("a trickle that would outlast 10m is refused, whichever parameter makes it so") {
  const Behaviour d = defaults();  // 1 KiB bodies
  // 600 pieces of 1s: exactly 10m.
  CHECK(resolve_behaviour(d, "size=600&trickle=1/1s").ok());
  auto r = resolve_behaviour(d, "size=601&trickle=1/1s");
  CHECK_FALSE(r.ok());
  CHECK(r.error.rfind("trickle:", 0) == 0);
  CHECK(r.error.find("10m") != std::string::npos);
  // The size may come after the trickle.
  CHECK_FALSE(resolve_behaviour(d, "trickle=1/1s&size=601").ok());
  // A trickle from the flags, a size from the query.
  Behaviour t = d;
  t.trickle = strain::target::Trickle{100, 1s};
  CHECK(resolve_behaviour(t, "size=60000").ok());
  CHECK_FALSE(resolve_behaviour(t, "size=60001").ok());
  CHECK(resolve_behaviour(t, "size=0").ok());
}

TEST_CASE("?hang, ?reset, ?garbage force a fault; =0 turns one off") {
  using strain::target::Fault;
  using strain::target::kMaxHang;
  const Behaviour d = defaults();
  auto r = resolve_behaviour(d, "hang=30s");
  REQUIRE(r.ok());
  CHECK(r.behaviour.forced == Fault::hang);
  CHECK(r.behaviour.hang_for == 30s);
  for (const char* q : {"hang", "hang=", "hang=1", "hang=10m"}) {
    CAPTURE(q);
    r = resolve_behaviour(d, q);
    REQUIRE(r.ok());
    CHECK(r.behaviour.forced == Fault::hang);
    CHECK(r.behaviour.hang_for == kMaxHang);
  }
  CHECK(resolve_behaviour(d, "reset=1").behaviour.forced == Fault::reset);
  CHECK(resolve_behaviour(d, "reset").behaviour.forced == Fault::reset);
  CHECK(resolve_behaviour(d, "garbage=1").behaviour.forced == Fault::garbage);
  CHECK(resolve_behaviour(d, "hang=1s&reset=1").behaviour.forced == Fault::reset);
  CHECK(resolve_behaviour(d, "reset=1&reset=0").behaviour.forced == Fault::none);
  CHECK(resolve_behaviour(d, "garbage=1&hang=0").behaviour.forced == Fault::garbage);

  // =0 also takes the flag's rate away for this request.
  Behaviour rated = d;
  rated.hang_rate = 0.1;
  rated.reset_rate = 0.2;
  rated.garbage_rate = 0.3;
  r = resolve_behaviour(rated, "hang=0&reset=0&garbage=0");
  REQUIRE(r.ok());
  CHECK(r.behaviour.hang_rate == 0);
  CHECK(r.behaviour.reset_rate == 0);
  CHECK(r.behaviour.garbage_rate == 0);
  r = resolve_behaviour(rated, "hang_rate=1%&reset_rate=2%&garbage_rate=0.5%&hang_for=5s");
  REQUIRE(r.ok());
  CHECK(r.behaviour.hang_rate == doctest::Approx(0.01));
  CHECK(r.behaviour.reset_rate == doctest::Approx(0.02));
  CHECK(r.behaviour.garbage_rate == doctest::Approx(0.005));
  CHECK(r.behaviour.hang_for == 5s);
}

TEST_CASE("bad shape parameters are 400s naming them") {
  struct Case {
    const char* query;
    const char* names;
  };
  const Case cases[] = {
      {"error_rate=503", "error_rate"},
      {"error_rate=503:5", "error_rate"},
      {"error_rate=99:5%", "error_rate"},
      {"error_rate=503:101%", "error_rate"},
      {"error_rate=503:60%,500:50%", "error_rate"},
      {"error_rate=", "error_rate"},
      {"error_rate=500:1%,501:1%,502:1%,503:1%,504:1%,505:1%,506:1%,507:1%,508:1%", "error_rate"},
      {"trickle=100", "trickle"},
      {"trickle=0/10ms", "trickle"},
      {"trickle=100/0", "trickle"},
      {"trickle=65537/1ms", "trickle"},
      {"trickle=x/1ms", "trickle"},
      {"trickle=1/11m", "trickle"},
      {"hang=11m", "hang"},
      {"hang=x", "hang"},
      {"hang_for=0", "hang_for"},
      {"hang_rate=5", "hang_rate"},
      {"hang_rate=-1%", "hang_rate"},
      {"reset=2", "reset"},
      {"reset_rate=1e2%", "reset_rate"},
      {"garbage=yes", "garbage"},
      {"garbage_rate=", "garbage_rate"},
      {"header_bytes=2MiB", "header_bytes"},
      {"header_bytes=lots", "header_bytes"},
      {"latency=uniform:1ms", "latency"},
      // The rates together may not pass 100%: named as error rates.
      {"hang_rate=50%&reset_rate=30%&garbage_rate=30%", "error_rate"},
      {"hang_rate=60%&error_rate=500:50%", "error_rate"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.query);
    const auto r = resolve_behaviour(defaults(), c.query);
    CHECK_FALSE(r.ok());
    CHECK(r.error.rfind(c.names, 0) == 0);
    CHECK(r.error.find('\n') == std::string::npos);
  }
  // 100% exactly is fine, rounding included.
  CHECK(resolve_behaviour(defaults(), "error_rate=500:33.3333%,501:33.3333%,502:33.3334%").ok());
  CHECK(resolve_behaviour(defaults(), "hang_rate=25%&reset_rate=25%&garbage_rate=50%").ok());
}

TEST_CASE("parse_percent") {
  using strain::target::parse_percent;
  CHECK(parse_percent("5%", "x") == doctest::Approx(0.05));
  CHECK(parse_percent("0.5%", "x") == doctest::Approx(0.005));
  CHECK(parse_percent("100%", "x") == 1.0);
  CHECK(parse_percent("0%", "x") == 0.0);
  CHECK(parse_percent("0", "x") == 0.0);
  for (const char* bad : {"", "%", "5", "0.05", "100.1%", "-1%", "5 %", "5%%", "1e1%", "x%"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_percent(bad, "--hang-rate"), strain::UsageError);
  }
}

namespace {

// How often each outcome came up in `n` decisions.
struct Tallies {
  std::map<int, int> injected;
  int hang = 0;
  int reset = 0;
  int garbage = 0;
  int none = 0;
};

Tallies decide_many(const Behaviour& b, int n, std::uint64_t seed) {
  using strain::target::Fault;
  strain::target::Rng rng(seed);
  Tallies t;
  for (int i = 0; i < n; ++i) {
    const auto o = strain::target::decide(b, rng);
    if (o.fault == Fault::hang) ++t.hang;
    if (o.fault == Fault::reset) ++t.reset;
    if (o.fault == Fault::garbage) ++t.garbage;
    if (o.injected_status != 0) {
      CHECK(o.fault == Fault::none);
      ++t.injected[o.injected_status];
    }
    if (o.fault == Fault::none && o.injected_status == 0) ++t.none;
  }
  return t;
}

// |observed - n p| within five binomial standard deviations.
bool within_5_sigma(int observed, int n, double p) {
  const double mean = n * p;
  const double sd = std::sqrt(n * p * (1 - p));
  return std::fabs(observed - mean) <= 5 * sd + 1e-9;
}

}  // namespace

TEST_CASE("decide: each outcome as often as its rate, never two at once") {
  Behaviour b = defaults();
  b.hang_rate = 0.02;
  b.reset_rate = 0.03;
  b.garbage_rate = 0.04;
  b.error_rates = strain::target::parse_error_rates("503:5%,500:1%", "--error-rate");
  constexpr int n = 100000;
  const auto t = decide_many(b, n, 11);
  CHECK(t.hang + t.reset + t.garbage + t.injected.at(503) + t.injected.at(500) + t.none == n);
  CHECK(within_5_sigma(t.hang, n, 0.02));
  CHECK(within_5_sigma(t.reset, n, 0.03));
  CHECK(within_5_sigma(t.garbage, n, 0.04));
  CHECK(within_5_sigma(t.injected.at(503), n, 0.05));
  CHECK(within_5_sigma(t.injected.at(500), n, 0.01));
  CHECK(within_5_sigma(t.none, n, 0.85));
  // Repeatable.
  const auto again = decide_many(b, n, 11);
  CHECK(again.hang == t.hang);
  CHECK(again.injected == t.injected);
}

TEST_CASE("decide: a forced fault needs no draw; no rates, no draw") {
  using strain::target::Fault;
  Behaviour b = defaults();
  strain::target::Rng rng(3);
  strain::target::Rng twin(3);
  CHECK(strain::target::decide(b, rng).fault == Fault::none);
  b.forced = Fault::reset;
  b.hang_rate = 1.0;
  CHECK(strain::target::decide(b, rng).fault == Fault::reset);
  CHECK(rng.next() == twin.next());
  b.forced = Fault::none;
  CHECK(strain::target::decide(b, rng).fault == Fault::hang);  // a rate of 100%
  b.hang_rate = 0;
  b.error_rates = strain::target::parse_error_rates("418:100%", "--error-rate");
  CHECK(strain::target::decide(b, rng).injected_status == 418);
}
