#include "tools/target/churn.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace strain::target;

TEST_CASE("churn: the same seed churns the same way, another seed differently") {
  Churn a(Rng(7, 0));
  Churn b(Rng(7, 0));
  Churn c(Rng(8, 0));
  bool differs = false;
  for (int i = 0; i < 200; ++i) {
    const auto ra = a.on_served();
    const auto rb = b.on_served();
    const auto rc = c.on_served();
    CHECK(ra.blocks == rb.blocks);
    CHECK(ra.bytes == rb.bytes);
    differs = differs || ra.bytes != rc.bytes;
  }
  CHECK(a.kept_bytes() == b.kept_bytes());
  CHECK(differs);
}

TEST_CASE("churn: counts and sizes in range, and what is kept stays bounded") {
  Churn churn(Rng(1, 3));
  std::uint64_t blocks = 0;
  std::uint64_t max_kept = 0;
  constexpr int kRounds = 5000;
  for (int i = 0; i < kRounds; ++i) {
    const auto r = churn.on_served();
    REQUIRE(r.blocks >= 1);
    REQUIRE(r.blocks <= Churn::kMaxBlocks);
    REQUIRE(r.bytes >= r.blocks * Churn::kMinBlockBytes);
    REQUIRE(r.bytes <= r.blocks * Churn::kMaxBlockBytes);
    blocks += r.blocks;
    max_kept = std::max(max_kept, churn.kept_bytes());
  }
  // 1..64 uniform: a mean of 32.5 a round.
  const double mean = static_cast<double>(blocks) / kRounds;
  CHECK(mean > 31.0);
  CHECK(mean < 34.0);
  CHECK(max_kept <= Churn::kRingBlocks * Churn::kMaxBlockBytes);
  CHECK(max_kept > 0);
}
