// The charts every result has: its timeline (latency, throughput, errors, schedule lag) and
// its percentile distribution.
#pragma once

#include <vector>

#include "engine/results/run_result.hpp"
#include "reporters/html/svg_chart.hpp"

namespace strain::html {

// Latency, throughput, errors by kind and schedule lag over the run's time, in that order.
// A chart with nothing to show keeps its place and says why (see render_chart).
std::vector<ChartSpec> timeline_charts(const RunResult& result);

// Response and service time by percentile (HdrHistogram's plot: x = 1/(1-p) on a log axis),
// from the whole run's histograms.
ChartSpec distribution_chart(const RunResult& result);

// One histogram (µs) as a step curve of (1/(1-p), ms): for each recorded bucket, a flat
// segment over the percentiles it holds. The last bucket ends at x = total count.
std::vector<Point> percentile_curve(const Histogram& histogram_us);

}  // namespace strain::html
