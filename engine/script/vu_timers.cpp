#include "engine/script/vu_timers.hpp"

#include <utility>

#include "engine/core/clock.hpp"

namespace strain {

void VuTimers::arm(TimerNode& node, std::int64_t due_ns) {
  disarm(node);
  node.due_ns = due_ns;
  heap_.push_back(&node);
  node.pos = heap_.size() - 1;
  up(node.pos);
  if (due_ns < timer_due_ns_) rearm();
}

void VuTimers::disarm(TimerNode& node) noexcept {
  if (!node.armed()) return;
  const std::size_t i = node.pos;
  node.pos = SIZE_MAX;
  TimerNode* last = heap_.back();
  heap_.pop_back();
  if (last != &node) {
    place(i, last);
    up(i);
    down(last->pos);
  }
  // The Asio timer may now fire early for nothing; it then re-arms for the new top.
}

void VuTimers::shutdown() {
  shut_down_ = true;
  timer_.cancel();
}

void VuTimers::up(std::size_t i) noexcept {
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (heap_[parent]->due_ns <= heap_[i]->due_ns) break;
    TimerNode* a = heap_[parent];
    place(parent, heap_[i]);
    place(i, a);
    i = parent;
  }
}

void VuTimers::down(std::size_t i) noexcept {
  for (;;) {
    const std::size_t l = 2 * i + 1;
    const std::size_t r = l + 1;
    std::size_t m = i;
    if (l < heap_.size() && heap_[l]->due_ns < heap_[m]->due_ns) m = l;
    if (r < heap_.size() && heap_[r]->due_ns < heap_[m]->due_ns) m = r;
    if (m == i) return;
    TimerNode* a = heap_[m];
    place(m, heap_[i]);
    place(i, a);
    i = m;
  }
}

void VuTimers::rearm() {
  if (heap_.empty() || shut_down_) return;
  timer_due_ns_ = heap_.front()->due_ns;
  timer_.expires_at(TimePoint(Nanos(timer_due_ns_)));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_fired();
  });
}

void VuTimers::on_fired() {
  timer_due_ns_ = INT64_MAX;
  const std::int64_t now = now_ns();
  // Bounded per wake-up, so 100,000 VUs waking together still let the loop breathe.
  for (int n = 0; n < 4096 && !heap_.empty() && heap_.front()->due_ns <= now; ++n) {
    TimerNode& node = *heap_.front();
    disarm(node);
    node.client->on_timer(now);
  }
  if (!heap_.empty() && timer_due_ns_ == INT64_MAX) rearm();
}

}  // namespace strain
