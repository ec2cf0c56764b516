// The knee of a latency-versus-throughput curve: the throughput where latency turns upward.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

namespace strain::stress {

// One step of a ramp, in the order measured.
struct CurvePoint {
  double x = 0;  // achieved throughput, requests per second
  double y = 0;  // latency at that throughput, ms
};

// Where the curve turns upward.
struct Knee {
  std::size_t index = 0;  // into the caller's points: the first measured point at the knee's x
  double x = 0;           // throughput at the knee, requests per second
  double y = 0;           // latency there, ms: the mean of the points measured at that x
};

// The knee of a convex increasing curve by Kneedle (Satopää et al. 2011): after sorting by x,
// merging equal x (mean y) and a running median of 3, the curve is scaled to the unit square
// and the knee is the point farthest below the diagonal (the maximum of x - y).
// std::nullopt with fewer than 4 distinct finite x, or when there is no knee: the curve is flat
// (rises by under 10% of its top), does not end above its start, or nowhere lies 0.1 or more
// below the diagonal (linear, concave). Non-finite points are ignored. O(n log n).
std::optional<Knee> find_knee(std::span<const CurvePoint> points);

}  // namespace strain::stress
