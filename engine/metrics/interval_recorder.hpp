// Per-worker interval recording: record into the active histogram, hand the interval up each
// second.
#pragma once

#include <cstdint>
#include <utility>

#include "engine/metrics/histogram.hpp"

namespace strain {

// A pair of same-config histograms owned by one worker. Single-threaded and lock-free by
// construction: only the owning worker touches it; what goes upward is a copy or an add.
// Memory: two histograms (2 x 188,416 bytes of counts at the default config).
class IntervalRecorder {
 public:
  // Throws strain::Error on an invalid configuration (see HistogramLayout::compute).
  explicit IntervalRecorder(std::int64_t lowest_discernible = 1,
                            std::int64_t highest_trackable = Histogram::kDefaultHighestTrackable,
                            int significant_digits = 3)
      : active_(lowest_discernible, highest_trackable, significant_digits),
        finished_(lowest_discernible, highest_trackable, significant_digits) {}

  // Hot path; see Histogram::record.
  void record(std::int64_t value) noexcept { active_.record(value); }
  void record_n(std::int64_t value, std::int64_t count) noexcept { active_.record_n(value, count); }

  // Ends the interval: returns its histogram and starts an empty one. No allocation (a swap
  // of the two count arrays). The reference stays valid until the next swap_out().
  const Histogram& swap_out() noexcept {
    std::swap(active_, finished_);
    active_.reset();
    return finished_;
  }

  // Ends the interval by adding its counts into `out` (any config; same config is exact
  // bucket for bucket), then starts an empty one.
  void take_interval(Histogram& out) {
    out.add(active_);
    active_.reset();
  }

  // The interval being recorded (for a live peek; no copy).
  const Histogram& active() const noexcept { return active_; }

 private:
  Histogram active_;    // receives record() until the interval ends
  Histogram finished_;  // the last finished interval, returned by swap_out()
};

}  // namespace strain
