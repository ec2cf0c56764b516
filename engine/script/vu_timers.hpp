// Timers for VUs (sleep(), per-request timeouts): an indexed min-heap, one Asio timer at its top.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace strain {

// Told when its timer is due. Called on the worker's thread, from the event loop.
class TimerClient {
 public:
  virtual void on_timer(std::int64_t now_ns) = 0;

 protected:
  ~TimerClient() = default;
};

// Embedded in the object it times; one armed timer per node at a time.
struct TimerNode {
  TimerClient* client = nullptr;  // set once by the owner
  std::size_t pos = SIZE_MAX;     // index in the heap; SIZE_MAX when not armed
  std::int64_t due_ns = 0;        // when it fires (now_ns() clock)
  bool armed() const noexcept { return pos != SIZE_MAX; }
};

// Thousands of sleeping VUs cost one kernel timer, not one each: the heap orders them and the
// Asio timer waits for the earliest. Arm and disarm are O(log n), no allocation once warm.
class VuTimers {
 public:
  explicit VuTimers(boost::asio::io_context& io) : timer_(io) {}
  VuTimers(const VuTimers&) = delete;
  VuTimers& operator=(const VuTimers&) = delete;

  // (Re)arms `node` to fire at `due_ns`.
  void arm(TimerNode& node, std::int64_t due_ns);
  void disarm(TimerNode& node) noexcept;
  // Stops the Asio timer; nothing fires afterwards.
  void shutdown();

 private:
  void up(std::size_t i) noexcept;
  void down(std::size_t i) noexcept;
  void place(std::size_t i, TimerNode* node) noexcept {
    heap_[i] = node;
    node->pos = i;
  }
  void rearm();
  void on_fired();

  boost::asio::steady_timer timer_;
  std::vector<TimerNode*> heap_;
  std::int64_t timer_due_ns_ = INT64_MAX;  // what timer_ is armed for
  bool shut_down_ = false;
};

}  // namespace strain
