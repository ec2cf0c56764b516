#include "engine/stress/usl.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace strain::stress {
namespace {

constexpr std::size_t kMinDistinctConcurrency = 4;
// Lambda is first located on a log grid, then refined by golden section between the grid
// neighbours of the best node: the grid guards against a profile with more than one dip, the
// golden section gives full precision. 64 nodes over at most a few decades is < 10% apart.
constexpr int kLambdaGridNodes = 64;
constexpr int kGoldenSectionIterations = 80;  // 0.618^80 ~ 1e-17: the bracket is spent
constexpr int kPolishIterations = 50;
constexpr int kDampingAttempts = 12;
// Roundoff leaves a coefficient the data say is 0 at 1e-19 or so, which would put the peak at
// N ~ 1e9. A term worth less than this share of the denominator at the largest measured N moves
// no prediction in the measured range by more than that share: it is taken as 0.
constexpr double kNegligibleShare = 1e-9;
constexpr double kInfinity = std::numeric_limits<double>::infinity();

// One usable measurement.
struct Sample {
  double n = 0;  // concurrency
  double x = 0;  // throughput, per second
};

struct Params {
  double lambda = 0;
  double sigma = 0;
  double kappa = 0;
};

double denominator(const Params& p, double n) {
  return 1 + p.sigma * (n - 1) + p.kappa * n * (n - 1);
}

// Sum of squared throughput residuals. A non-positive denominator (possible only below N = 1)
// is outside the model: +inf keeps every search away from it.
double sse(const Params& p, const std::vector<Sample>& samples) {
  double sum = 0;
  for (const Sample& s : samples) {
    const double d = denominator(p, s.n);
    if (!(d > 0)) return kInfinity;
    const double r = s.x - p.lambda * s.n / d;
    sum += r * r;
  }
  return sum;
}

std::vector<Sample> usable(std::span<const UslPoint> points) {
  std::vector<Sample> out;
  out.reserve(points.size());
  for (const UslPoint& p : points) {
    if (std::isfinite(p.concurrency) && std::isfinite(p.throughput_rps) && p.concurrency > 0 &&
        p.throughput_rps > 0) {
      out.push_back({p.concurrency, p.throughput_rps});
    }
  }
  return out;
}

std::size_t distinct_concurrency(const std::vector<Sample>& samples) {
  std::vector<double> n;
  n.reserve(samples.size());
  for (const Sample& s : samples)
    n.push_back(s.n);
  std::sort(n.begin(), n.end());
  return static_cast<std::size_t>(std::unique(n.begin(), n.end()) - n.begin());
}

// For a fixed lambda, y = lambda N / X - 1 = sigma (N - 1) + kappa N (N - 1) is linear in
// (sigma, kappa). A residual dy in y is a residual of about -X^2 / (lambda N) dX in X, so the
// weights (X^2 / N)^2 (lambda is a common factor) make this linear fit approximate the one in
// throughput space: unweighted, the high-N points, where y is large, would dominate.
struct NormalEquations {
  double aa = 0, ab = 0, bb = 0, ay = 0, by = 0;  // weighted sums; a = N - 1, b = N (N - 1)
};

NormalEquations normal_equations(const std::vector<Sample>& samples, double lambda) {
  double max_weight = 0;
  for (const Sample& s : samples)
    max_weight = std::max(max_weight, std::pow(s.x * s.x / s.n, 2));
  NormalEquations e;
  for (const Sample& s : samples) {
    // Scaled to at most 1 so the sums of N^4-sized terms stay far from overflow.
    const double w = std::pow(s.x * s.x / s.n, 2) / max_weight;
    const double a = s.n - 1;
    const double b = s.n * (s.n - 1);
    const double y = lambda * s.n / s.x - 1;
    e.aa += w * a * a;
    e.ab += w * a * b;
    e.bb += w * b * b;
    e.ay += w * a * y;
    e.by += w * b * y;
  }
  return e;
}

// Weighted squared error of (sigma, kappa) less the constant sum w y^2.
double objective(const NormalEquations& e, double sigma, double kappa) {
  return sigma * sigma * e.aa + 2 * sigma * kappa * e.ab + kappa * kappa * e.bb - 2 * sigma * e.ay -
         2 * kappa * e.by;
}

// Non-negative least squares in two variables: the optimum of a convex quadratic over the
// quadrant lies in the interior or on one of its faces, so the best feasible candidate among
// the four active sets (both free, kappa = 0, sigma = 0, both 0) is the solution.
Params nonnegative_fit(const NormalEquations& e, double lambda) {
  std::array<Params, 4> candidates{};
  candidates.fill({lambda, 0, 0});
  const double det = e.aa * e.bb - e.ab * e.ab;
  if (det > 1e-12 * e.aa * e.bb) {
    candidates[0].sigma = (e.ay * e.bb - e.by * e.ab) / det;
    candidates[0].kappa = (e.by * e.aa - e.ay * e.ab) / det;
    if (candidates[0].sigma < 0 || candidates[0].kappa < 0) candidates[0] = {lambda, 0, 0};
  }
  if (e.aa > 0) candidates[1].sigma = std::max(0.0, e.ay / e.aa);
  if (e.bb > 0) candidates[2].kappa = std::max(0.0, e.by / e.bb);
  return *std::min_element(candidates.begin(), candidates.end(),
                           [&](const Params& l, const Params& r) {
                             return objective(e, l.sigma, l.kappa) < objective(e, r.sigma, r.kappa);
                           });
}

Params profile(const std::vector<Sample>& samples, double lambda) {
  return nonnegative_fit(normal_equations(samples, lambda), lambda);
}

double profile_sse(const std::vector<Sample>& samples, double lambda) {
  return sse(profile(samples, lambda), samples);
}

// The range searched for lambda. With sigma, kappa >= 0 the denominator is >= 1 for N >= 1, so
// every X/N is at most lambda: lambda >= max X/N, halved as a margin for noise. Below the
// peak X rises with N, so lambda = X(1) <= X at the smallest measured N <= max X (when N < 1
// is measured, X/N there bounds lambda too): doubled for noise. A ramp that starts past the
// peak leaves lambda unidentifiable anyway; the fit is then the best inside this range.
std::pair<double, double> lambda_range(const std::vector<Sample>& samples) {
  double max_ratio = 0;
  double max_x = 0;
  for (const Sample& s : samples) {
    max_ratio = std::max(max_ratio, s.x / s.n);
    max_x = std::max(max_x, s.x);
  }
  return {0.5 * max_ratio, 2 * std::max(max_x, max_ratio)};
}

double best_lambda(const std::vector<Sample>& samples) {
  const auto [lo, hi] = lambda_range(samples);
  const double step = std::log(hi / lo) / (kLambdaGridNodes - 1);
  auto node = [&](int i) { return lo * std::exp(step * i); };
  int best = 0;
  double best_sse = kInfinity;
  for (int i = 0; i < kLambdaGridNodes; ++i) {
    const double value = profile_sse(samples, node(i));
    if (value < best_sse) {
      best_sse = value;
      best = i;
    }
  }
  double a = node(std::max(best - 1, 0));
  double b = node(std::min(best + 1, kLambdaGridNodes - 1));
  const double inv_phi = (std::sqrt(5.0) - 1) / 2;
  double c = b - inv_phi * (b - a);
  double d = a + inv_phi * (b - a);
  double fc = profile_sse(samples, c);
  double fd = profile_sse(samples, d);
  for (int i = 0; i < kGoldenSectionIterations && b - a > 1e-12 * b; ++i) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - inv_phi * (b - a);
      fc = profile_sse(samples, c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + inv_phi * (b - a);
      fd = profile_sse(samples, d);
    }
  }
  const double golden = fc < fd ? c : d;
  return std::min(fc, fd) <= best_sse ? golden : node(best);
}

using Matrix3 = std::array<std::array<double, 3>, 3>;
using Vector3 = std::array<double, 3>;

// Gaussian elimination with partial pivoting; false when the system is singular.
bool solve3(Matrix3 m, Vector3 v, Vector3& out) {
  for (std::size_t col = 0; col < 3; ++col) {
    std::size_t pivot = col;
    for (std::size_t row = col + 1; row < 3; ++row) {
      if (std::abs(m[row][col]) > std::abs(m[pivot][col])) pivot = row;
    }
    if (!(std::abs(m[pivot][col]) > 0)) return false;
    std::swap(m[col], m[pivot]);
    std::swap(v[col], v[pivot]);
    for (std::size_t row = col + 1; row < 3; ++row) {
      const double f = m[row][col] / m[col][col];
      for (std::size_t k = col; k < 3; ++k)
        m[row][k] -= f * m[col][k];
      v[row] -= f * v[col];
    }
  }
  for (std::size_t i = 3; i-- > 0;) {
    double s = v[i];
    for (std::size_t k = i + 1; k < 3; ++k)
      s -= m[i][k] * out[k];
    out[i] = s / m[i][i];
  }
  return std::all_of(out.begin(), out.end(), [](double x) { return std::isfinite(x); });
}

// The profile search fits (sigma, kappa) in the linearised, weighted space; a few damped
// Gauss-Newton (Levenberg-Marquardt) steps on all three parameters then reach the exact
// least-squares optimum in throughput space. A step is kept only when it lowers the error, so
// the polish can never make the fit worse. A parameter at its bound of 0 whose gradient points
// below it is held there (a projected step) rather than clipped after the fact.
Params polish(Params p, const std::vector<Sample>& samples) {
  double current = sse(p, samples);
  if (!std::isfinite(current)) return p;  // outside the model: no derivative to follow
  double damping = 1e-3;
  for (int it = 0; it < kPolishIterations; ++it) {
    Matrix3 jtj{};
    Vector3 jtr{};
    for (const Sample& s : samples) {
      const double d = denominator(p, s.n);
      const double r = s.x - p.lambda * s.n / d;
      const Vector3 j = {s.n / d, -p.lambda * s.n * (s.n - 1) / (d * d),
                         -p.lambda * s.n * s.n * (s.n - 1) / (d * d)};
      for (std::size_t a = 0; a < 3; ++a) {
        jtr[a] += j[a] * r;
        for (std::size_t b = 0; b < 3; ++b)
          jtj[a][b] += j[a] * j[b];
      }
    }
    const std::array<bool, 3> held = {false, p.sigma <= 0 && jtr[1] <= 0,
                                      p.kappa <= 0 && jtr[2] <= 0};
    bool improved = false;
    for (int attempt = 0; attempt < kDampingAttempts && !improved; ++attempt) {
      Matrix3 m = jtj;
      Vector3 v = jtr;
      for (std::size_t a = 0; a < 3; ++a) {
        // Marquardt's scaling by the diagonal: kappa is orders of magnitude below sigma.
        m[a][a] *= 1 + damping;
        if (held[a]) {
          for (std::size_t b = 0; b < 3; ++b)
            m[a][b] = m[b][a] = 0;
          m[a][a] = 1;
          v[a] = 0;
        }
      }
      Vector3 step{};
      if (solve3(m, v, step)) {
        const Params q = {p.lambda + step[0], std::max(0.0, p.sigma + step[1]),
                          std::max(0.0, p.kappa + step[2])};
        const double next = q.lambda > 0 ? sse(q, samples) : kInfinity;
        if (next < current) {
          improved = true;
          const bool converged = current - next <= 1e-15 * current;
          p = q;
          current = next;
          damping = std::max(damping / 10, 1e-12);
          if (converged) return p;
        }
      }
      if (!improved) damping *= 10;
    }
    if (!improved) break;
  }
  return p;
}

Params drop_negligible(Params p, const std::vector<Sample>& samples) {
  double max_n = 0;
  for (const Sample& s : samples)
    max_n = std::max(max_n, s.n);
  const double sigma_term = std::abs(p.sigma * (max_n - 1));
  const double kappa_term = std::abs(p.kappa * max_n * (max_n - 1));
  const double d = denominator(p, max_n);
  if (kappa_term <= kNegligibleShare * d) p.kappa = 0;
  if (sigma_term <= kNegligibleShare * d) p.sigma = 0;
  return p;
}

double r_squared(const Params& p, const std::vector<Sample>& samples) {
  const double mean = std::accumulate(samples.begin(), samples.end(), 0.0,
                                      [](double acc, const Sample& s) { return acc + s.x; }) /
                      static_cast<double>(samples.size());
  double total = 0;
  for (const Sample& s : samples)
    total += (s.x - mean) * (s.x - mean);
  return total > 0 ? 1 - sse(p, samples) / total : 0;
}

double max_predicted(const UslFit& fit, const std::vector<Sample>& samples) {
  double best = 0;
  for (const Sample& s : samples)
    best = std::max(best, usl_throughput(fit, s.n));
  return best;
}

// X rises while 1 - sigma - kappa N^2 > 0 (the sign of dX/dN), so the peak is at
// N = sqrt((1 - sigma) / kappa). With kappa = 0 X rises towards lambda / sigma for sigma < 1.
// X never rises from N = 1 on when sigma >= 1 or when that peak is below 1, where the model's
// denominator can approach 0 and X(peak) is a pole, not a throughput; and with sigma = kappa = 0
// X rises without bound. In those the only honest peak is the best within the measured range.
void set_peak(UslFit& fit, const std::vector<Sample>& samples) {
  const double peak_n = fit.kappa > 0 && fit.sigma < 1 ? std::sqrt((1 - fit.sigma) / fit.kappa) : 0;
  if (peak_n >= 1) {
    fit.peak_concurrency = peak_n;
    fit.peak_rps = usl_throughput(fit, peak_n);
  } else if (fit.kappa == 0 && fit.sigma > 0 && fit.sigma < 1) {
    fit.peak_rps = fit.lambda / fit.sigma;
  } else {
    fit.peak_rps = max_predicted(fit, samples);
  }
}

}  // namespace

UslFit fit_usl(std::span<const UslPoint> points) {
  UslFit fit;
  const std::vector<Sample> samples = usable(points);
  const std::size_t distinct = distinct_concurrency(samples);
  if (distinct < kMinDistinctConcurrency) {
    fit.why = "the USL needs throughput at 4 or more distinct concurrency levels; got " +
              std::to_string(distinct) + " (" + std::to_string(points.size() - samples.size()) +
              " of " + std::to_string(points.size()) +
              " points ignored for a concurrency or throughput that is not positive and finite)";
    return fit;
  }
  const Params p =
      drop_negligible(polish(profile(samples, best_lambda(samples)), samples), samples);
  if (!std::isfinite(p.lambda) || !std::isfinite(p.sigma) || !std::isfinite(p.kappa) ||
      !(p.lambda > 0) || !std::isfinite(sse(p, samples))) {
    fit.why = "the USL fit did not reach finite coefficients with lambda > 0";
    return fit;
  }
  fit.ok = true;
  fit.lambda = p.lambda;
  fit.sigma = p.sigma;
  fit.kappa = p.kappa;
  fit.r2 = r_squared(p, samples);
  set_peak(fit, samples);
  return fit;
}

double usl_throughput(const UslFit& fit, double concurrency) {
  if (!fit.ok || !std::isfinite(concurrency) || !(concurrency > 0)) return 0;
  const double d = denominator({fit.lambda, fit.sigma, fit.kappa}, concurrency);
  return d > 0 ? fit.lambda * concurrency / d : 0;
}

}  // namespace strain::stress
