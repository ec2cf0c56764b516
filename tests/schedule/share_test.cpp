// Execution segments: a worker's share nested in a segment's. Whatever thread count each
// segment's process has, the parts must sum exactly to the whole, each segment's workers to
// that segment's part, and every VU id and arrival index must be held exactly once.
#include "engine/schedule/share.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <vector>

using namespace strain;

namespace {

// Worker counts of the segments' processes: deliberately unequal (machines differ), and some
// with more workers than their segment has of anything.
std::vector<std::uint32_t> workers_of(std::uint32_t segments, std::uint32_t pattern) {
  std::vector<std::uint32_t> w;
  for (std::uint32_t s = 0; s < segments; ++s)
    w.push_back(pattern == 0 ? 1 + (s * 5 + 2) % 4 : pattern);
  return w;
}

// Every (segment, worker) share of a test cut into `segments`, in order.
std::vector<Share> all_shares(std::uint32_t segments, const std::vector<std::uint32_t>& workers) {
  std::vector<Share> out;
  for (std::uint32_t s = 0; s < segments; ++s)
    for (std::uint32_t w = 0; w < workers[s]; ++w)
      out.push_back(Share::within(Share{s, segments}, w, workers[s]));
  return out;
}

// The round-robin rule of one split level, written out from its description: of every cycle
// of `cycle` slots, the first count * (cycle / count) go slot % count, the rest one each to
// parts 0, 1, ...
bool round_robin_owns(std::uint64_t index, std::uint64_t count, std::uint64_t cycle,
                      std::uint64_t slot) {
  const std::uint64_t rr = count * (cycle / count);
  return slot < rr ? slot % count == index : slot - rr == index;
}

}  // namespace

TEST_CASE("segments: nested shares of any total sum exactly, per segment and in all") {
  for (std::uint32_t segments = 1; segments <= 7; ++segments) {
    for (std::uint32_t pattern : {0u, 1u, 3u}) {
      const auto workers = workers_of(segments, pattern);
      for (std::uint64_t total = 0; total <= 150; ++total) {
        CAPTURE(segments);
        CAPTURE(pattern);
        CAPTURE(total);
        std::uint64_t sum = 0;
        for (std::uint32_t s = 0; s < segments; ++s) {
          std::uint64_t segment_sum = 0;
          for (std::uint32_t w = 0; w < workers[s]; ++w) {
            const Share share = Share::within(Share{s, segments}, w, workers[s]);
            // Where a part starts is the sum of every part before it, segment by segment:
            // the VU ids [offset + 1, offset + of] of all parts tile 1..total.
            REQUIRE(share.offset(total) == sum);
            REQUIRE(share.outer() == Share{s, segments});
            sum += share.of(total);
            segment_sum += share.of(total);
          }
          // The segment's workers add up to the segment's own part: no rounding loss.
          REQUIRE(segment_sum == Share{s, segments}.of(total));
        }
        REQUIRE(sum == total);
      }
    }
  }
}

TEST_CASE("segments: one segment is exactly the unsegmented split") {
  for (std::uint64_t total : {0u, 1u, 7u, 100u, 12345u}) {
    for (std::uint32_t workers = 1; workers <= 9; ++workers) {
      for (std::uint32_t w = 0; w < workers; ++w) {
        const Share nested = Share::within(Share::whole(), w, workers);
        CHECK(nested == Share{w, workers});
        CHECK(nested.of(total) == Share{w, workers}.of(total));
        CHECK(nested.offset(total) == Share{w, workers}.offset(total));
        CHECK(nested.of_among(total, 5) == Share{w, workers}.of_among(total, 5));
      }
    }
  }
}

TEST_CASE("segments: huge totals still sum exactly") {
  const std::uint64_t big = std::numeric_limits<std::uint64_t>::max();
  for (std::uint32_t segments : {2u, 3u, 10u, 10000u}) {
    const auto workers = workers_of(segments, 0);
    std::uint64_t sum = 0;
    for (const Share& s : all_shares(segments, workers)) {
      CHECK(s.offset(big) == sum);
      sum += s.of(big);
    }
    CHECK(sum == big);
  }
}

TEST_CASE("segments: shared iterations go only to parts with a VU, and sum exactly") {
  for (std::uint32_t segments = 1; segments <= 6; ++segments) {
    for (std::uint32_t pattern : {0u, 2u}) {
      const auto workers = workers_of(segments, pattern);
      const auto shares = all_shares(segments, workers);
      for (std::uint64_t vus = 1; vus <= 20; ++vus) {
        for (std::uint64_t iterations :
             {vus, vus + 1, 2 * vus + 3, 97 * vus, std::uint64_t{1000}}) {
          if (iterations < vus) continue;
          CAPTURE(segments);
          CAPTURE(pattern);
          CAPTURE(vus);
          CAPTURE(iterations);
          std::uint64_t sum = 0;
          for (const Share& s : shares) {
            const std::uint64_t pool = s.of_among(iterations, vus);
            // A part without a VU could never run its iterations; one with a VU gets at least
            // one (there are at least as many iterations as VUs).
            if (s.of(vus) == 0)
              REQUIRE(pool == 0);
            else
              REQUIRE(pool >= 1);
            sum += pool;
          }
          REQUIRE(sum == iterations);
        }
      }
    }
  }
}

TEST_CASE("segments: every arrival is owned by exactly one (segment, worker), as VUs go") {
  for (std::uint64_t vus : {1u, 2u, 3u, 5u, 7u, 10u, 13u, 64u, 101u}) {
    for (std::uint32_t segments = 1; segments <= 6; ++segments) {
      for (std::uint32_t pattern : {0u, 1u, 4u}) {
        CAPTURE(vus);
        CAPTURE(segments);
        CAPTURE(pattern);
        const auto workers = workers_of(segments, pattern);
        const auto shares = all_shares(segments, workers);
        std::vector<ArrivalSplit> splits;
        for (const Share& s : shares)
          splits.emplace_back(s, vus);
        std::vector<std::uint64_t> taken(shares.size(), 0);
        const std::uint64_t n = 3 * vus;
        for (std::uint64_t k = 0; k < n; ++k) {
          std::size_t owner = shares.size();
          for (std::size_t i = 0; i < shares.size(); ++i) {
            if (!splits[i].owns(k)) continue;
            REQUIRE(owner == shares.size());  // no second owner
            owner = i;
            ++taken[i];
          }
          REQUIRE(owner < shares.size());  // none missing
          // The owner's segment is the one the segment-level round robin gives the slot to.
          REQUIRE(round_robin_owns(shares[owner].segment, segments, vus, k % vus));
        }
        for (std::size_t i = 0; i < shares.size(); ++i) {
          // Three whole cycles: three times the part's VUs, so arrivals follow the VUs.
          CHECK(taken[i] == 3 * shares[i].of(vus));
          CHECK(splits[i].per_cycle() == shares[i].of(vus));
          // first_from is the brute-force scan.
          for (std::uint64_t k = 0; k < n; ++k) {
            std::optional<std::uint64_t> want;
            if (splits[i].per_cycle() > 0) {
              std::uint64_t j = k;
              while (!splits[i].owns(j))
                ++j;
              want = j;
            }
            REQUIRE(splits[i].first_from(k) == want);
          }
        }
      }
    }
  }
}

TEST_CASE("segments: a segment's workers take exactly the arrivals a one-worker segment takes") {
  for (std::uint64_t vus : {3u, 8u, 29u}) {
    for (std::uint32_t segments : {2u, 3u, 5u}) {
      for (std::uint32_t s = 0; s < segments; ++s) {
        const ArrivalSplit alone(Share{s, segments}, vus);
        for (std::uint32_t workers : {2u, 3u, 7u}) {
          for (std::uint64_t k = 0; k < 4 * vus; ++k) {
            int owners = 0;
            for (std::uint32_t w = 0; w < workers; ++w)
              owners += ArrivalSplit(Share::within(Share{s, segments}, w, workers), vus).owns(k);
            REQUIRE(owners == (alone.owns(k) ? 1 : 0));
          }
        }
      }
    }
  }
}

TEST_CASE("segments: unsegmented splits keep the round-robin they always had") {
  for (std::uint64_t vus : {1u, 3u, 10u, 64u, 1000u}) {
    for (std::uint32_t workers = 1; workers <= 8; ++workers) {
      for (std::uint32_t w = 0; w < workers; ++w) {
        const ArrivalSplit split(Share{w, workers}, vus);
        for (std::uint64_t k = 0; k < 2 * vus + 5; ++k)
          REQUIRE(split.owns(k) == round_robin_owns(w, workers, vus, k % vus));
      }
    }
  }
  // 4 VUs in 2 segments of 2 workers and 1 worker: segment 0 takes slots 0 and 2, its
  // workers one each; segment 1 takes 1 and 3.
  const ArrivalSplit s0w0(Share::within(Share{0, 2}, 0, 2), 4);
  const ArrivalSplit s0w1(Share::within(Share{0, 2}, 1, 2), 4);
  const ArrivalSplit s1(Share::within(Share{1, 2}, 0, 1), 4);
  CHECK(s0w0.owns(0));
  CHECK(s1.owns(1));
  CHECK(s0w1.owns(2));
  CHECK(s1.owns(3));
  CHECK(s0w0.first_from(1) == 4u);
  CHECK(s0w1.first_from(3) == 6u);
}
