// Spare empty histograms for a worker's interval reports, so none is made on the worker's loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "engine/metrics/histogram.hpp"

namespace strain {

// A new 188 KB histogram costs ~46 page faults when its memory is fresh: taken on a worker's
// loop at every interval report, that was tens of milliseconds of schedule lateness while the
// process warmed up (and more under sanitizers). The worker takes empty histograms from its
// stock; the controller gives each report's histograms back once merged, cleared on its own
// thread. Bounded: past `capacity` a given histogram is freed.
class HistogramStock {
 public:
  explicit HistogramStock(std::size_t capacity = 256) : capacity_(capacity) {}

  // Any thread: an empty histogram of the default layout (1 µs .. 1 h, 3 digits), from the
  // stock when it has one, else made now (counted in misses()).
  Histogram take();
  // Any thread: `h` is cleared and kept while there is room and its layout is the default.
  void give(Histogram&& h);

  std::size_t size() const;
  std::uint64_t misses() const;  // take() calls that had to make a histogram

 private:
  mutable std::mutex mutex_;
  std::vector<Histogram> spares_;  // at most capacity_
  std::size_t capacity_;
  std::uint64_t misses_ = 0;
};

}  // namespace strain
