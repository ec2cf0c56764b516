// DeadlineList against a brute-force model: a std::multimap from deadline to node, in which equal
// deadlines keep their insertion (arm) order, as the intrusive FIFO must.
#include "engine/transport/deadline_list.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <vector>

using strain::DeadlineList;
using strain::DeadlineNode;

namespace {

constexpr std::int64_t kTimeout = 1000;

// Pops every due node; returns their indices in `nodes`.
template <std::size_t N>
std::vector<std::size_t> pop_all(DeadlineList& list, std::array<DeadlineNode, N>& nodes,
                                 std::int64_t now) {
  std::vector<std::size_t> popped;
  while (DeadlineNode* node = list.pop_expired(now)) {
    popped.push_back(static_cast<std::size_t>(node - nodes.data()));
  }
  return popped;
}

}  // namespace

TEST_CASE("nodes expire in arm order: each timeout_ns after its arm and not before") {
  DeadlineList list(kTimeout);
  std::array<DeadlineNode, 3> nodes;
  CHECK(list.empty());
  CHECK(list.timeout_ns() == kTimeout);
  list.arm(nodes[0], 10);
  list.arm(nodes[1], 20);
  list.arm(nodes[2], 20);
  CHECK_FALSE(list.empty());
  CHECK(nodes[1].deadline_ns == 20 + kTimeout);
  CHECK(list.pop_expired(10 + kTimeout - 1) == nullptr);
  CHECK(pop_all(list, nodes, 10 + kTimeout) == std::vector<std::size_t>{0});
  CHECK(nodes[0].list == nullptr);
  CHECK(pop_all(list, nodes, 20 + kTimeout) == std::vector<std::size_t>{1, 2});
  CHECK(list.empty());
  CHECK(list.pop_expired(1'000'000) == nullptr);
}

TEST_CASE("re-arming moves a node to the back with its new deadline") {
  DeadlineList list(kTimeout);
  std::array<DeadlineNode, 3> nodes;
  list.arm(nodes[0], 0);
  list.arm(nodes[1], 1);
  list.arm(nodes[2], 2);
  list.arm(nodes[0], 3);
  CHECK(nodes[0].deadline_ns == 3 + kTimeout);
  CHECK(nodes[0].prev == &nodes[2]);
  CHECK(nodes[0].next == nullptr);
  CHECK(nodes[1].prev == nullptr);
  CHECK(pop_all(list, nodes, 2 + kTimeout) == std::vector<std::size_t>{1, 2});
  CHECK(pop_all(list, nodes, 3 + kTimeout) == std::vector<std::size_t>{0});
  CHECK(list.empty());
}

TEST_CASE("disarming a middle node joins its neighbours directly") {
  DeadlineList list(kTimeout);
  std::array<DeadlineNode, 3> nodes;
  for (auto& node : nodes)
    list.arm(node, 0);
  list.disarm(nodes[1]);
  CHECK(nodes[1].list == nullptr);
  CHECK(nodes[1].prev == nullptr);
  CHECK(nodes[1].next == nullptr);
  CHECK(nodes[0].next == &nodes[2]);
  CHECK(nodes[2].prev == &nodes[0]);
  list.disarm(nodes[1]);  // a second disarm does nothing
  CHECK(pop_all(list, nodes, kTimeout) == std::vector<std::size_t>{0, 2});
}

TEST_CASE("disarming the head then the tail then the last node leaves a usable list") {
  DeadlineList list(kTimeout);
  std::array<DeadlineNode, 3> nodes;
  for (auto& node : nodes)
    list.arm(node, 0);
  list.disarm(nodes[0]);
  list.disarm(nodes[2]);
  CHECK(nodes[1].prev == nullptr);
  CHECK(nodes[1].next == nullptr);
  list.disarm(nodes[1]);
  CHECK(list.empty());
  CHECK(list.pop_expired(kTimeout) == nullptr);
  list.arm(nodes[2], 5);
  list.arm(nodes[0], 6);
  CHECK(pop_all(list, nodes, 6 + kTimeout) == std::vector<std::size_t>{2, 0});
}

TEST_CASE("random arm/disarm/pop_expired agree with a multimap model") {
  constexpr std::size_t kNodes = 48;
  for (std::uint32_t seed : {1u, 2u, 3u, 42u, 2024u}) {
    CAPTURE(seed);
    std::mt19937 random(seed);
    DeadlineList list(kTimeout);
    std::array<DeadlineNode, kNodes> nodes;
    for (auto& node : nodes)
      node.owner = &node;
    using Model = std::multimap<std::int64_t, std::size_t>;
    Model model;  // equal keys keep insertion order: the FIFO's tie order
    std::array<std::optional<Model::iterator>, kNodes> where;
    std::int64_t now = 0;

    auto pick = [&] { return std::uniform_int_distribution<std::size_t>(0, kNodes - 1)(random); };
    auto model_pop = [&](std::int64_t at) -> std::optional<std::size_t> {
      if (model.empty() || model.begin()->first > at) return std::nullopt;
      const std::size_t i = model.begin()->second;
      model.erase(model.begin());
      where[i].reset();
      return i;
    };
    // The whole chain, followed through the public links, must be the model's order.
    auto check_structure = [&] {
      REQUIRE(list.empty() == model.empty());
      const DeadlineNode* expected_prev = nullptr;
      for (const auto& [deadline, i] : model) {
        const DeadlineNode& node = nodes[i];
        REQUIRE(node.list != nullptr);
        REQUIRE(node.deadline_ns == deadline);
        REQUIRE(node.prev == expected_prev);
        if (expected_prev != nullptr) REQUIRE(expected_prev->next == &node);
        expected_prev = &node;
      }
      if (expected_prev != nullptr) REQUIRE(expected_prev->next == nullptr);
      for (std::size_t i = 0; i < kNodes; ++i)
        REQUIRE((nodes[i].list != nullptr) == where[i].has_value());
    };

    for (int step = 0; step < 20'000; ++step) {
      const int op = std::uniform_int_distribution<int>(0, 99)(random);
      if (op < 40) {  // arm or re-arm
        const std::size_t i = pick();
        list.arm(nodes[i], now);
        if (where[i]) model.erase(*where[i]);
        where[i] = model.emplace(now + kTimeout, i);
      } else if (op < 60) {  // disarm, linked or not
        const std::size_t i = pick();
        list.disarm(nodes[i]);
        if (where[i]) model.erase(*where[i]);
        where[i].reset();
      } else if (op < 85) {  // time passes (never backwards: the list relies on it)
        now += std::uniform_int_distribution<std::int64_t>(0, kTimeout / 4)(random);
      } else {  // sweep everything due
        for (;;) {
          DeadlineNode* node = list.pop_expired(now);
          const auto expected = model_pop(now);
          REQUIRE((node == nullptr) == !expected.has_value());
          if (node == nullptr) break;
          REQUIRE(node == &nodes[*expected]);
          REQUIRE(node->owner == node);
          REQUIRE(node->list == nullptr);
          REQUIRE(node->deadline_ns <= now);
        }
      }
      check_structure();
    }
    // Drain in order.
    while (DeadlineNode* node = list.pop_expired(now + kTimeout)) {
      const auto expected = model_pop(now + kTimeout);
      REQUIRE(expected.has_value());
      REQUIRE(node == &nodes[*expected]);
    }
    CHECK(model.empty());
    CHECK(list.empty());
  }
}

TEST_CASE("a node moves between lists and disarming through another list leaves it alone") {
  strain::DeadlineList connect(100);
  strain::DeadlineList request(1000);
  strain::DeadlineNode a, b;
  connect.arm(a, 0);
  request.arm(b, 0);
  request.arm(a, 10);  // a leaves the connect list for the request list
  CHECK(connect.empty());
  CHECK(a.list == &request);
  connect.disarm(a);  // not on the connect list: nothing happens
  CHECK(a.list == &request);
  CHECK(request.pop_expired(1000) == &b);
  CHECK(request.pop_expired(1009) == nullptr);
  CHECK(request.pop_expired(1010) == &a);
  CHECK(request.empty());
}
