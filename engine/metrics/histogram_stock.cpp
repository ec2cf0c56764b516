#include "engine/metrics/histogram_stock.hpp"

#include <utility>

namespace strain {
namespace {
bool default_layout(const Histogram& h) {
  return h.lowest_discernible() == 1 &&
         h.highest_trackable() == Histogram::kDefaultHighestTrackable &&
         h.significant_digits() == 3;
}
}  // namespace

Histogram HistogramStock::take() {
  {
    std::lock_guard lock(mutex_);
    if (!spares_.empty()) {
      Histogram h = std::move(spares_.back());
      spares_.pop_back();
      return h;
    }
    ++misses_;
  }
  return Histogram();
}

void HistogramStock::give(Histogram&& h) {
  // A moved-from histogram has no counts left to reuse.
  if (h.counts_bytes() == 0 || !default_layout(h)) return;
  // Cleared by the giver (the controller), outside the lock: only the touched range is zeroed.
  h.reset();
  std::lock_guard lock(mutex_);
  if (spares_.size() < capacity_) spares_.push_back(std::move(h));
}

std::size_t HistogramStock::size() const {
  std::lock_guard lock(mutex_);
  return spares_.size();
}

std::uint64_t HistogramStock::misses() const {
  std::lock_guard lock(mutex_);
  return misses_;
}

}  // namespace strain
