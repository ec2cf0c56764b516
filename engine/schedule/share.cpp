#include "engine/schedule/share.hpp"

#include <algorithm>

#include "engine/core/assert.hpp"

namespace strain {

std::uint64_t Share::of(std::uint64_t total) const noexcept {
  if (count == 0) return 0;
  return total / count + (index < total % count ? 1 : 0);
}

std::uint64_t Share::offset(std::uint64_t total) const noexcept {
  if (count == 0) return 0;
  const std::uint64_t base = total / count;
  const std::uint64_t extra = total % count;
  return base * index + std::min<std::uint64_t>(index, extra);
}

std::uint64_t Share::of_among(std::uint64_t total, std::uint64_t parts) const noexcept {
  const std::uint64_t among = std::min<std::uint64_t>(count, parts);
  if (index >= among) return 0;
  return Share{index, static_cast<std::uint32_t>(among)}.of(total);
}

ArrivalSplit::ArrivalSplit(Share share, std::uint64_t vus) noexcept
    : share_(share),
      vus_(std::max<std::uint64_t>(1, vus)),
      round_robin_(std::uint64_t{share.count} * (vus_ / std::max<std::uint32_t>(1, share.count))) {
  STRAIN_ASSERT(share.count > 0 && share.index < share.count);
}

bool ArrivalSplit::owns(std::uint64_t k) const noexcept {
  // Slots [0, round_robin) of a cycle go round-robin; the rest (fewer than count) go one each
  // to the first workers, which are exactly those holding one VU more (Share::of).
  const std::uint64_t slot = k % vus_;
  if (slot < round_robin_) return slot % share_.count == share_.index;
  return slot - round_robin_ == share_.index;
}

std::optional<std::uint64_t> ArrivalSplit::first_from(std::uint64_t k) const noexcept {
  if (per_cycle() == 0) return std::nullopt;
  // A worker's slots are never further apart than count in the round-robin part, plus the
  // tail of fewer than count slots: the walk is at most about 2 * count steps.
  while (!owns(k))
    ++k;
  return k;
}

}  // namespace strain
