#include "engine/soak/trend.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

namespace strain::soak {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Pairs only ever join points of one segment, so every computation walks groups of points
// sharing a segment. Sorting a copy makes the groups contiguous whatever the caller's order.
std::vector<TrendPoint> grouped(std::span<const TrendPoint> points) {
  std::vector<TrendPoint> out(points.begin(), points.end());
  std::stable_sort(out.begin(), out.end(), [](const TrendPoint& a, const TrendPoint& b) {
    return a.segment < b.segment || (a.segment == b.segment && a.t_s < b.t_s);
  });
  return out;
}

template <class F>
void for_each_segment(const std::vector<TrendPoint>& sorted, F f) {
  std::size_t begin = 0;
  while (begin < sorted.size()) {
    std::size_t end = begin + 1;
    while (end < sorted.size() && sorted[end].segment == sorted[begin].segment)
      ++end;
    f(begin, end);
    begin = end;
  }
}

int sign(double x) {
  return (x > 0) - (x < 0);
}

// Var(S) of one segment: n(n-1)(2n+5)/18 less the same term for every group of tied values
// (Kendall 1975; Gilbert 1987 eq. 16.4).
double segment_var_s(const std::vector<TrendPoint>& sorted, std::size_t begin, std::size_t end) {
  std::vector<double> values;
  values.reserve(end - begin);
  for (std::size_t i = begin; i < end; ++i)
    values.push_back(sorted[i].value);
  std::sort(values.begin(), values.end());
  auto term = [](double n) { return n * (n - 1) * (2 * n + 5); };
  double var = term(static_cast<double>(values.size()));
  for (std::size_t i = 0; i < values.size();) {
    std::size_t j = i + 1;
    while (j < values.size() && values[j] == values[i])
      ++j;
    if (j - i > 1) var -= term(static_cast<double>(j - i));
    i = j;
  }
  return var / 18.0;
}

double pooled_var_s(const std::vector<TrendPoint>& sorted) {
  double var = 0;
  for_each_segment(sorted,
                   [&](std::size_t b, std::size_t e) { var += segment_var_s(sorted, b, e); });
  return var;
}

// The value of 0-based fractional rank r among v (r clamped to the valid range), interpolating
// between neighbouring order statistics. Reorders v; O(n) per call.
double order_statistic(std::vector<double>& v, double r) {
  r = std::clamp(r, 0.0, static_cast<double>(v.size() - 1));
  const auto k = static_cast<std::size_t>(std::floor(r));
  const double frac = r - static_cast<double>(k);
  const auto kth = v.begin() + static_cast<std::ptrdiff_t>(k);
  std::nth_element(v.begin(), kth, v.end());
  const double low = *kth;
  if (frac == 0 || k + 1 >= v.size()) return low;
  // After nth_element everything past k is >= v[k]: the next order statistic is their minimum.
  const double high = *std::min_element(kth + 1, v.end());
  return low + frac * (high - low);
}

}  // namespace

MannKendall mann_kendall(std::span<const TrendPoint> points, double var_factor) {
  const std::vector<TrendPoint> sorted = grouped(points);
  MannKendall mk;
  mk.var_factor = var_factor;
  for_each_segment(sorted, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      for (std::size_t j = i + 1; j < e; ++j) {
        const int dt = sign(sorted[j].t_s - sorted[i].t_s);
        mk.s += dt * sign(sorted[j].value - sorted[i].value);
      }
    }
  });
  mk.var_s = pooled_var_s(sorted);
  if (mk.var_s <= 0) return mk;
  // The continuity correction moves S one step towards 0: S is an integer with steps of 2,
  // and the normal approximation is taken at the edge of the step.
  const double corrected = mk.s > 0 ? mk.s - 1 : mk.s < 0 ? mk.s + 1 : 0;
  mk.z = corrected / std::sqrt(mk.var_s * var_factor);
  mk.p_value = std::erfc(std::fabs(mk.z) / std::numbers::sqrt2);
  return mk;
}

TheilSen theil_sen(std::span<const TrendPoint> points, double confidence, double var_factor) {
  const std::vector<TrendPoint> sorted = grouped(points);
  std::vector<double> slopes;
  std::size_t max_pairs = 0;
  for_each_segment(sorted,
                   [&](std::size_t b, std::size_t e) { max_pairs += (e - b) * (e - b - 1) / 2; });
  slopes.reserve(max_pairs);
  for_each_segment(sorted, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      for (std::size_t j = i + 1; j < e; ++j) {
        const double dt = sorted[j].t_s - sorted[i].t_s;
        if (dt != 0) slopes.push_back((sorted[j].value - sorted[i].value) / dt);
      }
    }
  });
  TheilSen ts;
  ts.pairs = slopes.size();
  if (slopes.empty()) {
    ts.slope = ts.intercept = ts.ci_low = ts.ci_high = kNaN;
    return ts;
  }
  const double n = static_cast<double>(slopes.size());
  // Median of N' values: the mean of ranks (N'-1)/2 rounded down and up (0-based).
  const double mid = (n - 1) / 2;
  const double m_low = order_statistic(slopes, std::floor(mid));
  const double m_high = order_statistic(slopes, std::ceil(mid));
  ts.slope = (m_low + m_high) / 2;
  // Sen (1968) via Gilbert (1987, eq. 17.6-17.7): C = z_{1-a/2} sqrt(Var S); the bounds are
  // the M1-th and (M2+1)-th smallest slopes (1-based), M1 = (N'-C)/2, M2 = (N'+C)/2.
  // Fractional ranks are interpolated.
  const double c =
      normal_quantile(0.5 + confidence / 2) * std::sqrt(pooled_var_s(sorted) * var_factor);
  ts.ci_low = order_statistic(slopes, (n - c) / 2 - 1);
  ts.ci_high = order_statistic(slopes, (n + c) / 2);
  ts.intercept = segment_intercept(sorted, ts.slope, sorted.back().segment);
  return ts;
}

double segment_intercept(std::span<const TrendPoint> points, double slope, std::uint32_t segment) {
  std::vector<double> residuals;
  for (const TrendPoint& p : points) {
    if (p.segment == segment) residuals.push_back(p.value - slope * p.t_s);
  }
  if (residuals.empty()) return kNaN;
  const double n = static_cast<double>(residuals.size());
  const double mid = (n - 1) / 2;
  return (order_statistic(residuals, std::floor(mid)) +
          order_statistic(residuals, std::ceil(mid))) /
         2;
}

SerialCorrelation serial_correlation(std::span<const TrendPoint> points, double slope) {
  SerialCorrelation out;
  std::vector<TrendPoint> sorted = grouped(points);
  const std::size_t n = sorted.size();
  if (n < 4 || !std::isfinite(slope)) return out;
  // Detrend each segment with the common slope and its own intercept, so that the ranks carry
  // what is left: noise, and any slow wander the trend test would take for a trend.
  for_each_segment(sorted, [&](std::size_t b, std::size_t e) {
    const double c =
        segment_intercept(std::span(sorted).subspan(b, e - b), slope, sorted[b].segment);
    for (std::size_t i = b; i < e; ++i)
      sorted[i].value -= slope * sorted[i].t_s + c;
  });
  // Ranks of the residuals, ties sharing their mean rank.
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return sorted[a].value < sorted[b].value; });
  std::vector<double> rank(n);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && sorted[order[j]].value == sorted[order[i]].value)
      ++j;
    for (std::size_t k = i; k < j; ++k)
      rank[order[k]] = static_cast<double>(i + j + 1) / 2;
    i = j;
  }
  const double mean = static_cast<double>(n + 1) / 2;
  double denominator = 0;
  for (double r : rank)
    denominator += (r - mean) * (r - mean);
  if (denominator <= 0) return out;
  const double nd = static_cast<double>(n);
  const double bound = normal_quantile(0.975) / std::sqrt(nd);
  double sum = 0;
  for (std::size_t lag = 1; lag < n; ++lag) {
    double numerator = 0;
    for (std::size_t i = 0; i + lag < n; ++i) {
      if (sorted[i].segment == sorted[i + lag].segment) {
        numerator += (rank[i] - mean) * (rank[i + lag] - mean);
      }
    }
    const double rho = numerator / denominator;
    if (lag == 1) out.lag1 = rho;
    if (std::fabs(rho) <= bound) continue;
    const double k = static_cast<double>(lag);
    sum += (nd - k) * (nd - k - 1) * (nd - k - 2) * rho;
  }
  out.var_factor = std::max(1.0, 1 + 2 * sum / (nd * (nd - 1) * (nd - 2)));
  return out;
}

double normal_quantile(double p) {
  if (!(p > 0 && p < 1))
    return p == 0   ? -std::numeric_limits<double>::infinity()
           : p == 1 ? std::numeric_limits<double>::infinity()
                    : kNaN;
  // Acklam's rational approximation (relative error < 1.2e-9), then one Halley step on
  // erfc, which brings it to full double precision.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double p_low = 0.02425;
  double x = 0;
  if (p < p_low || p > 1 - p_low) {
    const double q = std::sqrt(-2 * std::log(p < p_low ? p : 1 - p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    if (p > 1 - p_low) x = -x;
  } else {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::numbers::sqrt2) - p;
  const double u = e * std::sqrt(2 * std::numbers::pi) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

}  // namespace strain::soak
