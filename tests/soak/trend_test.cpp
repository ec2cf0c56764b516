#include "engine/soak/trend.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "engine/soak/change_point.hpp"

using namespace strain::soak;

namespace {

// Brute force, straight from the definitions: every pair within a segment, sorted in full.
std::vector<double> all_pairwise_slopes(const std::vector<TrendPoint>& p) {
  std::vector<double> slopes;
  for (std::size_t i = 0; i < p.size(); ++i) {
    for (std::size_t j = 0; j < p.size(); ++j) {
      if (p[i].segment == p[j].segment && p[j].t_s > p[i].t_s) {
        slopes.push_back((p[j].value - p[i].value) / (p[j].t_s - p[i].t_s));
      }
    }
  }
  std::sort(slopes.begin(), slopes.end());
  return slopes;
}

double brute_s(const std::vector<TrendPoint>& p) {
  double s = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    for (std::size_t j = 0; j < p.size(); ++j) {
      if (p[i].segment == p[j].segment && p[j].t_s > p[i].t_s) {
        s += (p[j].value > p[i].value) - (p[j].value < p[i].value);
      }
    }
  }
  return s;
}

double brute_var_s(const std::vector<TrendPoint>& p) {
  std::map<std::uint32_t, std::map<double, double>> ties;  // segment -> value -> count
  std::map<std::uint32_t, double> sizes;
  for (const TrendPoint& x : p) {
    ties[x.segment][x.value] += 1;
    sizes[x.segment] += 1;
  }
  double var = 0;
  for (const auto& [seg, n] : sizes) {
    var += n * (n - 1) * (2 * n + 5);
    for (const auto& [value, t] : ties[seg])
      var -= t * (t - 1) * (2 * t + 5);
  }
  return var / 18;
}

// 1-based fractional rank into sorted values, clamped, interpolated.
double at_rank(const std::vector<double>& sorted, double rank) {
  rank = std::clamp(rank, 1.0, static_cast<double>(sorted.size()));
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const double frac = rank - static_cast<double>(lo);
  if (lo >= sorted.size()) return sorted.back();
  return sorted[lo - 1] + frac * (sorted[lo] - sorted[lo - 1]);
}

std::vector<TrendPoint> series(const std::vector<double>& values) {
  std::vector<TrendPoint> p;
  for (std::size_t i = 0; i < values.size(); ++i)
    p.push_back({double(i + 1), values[i], 0});
  return p;
}

}  // namespace

TEST_CASE("Mann-Kendall on a hand-worked 10-point series with one tie") {
  // x = 5 7 6 8 8 10 9 12 11 14 at t = 1..10. Counting later values above minus below each:
  // 5: +9; 7: +7-1 = 6; 6: +7; 8: +5 (the later 8 ties); 8: +5; 10: +3-1 = 2; 9: +3;
  // 12: +1-1 = 0; 11: +1.  S = 9+6+7+5+5+2+3+0+1 = 38.
  // Var S = [10*9*25 - 2*1*9] / 18 = (2250 - 18) / 18 = 124 (one tie group of two 8s).
  // Z = (38 - 1) / sqrt(124) = 3.3227; two-sided p = 2 (1 - Phi(3.3227)) = 0.000892 (tables).
  const auto p = series({5, 7, 6, 8, 8, 10, 9, 12, 11, 14});
  const MannKendall mk = mann_kendall(p);
  CHECK(mk.s == 38);
  CHECK(mk.var_s == doctest::Approx(124.0));
  CHECK(mk.z == doctest::Approx(3.3227).epsilon(1e-4));
  CHECK(mk.p_value == doctest::Approx(0.000892).epsilon(0.005));

  // The same series reversed: S and Z change sign, p does not.
  auto rev = p;
  for (auto& x : rev)
    x.t_s = 11 - x.t_s;
  const MannKendall down = mann_kendall(rev);
  CHECK(down.s == -38);
  CHECK(down.z == doctest::Approx(-3.3227).epsilon(1e-4));
  CHECK(down.p_value == doctest::Approx(mk.p_value));
}

TEST_CASE("Theil-Sen on a hand-worked 5-point series: slope, intercept, 90% interval") {
  // v = 0 1 3 2 5 at t = 0..4. The ten pairwise slopes, sorted:
  // -1, 0.5, 0.667, 1, 1, 1.25, 1.333, 1.5, 2, 3. Median = (1 + 1.25) / 2 = 1.125.
  // Intercept: median of v - 1.125 t = {0, -0.125, 0.75, -1.375, 0.5} = 0.
  // S = 8 (only 3 -> 2 falls); Var S = 5*4*15/18 = 16.667. At 90%, C = 1.6449 * 4.0825 =
  // 6.7153: M1 = 1.6424, M2 = 8.3576; lower = rank 1.6424 = -1 + 0.6424 * 1.5 = -0.0365;
  // upper = rank 9.3576 = 2 + 0.3576 * 1 = 2.3576.
  std::vector<TrendPoint> p = {{0, 0, 0}, {1, 1, 0}, {2, 3, 0}, {3, 2, 0}, {4, 5, 0}};
  const TheilSen ts = theil_sen(p, 0.90);
  CHECK(ts.pairs == 10);
  CHECK(ts.slope == doctest::Approx(1.125));
  CHECK(ts.intercept == doctest::Approx(0.0));
  CHECK(ts.ci_low == doctest::Approx(-0.0365).epsilon(0.01));
  CHECK(ts.ci_high == doctest::Approx(2.3576).epsilon(1e-3));
  // At 95% C = 8.0015 > N' - 2, so the bounds clamp to the extreme slopes.
  const TheilSen wide = theil_sen(p, 0.95);
  CHECK(wide.ci_low == -1);
  CHECK(wide.ci_high == 3);
  CHECK(mann_kendall(p).s == 8);
}

TEST_CASE("Theil-Sen and Mann-Kendall equal brute force on random series with ties and segments") {
  std::mt19937_64 rng(7);
  for (int seed = 0; seed < 300; ++seed) {
    std::uniform_int_distribution<int> n_dist(2, 60);
    std::uniform_int_distribution<int> small(0, 6);  // few distinct values: many ties
    std::uniform_int_distribution<int> seg(0, 2);
    const int n = n_dist(rng);
    std::vector<TrendPoint> p;
    const bool segmented = seed % 2 == 1;
    for (int i = 0; i < n; ++i) {
      const double value =
          seed % 3 == 0 ? std::normal_distribution<double>(0, 5)(rng) : small(rng) + 0.5 * i;
      const auto segment = static_cast<std::uint32_t>(segmented ? seg(rng) : 0);
      p.push_back({double(i) * 1.5, value, segment});
    }
    std::shuffle(p.begin(), p.end(), rng);  // order must not matter
    CAPTURE(seed);
    const auto slopes = all_pairwise_slopes(p);
    const TheilSen ts = theil_sen(p, 0.95);
    const MannKendall mk = mann_kendall(p);
    CHECK(mk.s == brute_s(p));
    CHECK(mk.var_s == doctest::Approx(brute_var_s(p)));
    REQUIRE(ts.pairs == slopes.size());
    if (slopes.empty()) {
      CHECK(std::isnan(ts.slope));
      continue;
    }
    const std::size_t m = slopes.size();
    CHECK(ts.slope == (slopes[(m - 1) / 2] + slopes[m / 2]) / 2);
    const double c = 1.959963984540054 * std::sqrt(brute_var_s(p));
    CHECK(ts.ci_low == doctest::Approx(at_rank(slopes, (double(m) - c) / 2)));
    CHECK(ts.ci_high == doctest::Approx(at_rank(slopes, (double(m) + c) / 2 + 1)));
  }
}

TEST_CASE("Mann-Kendall p-value against the normal tail, and the quantile function") {
  CHECK(normal_quantile(0.975) == doctest::Approx(1.959963984540054).epsilon(1e-12));
  CHECK(normal_quantile(0.995) == doctest::Approx(2.575829303548901).epsilon(1e-12));
  CHECK(normal_quantile(0.001) == doctest::Approx(-3.090232306167813).epsilon(1e-12));
  CHECK(normal_quantile(0.5) == doctest::Approx(0.0));
  // A constant series has Var S = 0 after the tie correction: no evidence, p = 1.
  const MannKendall flat = mann_kendall(series({3, 3, 3, 3, 3}));
  CHECK(flat.var_s == 0);
  CHECK(flat.p_value == 1);
}

TEST_CASE("the 95% interval covers the true slope of a noisy line in 90-99% of 300 series") {
  int covered = 0;
  const int runs = 300;
  for (int seed = 0; seed < runs; ++seed) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(seed) + 1000);
    std::normal_distribution<double> noise(0, 3);
    std::vector<TrendPoint> p;
    for (int i = 0; i < 40; ++i)
      p.push_back({double(i), 2 + 0.5 * i + noise(rng), 0});
    const TheilSen ts = theil_sen(p, 0.95);
    if (ts.ci_low <= 0.5 && 0.5 <= ts.ci_high) ++covered;
  }
  MESSAGE("95% CI covered the true slope in " << covered << " of " << runs);
  CHECK(covered >= 270);
  CHECK(covered <= 297);
}

TEST_CASE("Theil-Sen pools segments: a restart does not read as a fall") {
  // Two lives of a process, each rising 2/s from 100: pooled, the slope is exactly 2.
  std::vector<TrendPoint> p;
  for (int i = 0; i < 20; ++i)
    p.push_back({double(i), 100 + 2.0 * i, 0});
  for (int i = 20; i < 40; ++i)
    p.push_back({double(i), 100 + 2.0 * (i - 20), 1});
  const TheilSen ts = theil_sen(p);
  CHECK(ts.slope == 2);
  CHECK(ts.intercept == doctest::Approx(100 - 2.0 * 20));  // the last segment's line
  CHECK(segment_intercept(p, 2, 0) == doctest::Approx(100));
  CHECK(mann_kendall(p).s == 2 * (20 * 19 / 2));
}

TEST_CASE("a change point is found where a flat series starts to rise, and not in a line") {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0, 1);
  std::vector<TrendPoint> hinge;
  std::vector<TrendPoint> line;
  for (int i = 0; i < 60; ++i) {
    hinge.push_back({double(i), (i < 24 ? 0 : 3.0 * (i - 24)) + noise(rng), 0});
    line.push_back({double(i), 2.0 * i + noise(rng), 0});
  }
  const auto cp = find_change_point(hinge, 4, 10, 0.5);
  REQUIRE(cp);
  CHECK(cp->index >= 21);
  CHECK(cp->index <= 27);
  CHECK(!find_change_point(line, 4, 10, 0.5));
  CHECK(fit_line(line).slope == doctest::Approx(2.0).epsilon(0.02));
}
