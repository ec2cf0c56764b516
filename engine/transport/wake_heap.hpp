// An intrusive min-heap of wake-up times: sessions waiting out a back-off, no timer each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/assert.hpp"

namespace strain {

// A node embedded in the object that waits. Not copyable: its address is its identity.
struct WakeNode {
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::int64_t wake_ns = 0;  // when the wait is over (now_ns() clock)
  std::size_t index = npos;  // position in its heap; npos when not queued
  void* owner = nullptr;     // the object that waits, set once by its owner

  WakeNode() = default;
  WakeNode(const WakeNode&) = delete;
  WakeNode& operator=(const WakeNode&) = delete;
  bool queued() const { return index != npos; }
};

// Unlike a DeadlineList, waits here differ in length (jittered back-offs), so order costs a
// heap: push, remove and pop are O(log n). Bounded: a node is in at most one heap, at most once,
// so the heap never holds more nodes than exist; its storage grows to that and stays.
class WakeHeap {
 public:
  explicit WakeHeap(std::size_t expected = 0) { nodes_.reserve(expected); }
  WakeHeap(const WakeHeap&) = delete;
  WakeHeap& operator=(const WakeHeap&) = delete;

  // Queues `node` to wake at wake_ns. It must not be queued already.
  void push(WakeNode& node, std::int64_t wake_ns) {
    STRAIN_ASSERT(!node.queued());
    node.wake_ns = wake_ns;
    node.index = nodes_.size();
    nodes_.push_back(&node);
    sift_up(node.index);
  }

  // Takes `node` out of the heap; a node not queued is left alone.
  void remove(WakeNode& node) {
    if (!node.queued()) return;
    STRAIN_ASSERT(node.index < nodes_.size() && nodes_[node.index] == &node);
    const std::size_t at = node.index;
    node.index = WakeNode::npos;
    WakeNode* last = nodes_.back();
    nodes_.pop_back();
    if (last == &node) return;
    nodes_[at] = last;
    last->index = at;
    sift_down(at);
    sift_up(last->index);
  }

  // The earliest node, or nullptr when empty.
  const WakeNode* top() const { return nodes_.empty() ? nullptr : nodes_.front(); }

  // The earliest node whose wake_ns is at or before now_ns, taken out; nullptr when none is due.
  WakeNode* pop_due(std::int64_t now_ns) {
    if (nodes_.empty() || nodes_.front()->wake_ns > now_ns) return nullptr;
    WakeNode* node = nodes_.front();
    remove(*node);
    return node;
  }

  bool empty() const { return nodes_.empty(); }
  std::size_t size() const { return nodes_.size(); }

 private:
  void place(std::size_t at, WakeNode* node) {
    nodes_[at] = node;
    node->index = at;
  }

  void sift_up(std::size_t at) {
    WakeNode* node = nodes_[at];
    while (at > 0) {
      const std::size_t parent = (at - 1) / 2;
      if (nodes_[parent]->wake_ns <= node->wake_ns) break;
      place(at, nodes_[parent]);
      at = parent;
    }
    place(at, node);
  }

  void sift_down(std::size_t at) {
    WakeNode* node = nodes_[at];
    const std::size_t n = nodes_.size();
    for (;;) {
      std::size_t child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && nodes_[child + 1]->wake_ns < nodes_[child]->wake_ns) ++child;
      if (node->wake_ns <= nodes_[child]->wake_ns) break;
      place(at, nodes_[child]);
      at = child;
    }
    place(at, node);
  }

  std::vector<WakeNode*> nodes_;  // a binary heap on wake_ns; each node knows its index
};

}  // namespace strain
