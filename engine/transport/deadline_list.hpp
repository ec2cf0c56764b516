// An intrusive FIFO of deadlines that all share one timeout, so the list stays sorted for free.
#pragma once

#include <cstdint>

#include "engine/core/assert.hpp"

namespace strain {

class DeadlineList;

// A node embedded in the object it times. Not copyable: its address is its identity.
// A node may move between lists (connect timeout, then request timeout); it knows its list.
struct DeadlineNode {
  DeadlineNode* prev = nullptr;
  DeadlineNode* next = nullptr;
  DeadlineList* list = nullptr;  // the list it is linked into; null when unarmed
  void* owner = nullptr;         // the object this node times, set once by its owner
  std::int64_t deadline_ns = 0;

  DeadlineNode() = default;
  DeadlineNode(const DeadlineNode&) = delete;
  DeadlineNode& operator=(const DeadlineNode&) = delete;
};

// Every timeout of one kind (connect, request, read-idle) has the same length, so pushing at
// the tail keeps the list ordered by deadline: arm, disarm and expiry are O(1), no heap and no
// allocation, whatever the number of connections.
class DeadlineList {
 public:
  explicit DeadlineList(std::int64_t timeout_ns) : timeout_ns_(timeout_ns) {}
  DeadlineList(const DeadlineList&) = delete;
  DeadlineList& operator=(const DeadlineList&) = delete;

  std::int64_t timeout_ns() const { return timeout_ns_; }

  // (Re)arms `node` to expire timeout_ns after now_ns, taking it off any list it was on.
  // A now_ns older than one already used is taken as that one, the closer to the true time:
  // the list stays sorted even when a caller passes a timestamp it read a while ago.
  void arm(DeadlineNode& node, std::int64_t now_ns) {
    if (node.list != nullptr) node.list->unlink(node);
    if (now_ns < latest_ns_) now_ns = latest_ns_;
    latest_ns_ = now_ns;
    node.deadline_ns = now_ns + timeout_ns_;
    node.prev = tail_;
    node.next = nullptr;
    if (tail_ != nullptr)
      tail_->next = &node;
    else
      head_ = &node;
    tail_ = &node;
    node.list = this;
  }

  // Takes `node` off this list; a node armed on another list is left alone.
  void disarm(DeadlineNode& node) {
    if (node.list == this) unlink(node);
  }

  // The earliest node whose deadline has passed, unlinked; nullptr when none has.
  DeadlineNode* pop_expired(std::int64_t now_ns) {
    if (head_ == nullptr || head_->deadline_ns > now_ns) return nullptr;
    DeadlineNode* node = head_;
    unlink(*node);
    return node;
  }

  bool empty() const { return head_ == nullptr; }

 private:
  void unlink(DeadlineNode& node) {
    STRAIN_ASSERT(node.list == this);
    if (node.prev != nullptr)
      node.prev->next = node.next;
    else
      head_ = node.next;
    if (node.next != nullptr)
      node.next->prev = node.prev;
    else
      tail_ = node.prev;
    node.prev = node.next = nullptr;
    node.list = nullptr;
  }

  std::int64_t timeout_ns_;
  std::int64_t latest_ns_ = INT64_MIN;  // the newest now_ns armed with
  DeadlineNode* head_ = nullptr;
  DeadlineNode* tail_ = nullptr;
};

}  // namespace strain
