// Splitting a whole exactly: a worker's share of a scenario's VUs, iterations and arrivals.
#pragma once

#include <cstdint>
#include <optional>

namespace strain {

// Part `index` of a whole split into `count` parts as evenly as possible; earlier parts take the
// remainder, so the parts of any total always sum to it exactly. A worker's share of a run (and,
// later, an execution segment's share of a test) is one of these.
struct Share {
  std::uint32_t index = 0;  // which part, < count
  std::uint32_t count = 1;  // how many parts

  static constexpr Share whole() noexcept { return Share{0, 1}; }
  // This part of `total`.
  std::uint64_t of(std::uint64_t total) const noexcept;
  // The sum of the parts before this one: where this part starts.
  std::uint64_t offset(std::uint64_t total) const noexcept;
  // This part when `total` is split among the first min(count, total) parts only, so every
  // part that gets anything gets at least one (shared iterations among the workers with a
  // VU); 0 for the others.
  std::uint64_t of_among(std::uint64_t total, std::uint64_t parts) const noexcept;
  friend bool operator==(const Share&, const Share&) = default;
};

// Which of a scenario's arrivals one worker takes: in every cycle of `vus` consecutive arrivals
// it takes as many as it has VUs (its Share of `vus`), interleaved round-robin with the other
// workers. Arrivals then follow the VUs, so `max_vus` N split over any number of workers serves
// its arrivals as one pool of N would (an even split of arrivals over uneven VU shares overloads
// the worker with fewer VUs long before the pool is full).
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
  std::uint64_t per_cycle() const noexcept { return share_.of(vus_); }
  std::uint64_t vus() const noexcept { return vus_; }
  Share share() const noexcept { return share_; }

 private:
  Share share_;
  std::uint64_t vus_;
  std::uint64_t round_robin_;  // the first count * (vus / count) slots of a cycle go k % count
};

}  // namespace strain
