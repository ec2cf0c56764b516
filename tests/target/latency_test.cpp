#include "tools/target/latency.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "tools/target/behaviour.hpp"
#include "tools/target/rng.hpp"

using namespace std::chrono_literals;
using namespace strain::target;

namespace {

// The message parse_latency fails with, or "no error".
std::string failure(const std::string& text) {
  try {
    parse_latency(text, "--latency");
  } catch (const strain::UsageError& e) {
    return e.what();
  }
  return "no error";
}

// `n` draws, sorted, in milliseconds.
std::vector<double> draws_ms(const Latency& l, std::size_t n, std::uint64_t seed = 7) {
  Rng rng(seed);
  std::vector<double> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(std::chrono::duration<double, std::milli>(sample(l, rng)).count());
  std::sort(out.begin(), out.end());
  return out;
}

// The q-quantile of sorted draws, by the nearest rank.
double quantile(const std::vector<double>& sorted, double q) {
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::max<std::size_t>(rank, 1) - 1];
}

}  // namespace

TEST_CASE("latency specs parse into their distributions") {
  CHECK(parse_latency("2ms", "--latency") == Latency::fixed(2ms));
  CHECK(parse_latency("fixed:2ms", "--latency") == Latency::fixed(2ms));
  CHECK(parse_latency("0", "--latency") == Latency::fixed(0ns));

  auto l = parse_latency("uniform:1ms..5ms", "--latency");
  CHECK(l.kind == LatencyKind::uniform);
  CHECK(l.low == 1ms);
  CHECK(l.high == 5ms);
  CHECK_FALSE(l.is_fixed());
  CHECK(parse_latency("uniform:3ms..3ms", "--latency").low == 3ms);  // a point is fine

  l = parse_latency("lognormal:10ms,p99=80ms", "--latency");
  CHECK(l.kind == LatencyKind::lognormal);
  CHECK(l.low == 10ms);
  CHECK(l.high == 80ms);
  // p99 = median * exp(sigma * z99), z99 = 2.3263...
  CHECK(l.sigma == doctest::Approx(std::log(8.0) / 2.3263478740408408));

  l = parse_latency("bimodal:2ms,200ms@5%", "--latency");
  CHECK(l.kind == LatencyKind::bimodal);
  CHECK(l.low == 2ms);
  CHECK(l.high == 200ms);
  CHECK(l.slow_fraction == doctest::Approx(0.05));
  CHECK(parse_latency("bimodal:1s,2s@0.5%", "--latency").slow_fraction == doctest::Approx(0.005));
  CHECK(parse_latency("bimodal:1ms,2ms@100%", "--latency").slow_fraction == 1.0);
}

TEST_CASE("a bad latency is one line naming the flag and quoting the text") {
  const char* bad[] = {
      "",
      "fast",
      "-2ms",
      "fixed:",
      "fixed:2h",
      "uniform:5ms..1ms",
      "uniform:1ms-5ms",
      "uniform:1ms..",
      "uniform:1ms..2h",
      "lognormal:10ms",
      "lognormal:10ms,p99=5ms",
      "lognormal:10ms,p99=10ms",
      "lognormal:0,p99=5ms",
      "lognormal:10ms,p99=x",
      "lognormal:10ms,p50=80ms",
      "bimodal:2ms,200ms",
      "bimodal:2ms,200ms@5",
      "bimodal:2ms,200ms@101%",
      "bimodal:2ms@5%,200ms",
      "gamma:1ms",
  };
  for (const char* text : bad) {
    CAPTURE(text);
    const auto message = failure(text);
    CHECK(message.rfind("--latency: '" + std::string(text) + "'", 0) == 0);
    CHECK(message.find('\n') == std::string::npos);
  }
  // The reason is specific where it can be.
  CHECK(failure("uniform:5ms..1ms").find("low end is above the high end") != std::string::npos);
  CHECK(failure("lognormal:10ms,p99=5ms").find("p99 above the median") != std::string::npos);
  CHECK(failure("fixed:2h").find("longer than 1h") != std::string::npos);
  CHECK(failure("uniform:1ms..x").find("'x' is not a duration") != std::string::npos);
  CHECK(failure("bimodal:2ms,200ms@5").find("'5' is not a percentage") != std::string::npos);
  CHECK(failure("gamma:1ms").find("uniform:1ms..5ms") != std::string::npos);
  // The name given is the one used: a query parameter's error names the parameter.
  try {
    parse_latency("nope", "latency");
    FAIL("no throw");
  } catch (const strain::UsageError& e) {
    CHECK(std::string(e.what()).rfind("latency: 'nope'", 0) == 0);
  }
}

TEST_CASE("Rng: a seed and stream give one sequence; others give others") {
  Rng a(42, 0);
  Rng b(42, 0);
  Rng c(42, 1);
  Rng d(43, 0);
  bool differs_c = false;
  bool differs_d = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next();
    CHECK(x == b.next());
    differs_c = differs_c || x != c.next();
    differs_d = differs_d || x != d.next();
  }
  CHECK(differs_c);
  CHECK(differs_d);
  // Uniform in [0, 1) with the right mean; normal with mean 0 and variance 1.
  Rng r(1);
  double sum = 0;
  double lo = 1;
  double hi = 0;
  constexpr int n = 100000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  CHECK(sum / n == doctest::Approx(0.5).epsilon(0.01));
  CHECK(lo < 0.001);
  CHECK(hi > 0.999);
  double s1 = 0;
  double s2 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = r.normal();
    s1 += z;
    s2 += z * z;
  }
  CHECK(std::fabs(s1 / n) < 0.02);  // sd of the mean: 0.003
  CHECK(s2 / n == doctest::Approx(1.0).epsilon(0.02));
}

TEST_CASE("fixed latency: the value, and no draw") {
  Rng rng(5);
  Rng twin(5);
  CHECK(sample(Latency::fixed(3ms), rng) == 3ms);
  CHECK(sample(Latency::fixed(0ns), rng) == 0ns);
  CHECK(rng.next() == twin.next());
}

TEST_CASE("uniform latency stays within its bounds and spreads over them") {
  const auto d = draws_ms(parse_latency("uniform:1ms..5ms", "--latency"), 100000);
  CHECK(d.front() >= 1.0);
  CHECK(d.back() <= 5.0);
  CHECK(d.front() < 1.01);
  CHECK(d.back() > 4.99);
  CHECK(quantile(d, 0.5) == doctest::Approx(3.0).epsilon(0.02));
  CHECK(quantile(d, 0.25) == doctest::Approx(2.0).epsilon(0.02));
}

TEST_CASE("lognormal latency: the median and p99 of 100k draws match the spec") {
  // Standard errors at n = 100k: ~0.4% for the median, ~1% for the p99; the bounds are wider.
  for (const std::uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    const auto d = draws_ms(parse_latency("lognormal:10ms,p99=80ms", "--latency"), 100000, seed);
    CHECK(quantile(d, 0.5) == doctest::Approx(10.0).epsilon(0.03));
    CHECK(quantile(d, 0.99) == doctest::Approx(80.0).epsilon(0.05));
    CHECK(d.front() > 0.0);
  }
  const auto narrow = draws_ms(parse_latency("lognormal:200us,p99=250us", "--latency"), 100000);
  CHECK(quantile(narrow, 0.5) == doctest::Approx(0.2).epsilon(0.03));
  CHECK(quantile(narrow, 0.99) == doctest::Approx(0.25).epsilon(0.05));
}

TEST_CASE("lognormal draws are capped at 1h") {
  // The median is 30m and the p99 1h: about 1% of draws fall beyond 1h, and are cut to it.
  const auto d = draws_ms(parse_latency("lognormal:30m,p99=1h", "--latency"), 20000);
  const double hour_ms = 3600e3;
  CHECK(d.back() == hour_ms);
  const auto at_cap = std::count(d.begin(), d.end(), hour_ms);
  CHECK(at_cap > 100);  // ~200 expected
  CHECK(at_cap < 400);
}

TEST_CASE("bimodal latency: only the two modes, the slow one as often as asked") {
  const auto d = draws_ms(parse_latency("bimodal:2ms,200ms@5%", "--latency"), 100000);
  const auto slow = std::count(d.begin(), d.end(), 200.0);
  const auto fast = std::count(d.begin(), d.end(), 2.0);
  CHECK(slow + fast == 100000);
  // Binomial(100000, 0.05): mean 5000, sd 68.9; five sigma either side.
  CHECK(slow > 5000 - 345);
  CHECK(slow < 5000 + 345);
  const auto never = draws_ms(parse_latency("bimodal:2ms,200ms@0%", "--latency"), 1000);
  CHECK(never.back() == 2.0);
  const auto always = draws_ms(parse_latency("bimodal:2ms,200ms@100%", "--latency"), 1000);
  CHECK(always.front() == 200.0);
}

TEST_CASE("the same seed gives the same delays") {
  const auto l = parse_latency("lognormal:10ms,p99=80ms", "--latency");
  CHECK(draws_ms(l, 1000, 9) == draws_ms(l, 1000, 9));
  CHECK(draws_ms(l, 1000, 9) != draws_ms(l, 1000, 10));
}
