// Splitting a whole exactly: a segment's and a worker's share of a scenario's VUs, iterations
// and arrivals.
#pragma once

#include <cstdint>
#include <optional>

namespace strain {

// Part `index` of a whole split into `count` parts as evenly as possible; earlier parts take the
// remainder, so the parts of any total always sum to it exactly. A worker's share of a run is
// one of these. An execution segment (--segment) is one too, and a worker's share of a segmented
// run nests inside it: part `index` of `count` of part `segment` of `segments` of the whole, so
// the segments' parts sum exactly to the whole and their workers' parts to each segment's,
// whatever thread count each segment's process has.
struct Share {
  std::uint32_t index = 0;     // which part, < count
  std::uint32_t count = 1;     // how many parts (of the segment)
  std::uint32_t segment = 0;   // which execution segment the parts divide, < segments
  std::uint32_t segments = 1;  // how many segments the whole is cut into (1: not segmented)

  static constexpr Share whole() noexcept { return Share{0, 1}; }
  // Part `index` of `count` of `outer`, itself a part of the whole (not nested): a worker's
  // share of a segment.
  static constexpr Share within(Share outer, std::uint32_t index, std::uint32_t count) noexcept {
    return Share{index, count, outer.index, outer.count};
  }
  // The segment alone, as a part of the whole.
  constexpr Share outer() const noexcept { return Share{segment, segments}; }
  // This part of `total`.
  std::uint64_t of(std::uint64_t total) const noexcept;
  // The sum of the parts before this one: where this part starts (parts of earlier segments,
  // then earlier parts of this segment).
  std::uint64_t offset(std::uint64_t total) const noexcept;
  // This part when `total` is split among the parts that get any of `parts` only, so every
  // part that gets anything gets at least one (shared iterations among the workers with a
  // VU); 0 for the others. Segments first: each takes its part among the segments with any
  // of `parts`, then its workers theirs among those with any of the segment's.
  std::uint64_t of_among(std::uint64_t total, std::uint64_t parts) const noexcept;
  friend bool operator==(const Share&, const Share&) = default;
};

// Which of a scenario's arrivals one worker takes: in every cycle of `vus` consecutive arrivals
// it takes as many as it has VUs (its Share of `vus`), interleaved round-robin with the other
// workers. Arrivals then follow the VUs, so `max_vus` N split over any number of workers serves
// its arrivals as one pool of N would (an even split of arrivals over uneven VU shares overloads
// the worker with fewer VUs long before the pool is full). Segmented: each segment takes its
// VUs' worth of every cycle the same way, and its workers split the slots it took.
class ArrivalSplit {
 public:
  // `vus` >= 1: the scenario's VU count the shares are taken of (arrival-rate: max_vus).
  ArrivalSplit(Share share, std::uint64_t vus) noexcept;
  static ArrivalSplit whole() noexcept { return ArrivalSplit(Share::whole(), 1); }

  // Arrival k (scenario-wide, from 0) is this worker's.
  bool owns(std::uint64_t k) const noexcept;
  // The first arrival at or after k that is this worker's; nullopt when it takes none.
  std::optional<std::uint64_t> first_from(std::uint64_t k) const noexcept;
  // Arrivals this worker takes in every cycle of vus(): its share of the VUs.
  std::uint64_t per_cycle() const noexcept { return worker_.per_cycle(); }
  std::uint64_t vus() const noexcept { return vus_; }
  Share share() const noexcept { return share_; }

 private:
  // One level of the split: part `index` of `count` takes Share{index, count}.of(cycle) of the
  // `cycle` slots, the first count * (cycle / count) round-robin, the rest one each to the
  // first parts (exactly those Share::of gives one more).
  struct Cycle {
    std::uint64_t index = 0;
    std::uint64_t count = 1;
    std::uint64_t cycle = 1;
    std::uint64_t round_robin = 1;  // slots [0, round_robin) go slot % count

    Cycle(std::uint64_t index, std::uint64_t count, std::uint64_t cycle) noexcept;
    std::uint64_t per_cycle() const noexcept;
    bool owns(std::uint64_t slot) const noexcept;
    // Of an owned slot: how many owned slots come before it in the cycle.
    std::uint64_t rank(std::uint64_t slot) const noexcept;
    // The owned slot with that rank (< per_cycle()).
    std::uint64_t slot_of(std::uint64_t rank) const noexcept;
    // The first owned slot at or after `slot` in the cycle.
    std::optional<std::uint64_t> next(std::uint64_t slot) const noexcept;
  };

  Share share_;
  std::uint64_t vus_;
  Cycle segment_;  // the segment's slots of each cycle of vus_
  Cycle worker_;   // the worker's of the segment's, by rank
};

}  // namespace strain
