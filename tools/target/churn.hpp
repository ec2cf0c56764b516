// --churn: heavy allocation churn per served request that keeps nothing for good.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "tools/target/rng.hpp"

namespace strain::target {

// One per worker, used only on its thread. Each served request allocates 1..kMaxBlocks blocks
// of kMinBlockBytes..kMaxBlockBytes (log-uniform), writes to every page of each, and frees them
// at the end of the request, except about one in kKeepOneIn, which goes into a ring of
// kRingBlocks and is freed when the ring comes round: a few requests later. So the live set is
// bounded (at most kRingBlocks * kMaxBlockBytes between requests) and RSS has a flat floor.
class Churn {
 public:
  static constexpr std::size_t kMaxBlocks = 64;
  static constexpr std::size_t kMinBlockBytes = 16;
  static constexpr std::size_t kMaxBlockBytes = 64 * 1024;
  static constexpr std::size_t kRingBlocks = 32;
  static constexpr std::uint64_t kKeepOneIn = 8;

  // Draws sizes and counts from `rng` only, so the same seed churns the same way.
  explicit Churn(Rng rng);

  // What one round did.
  struct Round {
    std::uint64_t blocks = 0;  // allocated (and freed now or later)
    std::uint64_t bytes = 0;   // their sizes summed
  };
  // One served request's churn.
  Round on_served();
  // Bytes in the ring now: allocated by earlier rounds and not yet freed.
  std::uint64_t kept_bytes() const noexcept { return kept_bytes_; }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    std::size_t bytes = 0;
  };

  Rng rng_;
  std::vector<Block> scratch_;  // this round's blocks, freed at its end; capacity kMaxBlocks
  std::array<Block, kRingBlocks> ring_;
  std::size_t ring_next_ = 0;  // the slot the next kept block replaces
  std::uint64_t kept_bytes_ = 0;
};

}  // namespace strain::target
