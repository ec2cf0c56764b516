// What the steps say once the search is over: the knee, what saturated, how the target fails,
// the USL fit, the headroom, and the paragraph a manager reads. Pure: steps in, report out.
#pragma once

#include <optional>

#include "engine/results/stress_report.hpp"

namespace strain::stress {

// Fills knee_rps, saturated, failure_mode (+ reason), usl (or usl_note), headroom and verdict
// from report.steps, max_sustainable_rps (or _vus), first_bad_rps, first_failure and end.
// `expected_peak` is a rate per second, or VUs when report.vus_search.
void analyse(StressReport& report, std::optional<double> expected_peak);

// How the target fails past its breaking point, in Release It!'s terms, from the steps above
// the sustainable level (rate or VUs): "sheds" (fast refusals, successes hold), "queues" (latency
// climbs, few errors) or "collapses" (timeouts and connection errors, successes fall). Empty when
// no step broke; `reason` says what the figures were.
const char* failure_mode(const StressReport& report, std::string& reason);

}  // namespace strain::stress
