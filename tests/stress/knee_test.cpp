#include "engine/stress/knee.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

using namespace strain::stress;

namespace {

// Uniform in [-1, 1) from mt19937's raw output, whose sequence the standard fixes.
double symmetric_unit(std::mt19937& rng) {
  return 2 * static_cast<double>(rng()) / 4294967296.0 - 1;
}

// 10 ms up to 500 rps, then 0.2 ms more per rps: 110 ms at 1000 rps. Steps of 25 rps.
std::vector<CurvePoint> hockey_stick(double noise_fraction = 0, std::uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::vector<CurvePoint> points;
  for (double x = 100; x <= 1000; x += 25) {
    const double y = x <= 500 ? 10 : 10 + 0.2 * (x - 500);
    points.push_back({x, y * (1 + noise_fraction * symmetric_unit(rng))});
  }
  return points;
}

}  // namespace

TEST_CASE("knee: a hockey stick turns at its corner") {
  const auto knee = find_knee(hockey_stick());
  REQUIRE(knee.has_value());
  CHECK(std::abs(knee->x - 500) <= 50);
  CHECK(knee->x == 500);  // the corner is a sample, and the farthest point below the diagonal
  CHECK(knee->y == doctest::Approx(10));
}

TEST_CASE("knee: a hockey stick with +-3% latency noise still turns near its corner") {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    const auto knee = find_knee(hockey_stick(0.03, seed));
    REQUIRE(knee.has_value());
    CHECK(std::abs(knee->x - 500) <= 50);
  }
}

TEST_CASE("knee: M/M/1 latency 1/(mu - x) turns where its scaled slope reaches the diagonal's") {
  // Scaled to the unit square, x - y is largest where dy/dx = (y range) / (x range), i.e. at
  // x = mu - sqrt((x range) / (y range)): 1000 - sqrt(880 / (1/20 - 1/900)) = 865.8 rps for
  // x = 100..980. So the knee is the sample next to 865.8, well inside 700..950: not where
  // latency first moves (it doubles by x = 550) nor at the wall (x -> mu).
  const double mu = 1000;
  std::vector<CurvePoint> points;
  for (double x = 100; x <= 980; x += 20)
    points.push_back({x, 1000 / (mu - x)});  // ms
  const double expected = mu - std::sqrt(880 / (1.0 / 20 - 1.0 / 900));
  const auto knee = find_knee(points);
  REQUIRE(knee.has_value());
  CHECK(knee->x >= 700);
  CHECK(knee->x <= 950);
  CHECK(std::abs(knee->x - expected) <= 20);
}

TEST_CASE("knee: straight, flat and concave curves have none") {
  std::vector<CurvePoint> line, flat, concave, falling;
  for (double x = 100; x <= 1000; x += 50) {
    line.push_back({x, 2 + 0.01 * x});
    flat.push_back({x, 5});
    concave.push_back({x, std::sqrt(x)});
    falling.push_back({x, 1 + 1000 / x});
  }
  CHECK_FALSE(find_knee(line).has_value());
  CHECK_FALSE(find_knee(flat).has_value());
  CHECK_FALSE(find_knee(concave).has_value());
  CHECK_FALSE(find_knee(falling).has_value());
}

TEST_CASE("knee: a flat or straight curve with a little noise has none") {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    std::vector<CurvePoint> flat, line;
    for (double x = 100; x <= 1000; x += 50) {
      flat.push_back({x, 5 * (1 + 0.03 * symmetric_unit(rng))});
      line.push_back({x, 2 + 0.01 * x + 0.2 * symmetric_unit(rng)});  // +-2% of the 9 ms rise
    }
    CHECK_FALSE(find_knee(flat).has_value());
    CHECK_FALSE(find_knee(line).has_value());
  }
}

TEST_CASE("knee: fewer than 4 distinct x has none") {
  CHECK_FALSE(find_knee({}).has_value());
  const std::vector<CurvePoint> three = {{100, 1}, {200, 1}, {300, 9}, {300, 11}, {200, 1.2}};
  CHECK_FALSE(find_knee(three).has_value());
  const std::vector<CurvePoint> with_nan = {{100, 1}, {200, 1}, {300, 9}, {NAN, 50}};
  CHECK_FALSE(find_knee(with_nan).has_value());
}

TEST_CASE("knee: unsorted input finds the same knee and indexes the caller's points") {
  auto points = hockey_stick();
  std::mt19937 rng(11);
  std::shuffle(points.begin(), points.end(), rng);
  const auto knee = find_knee(points);
  REQUIRE(knee.has_value());
  CHECK(knee->x == 500);
  REQUIRE(knee->index < points.size());
  CHECK(points[knee->index].x == 500);
}

TEST_CASE("knee: repeated x are averaged and the first measured is indexed") {
  auto points = hockey_stick();
  points.push_back({500, 12});  // a second measurement at the corner
  points.push_back({700, 48});  // and one past it: mean (50 + 48) / 2
  const auto knee = find_knee(points);
  REQUIRE(knee.has_value());
  CHECK(knee->x == 500);
  CHECK(knee->y == doctest::Approx(11));
  CHECK(points[knee->index].x == 500);
  CHECK(points[knee->index].y == 10);  // the earlier of the two
}

TEST_CASE("knee: a single latency spike on the flat part does not move the knee") {
  auto points = hockey_stick();
  points[4].y = 60;  // x = 200: one bad step, e.g. a GC pause
  const auto knee = find_knee(points);
  REQUIRE(knee.has_value());
  CHECK(knee->x == 500);
}
