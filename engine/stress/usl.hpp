// Universal Scalability Law (Gunther): a fit of throughput against concurrency, and its peak.
#pragma once

#include <optional>
#include <span>
#include <string>

namespace strain::stress {

// One measured step of a ramp: the throughput held at one concurrency.
struct UslPoint {
  double concurrency = 0;     // N: requests in flight (VUs, connections); ignored when <= 0
  double throughput_rps = 0;  // X(N): completed requests per second; ignored when <= 0
};

// X(N) = lambda N / (1 + sigma (N - 1) + kappa N (N - 1)), fitted by least squares in X.
struct UslFit {
  bool ok = false;    // false: too few points (< 4 distinct N) or a degenerate fit; `why` says
  double sigma = 0;   // contention (serialised fraction of the work), >= 0
  double kappa = 0;   // coherency (cost of crosstalk between units), >= 0
  double lambda = 0;  // throughput of one unit of concurrency, per second
  double r2 = 0;      // coefficient of determination in throughput space; 0 when all X are equal
  std::optional<double> peak_concurrency;  // sqrt((1 - sigma) / kappa) when kappa > 0, sigma < 1
                                           // and that is >= 1 (X falls from N = 1 otherwise)
  double peak_rps = 0;  // X at the peak; lambda / sigma (N -> inf) when kappa = 0 < sigma < 1;
                        // otherwise (sigma = kappa = 0, sigma >= 1, a peak below N = 1) the
                        // highest X predicted at the observed N: never infinite
  std::string why;      // a sentence when !ok
};

// Fits the USL to `points` (any order; N <= 0, X <= 0 and non-finite points are ignored) with
// sigma, kappa >= 0, minimising the sum of squared throughput residuals. Bounded work: O(n).
UslFit fit_usl(std::span<const UslPoint> points);

// X predicted by `fit` at `concurrency`, per second. 0 when !fit.ok, when concurrency is not
// positive and finite, or where the model has no meaning (denominator <= 0: only below N = 1
// with sigma >= 1).
double usl_throughput(const UslFit& fit, double concurrency);

}  // namespace strain::stress
