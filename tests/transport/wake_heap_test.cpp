// WakeHeap against a brute-force model: a sorted scan of the nodes still queued.
#include "engine/transport/wake_heap.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

using strain::WakeHeap;
using strain::WakeNode;

TEST_CASE("wake heap: nodes come out earliest first, due ones only") {
  WakeHeap heap(4);
  std::array<WakeNode, 4> nodes;
  CHECK(heap.empty());
  CHECK(heap.top() == nullptr);
  heap.push(nodes[0], 30);
  heap.push(nodes[1], 10);
  heap.push(nodes[2], 20);
  heap.push(nodes[3], 10);
  CHECK(heap.size() == 4);
  CHECK(heap.top()->wake_ns == 10);
  CHECK(heap.pop_due(9) == nullptr);
  WakeNode* a = heap.pop_due(10);
  WakeNode* b = heap.pop_due(10);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(((a == &nodes[1] && b == &nodes[3]) || (a == &nodes[3] && b == &nodes[1])));
  CHECK_FALSE(a->queued());
  CHECK(heap.pop_due(10) == nullptr);
  CHECK(heap.pop_due(100) == &nodes[2]);
  CHECK(heap.pop_due(100) == &nodes[0]);
  CHECK(heap.empty());
}

TEST_CASE("wake heap: remove from any position, twice is harmless, and a node can come back") {
  WakeHeap heap;
  std::array<WakeNode, 5> nodes;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    heap.push(nodes[i], static_cast<std::int64_t>(50 - 10 * i));  // 50, 40, 30, 20, 10
  }
  heap.remove(nodes[4]);  // the top
  heap.remove(nodes[4]);
  heap.remove(nodes[1]);  // somewhere inside
  CHECK(heap.size() == 3);
  heap.push(nodes[4], 35);
  std::vector<std::int64_t> order;
  while (WakeNode* node = heap.pop_due(1000))
    order.push_back(node->wake_ns);
  CHECK(order == std::vector<std::int64_t>{20, 30, 35, 50});
}

TEST_CASE("wake heap: 20,000 random pushes, removes and pops agree with a brute-force model") {
  constexpr std::size_t kNodes = 64;
  std::array<WakeNode, kNodes> nodes;
  WakeHeap heap(kNodes);
  std::mt19937_64 rng(7);
  std::int64_t now = 0;
  auto earliest_queued = [&]() -> std::optional<std::int64_t> {
    std::optional<std::int64_t> best;
    for (const auto& n : nodes) {
      if (n.queued() && (!best || n.wake_ns < *best)) best = n.wake_ns;
    }
    return best;
  };
  for (int step = 0; step < 20'000; ++step) {
    WakeNode& node = nodes[rng() % kNodes];
    switch (rng() % 3) {
      case 0:
        if (!node.queued()) heap.push(node, now + static_cast<std::int64_t>(rng() % 1000));
        break;
      case 1:
        heap.remove(node);
        break;
      default: {
        now += static_cast<std::int64_t>(rng() % 50);
        const auto expected = earliest_queued();
        WakeNode* popped = heap.pop_due(now);
        if (!expected || *expected > now) {
          REQUIRE(popped == nullptr);
        } else {
          REQUIRE(popped != nullptr);
          CHECK(popped->wake_ns == *expected);
          CHECK_FALSE(popped->queued());
        }
      }
    }
    std::size_t queued = 0;
    for (const auto& n : nodes)
      queued += n.queued() ? 1u : 0u;
    REQUIRE(heap.size() == queued);
    const auto expected = earliest_queued();
    REQUIRE((heap.top() == nullptr) == !expected.has_value());
    if (expected) REQUIRE(heap.top()->wake_ns == *expected);
  }
}
