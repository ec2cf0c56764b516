#include "tools/target/churn.hpp"

#include <algorithm>
#include <cmath>

namespace strain::target {
namespace {

// Pages are at least this big everywhere strain-target runs; a write every this many bytes
// makes each page of a block resident without the cost of filling it.
constexpr std::size_t kTouchStride = 4096;

}  // namespace

Churn::Churn(Rng rng) : rng_(rng) {
  scratch_.reserve(kMaxBlocks);
}

Churn::Round Churn::on_served() {
  Round round;
  const auto blocks = 1 + rng_.next() % kMaxBlocks;
  // Log-uniform sizes: as many blocks of 16-256 B as of 4-64 KiB, as in a program's heap,
  // rather than almost all of them large.
  const double span = std::log(static_cast<double>(kMaxBlockBytes) / kMinBlockBytes);
  for (std::uint64_t i = 0; i < blocks; ++i) {
    const double x = static_cast<double>(kMinBlockBytes) * std::exp(rng_.uniform() * span);
    const auto bytes = std::clamp(static_cast<std::size_t>(x), kMinBlockBytes, kMaxBlockBytes);
    Block b{std::unique_ptr<char[]>(new char[bytes]), bytes};
    for (std::size_t at = 0; at < bytes; at += kTouchStride)
      b.data[at] = static_cast<char>(at);
    b.data[bytes - 1] = 1;
    round.bytes += bytes;
    if (rng_.next() % kKeepOneIn == 0) {
      // Replacing the slot frees the block kept kRingBlocks keeps ago.
      auto& slot = ring_[ring_next_];
      kept_bytes_ = kept_bytes_ - slot.bytes + bytes;
      slot = std::move(b);
      ring_next_ = (ring_next_ + 1) % kRingBlocks;
    } else {
      scratch_.push_back(std::move(b));
    }
  }
  round.blocks = blocks;
  // Held in a member until here, so the compiler cannot pair each new with a delete and drop
  // both: the allocator really sees the whole round.
  scratch_.clear();
  return round;
}

}  // namespace strain::target
