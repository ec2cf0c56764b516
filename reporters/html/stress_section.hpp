// The stress part of the page: the steps as latency against throughput (the knee, the breaking
// point), throughput against concurrency with the fitted USL curve, the steps table and the
// verdict paragraph.
#pragma once

#include <string>
#include <vector>

#include "engine/results/stress_report.hpp"
#include "reporters/html/svg_chart.hpp"

namespace strain::html {

// HTML for a <section>.
std::string render_stress_section(const StressReport& stress);

// X(N) = lambda N / (1 + sigma (N - 1) + kappa N (N - 1)) at `samples` N over [n_lo, n_hi],
// evenly spaced (or geometrically, for a log axis); points where the model has no meaning
// (denominator <= 0) are left out.
std::vector<Point> usl_curve(const StressUsl& usl, double n_lo, double n_hi, int samples,
                             bool log_spaced = false);

}  // namespace strain::html
