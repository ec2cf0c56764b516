#include "engine/schedule/share.hpp"

#include <algorithm>

#include "engine/core/assert.hpp"

namespace strain {
namespace {

// One level: part `index` of `count` of `total`, and the parts before it.
std::uint64_t part_of(std::uint64_t index, std::uint64_t count, std::uint64_t total) noexcept {
  if (count == 0) return 0;
  return total / count + (index < total % count ? 1 : 0);
}

std::uint64_t part_offset(std::uint64_t index, std::uint64_t count, std::uint64_t total) noexcept {
  if (count == 0) return 0;
  const std::uint64_t base = total / count;
  const std::uint64_t extra = total % count;
  return base * index + std::min<std::uint64_t>(index, extra);
}

std::uint64_t part_among(std::uint64_t index, std::uint64_t count, std::uint64_t total,
                         std::uint64_t parts) noexcept {
  const std::uint64_t among = std::min<std::uint64_t>(count, parts);
  if (index >= among) return 0;
  return part_of(index, among, total);
}

}  // namespace

std::uint64_t Share::of(std::uint64_t total) const noexcept {
  return part_of(index, count, part_of(segment, segments, total));
}

std::uint64_t Share::offset(std::uint64_t total) const noexcept {
  return part_offset(segment, segments, total) +
         part_offset(index, count, part_of(segment, segments, total));
}

std::uint64_t Share::of_among(std::uint64_t total, std::uint64_t parts) const noexcept {
  // A segment holds parts iff its index is below `parts` (Share::of gives the first ones the
  // remainder), which is exactly who part_among gives a share: no segment's pool waits on VUs
  // it does not have, and likewise for its workers.
  const std::uint64_t segment_total = part_among(segment, segments, total, parts);
  return part_among(index, count, segment_total, part_of(segment, segments, parts));
}

ArrivalSplit::Cycle::Cycle(std::uint64_t index_in, std::uint64_t count_in,
                           std::uint64_t cycle_in) noexcept
    : index(index_in),
      count(std::max<std::uint64_t>(1, count_in)),
      cycle(cycle_in),
      round_robin(count * (cycle_in / count)) {}

std::uint64_t ArrivalSplit::Cycle::per_cycle() const noexcept {
  return part_of(index, count, cycle);
}

bool ArrivalSplit::Cycle::owns(std::uint64_t slot) const noexcept {
  // Slots [0, round_robin) go round-robin; the rest (fewer than count) go one each to the
  // first parts, which are exactly those holding one more (Share::of).
  if (slot < round_robin) return slot % count == index;
  return slot - round_robin == index;
}

std::uint64_t ArrivalSplit::Cycle::rank(std::uint64_t slot) const noexcept {
  return slot < round_robin ? slot / count : round_robin / count;
}

std::uint64_t ArrivalSplit::Cycle::slot_of(std::uint64_t r) const noexcept {
  return r < round_robin / count ? r * count + index : round_robin + index;
}

std::optional<std::uint64_t> ArrivalSplit::Cycle::next(std::uint64_t slot) const noexcept {
  if (slot < round_robin) {
    const std::uint64_t up = slot + (index + count - slot % count) % count;
    if (up < round_robin) return up;
  }
  const std::uint64_t tail = round_robin + index;
  if (tail < cycle && tail >= slot) return tail;
  return std::nullopt;
}

ArrivalSplit::ArrivalSplit(Share share, std::uint64_t vus) noexcept
    : share_(share),
      vus_(std::max<std::uint64_t>(1, vus)),
      segment_(share.segment, share.segments, vus_),
      worker_(share.index, share.count, segment_.per_cycle()) {
  STRAIN_ASSERT(share.count > 0 && share.index < share.count);
  STRAIN_ASSERT(share.segments > 0 && share.segment < share.segments);
}

bool ArrivalSplit::owns(std::uint64_t k) const noexcept {
  const std::uint64_t slot = k % vus_;
  return segment_.owns(slot) && worker_.owns(segment_.rank(slot));
}

std::optional<std::uint64_t> ArrivalSplit::first_from(std::uint64_t k) const noexcept {
  if (per_cycle() == 0) return std::nullopt;
  // The segment's next slot, then the worker's next among the segment's (ranks and slots
  // rise together); none left in this cycle means the next cycle's first, which exists.
  for (;;) {
    const std::uint64_t base = k - k % vus_;
    if (const auto slot = segment_.next(k % vus_)) {
      if (const auto r = worker_.next(segment_.rank(*slot))) return base + segment_.slot_of(*r);
    }
    k = base + vus_;
  }
}

}  // namespace strain
