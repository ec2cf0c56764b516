#include "engine/exec/scenario_runner.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <utility>

#include "engine/core/assert.hpp"
#include "engine/core/clock.hpp"

namespace strain {

ScenarioRunner::ScenarioRunner(boost::asio::io_context& io, const Scenario& scenario, Share share,
                               std::uint32_t first_vu_id, BodyFactory& bodies,
                               std::function<void()> on_done)
    : io_(io),
      scenario_(scenario),
      bodies_(bodies),
      on_done_(std::move(on_done)),
      policy_(make_policy(scenario, share)),
      share_(share),
      first_vu_id_(first_vu_id) {
  if (scenario.vus_cap != 0) set_vus(scenario.vus_cap);
  const std::uint32_t initial = policy_->initial_vus();
  slots_.reserve(initial);
  for (std::uint32_t i = 0; i < initial; ++i)
    add_slot();
  if (const ArrivalShare* a = policy_->arrivals()) {
    // The most recently freed VU goes first (its connection is warm), so VU 1 starts.
    for (std::uint32_t i = initial; i > 0; --i)
      free_.push_back(i - 1);
    if (a->split.per_cycle() > 0) {
      pacer_ = std::make_unique<ArrivalPacer>(
          io, ArrivalSchedule(a->profile, a->process, a->seed, a->split), a->backlog_limit,
          [this](std::int64_t intended, std::int64_t now) { return dispatch(intended, now); },
          bodies_.dropped());
    }
  }
}

ScenarioRunner::~ScenarioRunner() = default;

std::uint32_t ScenarioRunner::add_slot() {
  const auto slot = static_cast<std::uint32_t>(slots_.size());
  slots_.push_back(Slot{});
  slots_.back().body = bodies_.make_body(first_vu_id_ + slot, slot, *this);
  return slot;
}

void ScenarioRunner::start(std::int64_t origin_ns) {
  start_ns_ = origin_ns + scenario_.start_time.count();
  end_ns_ = start_ns_ + active_length(scenario_).count();
  hard_stop_ns_ = end_ns_ + scenario_.graceful_stop.count();
  // The pacer's own timer starts the scenario at its first arrival: exact, not on a tick.
  if (pacer_) pacer_->start(start_ns_);
}

void ScenarioRunner::tick(std::int64_t now) {
  if (phase_ == Phase::waiting) {
    if (now < start_ns_ || stopping_) return;
    phase_ = Phase::running;
  }
  if (phase_ == Phase::running) {
    if (now >= end_ns_) {
      end_phase(now);
      // An iteration queued before the end (one that did not wait goes through the loop)
      // must not begin after it; an arrival it held is given up, as the backlog's are.
      for (std::uint32_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].state == SlotState::queued) cancel_queued(i, now);
      }
    } else if (policy_->arrivals() != nullptr) {
      // Arrivals begin iterations; a worker without a share of them has nothing to do.
      if (!pacer_) end_phase(now);
    } else {
      const auto target = std::min({policy_->vus_at(Nanos(now - start_ns_)), vus_cap_,
                                    static_cast<std::uint32_t>(slots_.size())});
      const std::uint32_t before = target_;
      target_ = target;
      for (std::uint32_t i = before; i < target; ++i) {
        if (slots_[i].state == SlotState::idle) try_begin(i, now);
      }
      // Iteration executors with nothing (left) to run on this worker end now, not at
      // max_duration.
      if (phase_ == Phase::running && policy_->exhausted()) end_phase(now);
    }
  }
  if (phase_ == Phase::ending && now >= hard_stop_ns_) interrupt_all(now);
  settle();
}

void ScenarioRunner::end_phase(std::int64_t now) {
  if (phase_ == Phase::ending || phase_ == Phase::done) return;
  // The pacer first, while the scenario still takes arrivals: those due before the end that
  // the worker was late to reach start now rather than being dropped for the lateness.
  if (pacer_) pacer_->stop(end_ns_, now);
  phase_ = Phase::ending;
}

// Ending with nothing busy is done; the owner hears of it once.
void ScenarioRunner::settle() {
  if (phase_ == Phase::ending && busy_ == 0) phase_ = Phase::done;
  if (phase_ == Phase::done && !done_reported_) {
    done_reported_ = true;
    if (on_done_) on_done_();
  }
}

bool ScenarioRunner::try_begin(std::uint32_t slot, std::int64_t now) {
  if (stopping_ || phase_ != Phase::running || slot >= target_) return false;
  Slot& s = slots_[slot];
  if (!policy_->take(slot, s.iterations)) return false;
  if (s.state == SlotState::idle) {
    ++busy_;
    peak_busy_ = std::max(peak_busy_, busy_);
  }
  s.state = SlotState::busy;
  // Closed model: the iteration is due the moment the VU is ready.
  s.body->begin(now, now);
  return true;
}

bool ScenarioRunner::dispatch(std::int64_t intended, std::int64_t now) {
  if (stopping_ || phase_ == Phase::ending || phase_ == Phase::done) return false;
  phase_ = Phase::running;  // its first arrival is its start
  std::uint32_t slot = 0;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else if (slots_.size() < policy_->max_vus()) {
    // VUs (and their connections) are made only when every one made so far is busy.
    slot = add_slot();
  } else {
    return false;
  }
  begin_arrival(slot, intended, now);
  return true;
}

void ScenarioRunner::begin_arrival(std::uint32_t slot, std::int64_t intended, std::int64_t now) {
  Slot& s = slots_[slot];
  if (s.state == SlotState::idle) {
    ++busy_;
    peak_busy_ = std::max(peak_busy_, busy_);
  }
  s.state = SlotState::busy;
  // Open model: whatever kept it from starting on time (a busy pool, a late timer) counts in
  // its response time, since latency is measured from `intended`.
  pacer_->started(now - intended);
  s.body->begin(intended, now);
}

void ScenarioRunner::on_iteration_end(std::uint32_t slot, IterationEnd end, bool waited,
                                      std::int64_t now) {
  Slot& s = slots_[slot];
  STRAIN_ASSERT(s.state == SlotState::busy);
  ++s.iterations;
  switch (end) {
    case IterationEnd::completed:
      ++counts_.completed;
      break;
    case IterationEnd::failed:
      ++counts_.failed;
      break;
    case IterationEnd::interrupted:
      ++counts_.interrupted;
      break;
  }
  // An iteration that never waited (or failed) goes through the event loop before the next,
  // so a body that makes no request cannot starve timers, reports and stop.
  const bool at_once = waited && end == IterationEnd::completed;
  if (pacer_) {
    if (!stopping_ && phase_ == Phase::running) {
      if (const auto due = pacer_->take_waiting()) {
        if (at_once) return begin_arrival(slot, *due, now);
        return queue(slot, *due);
      }
    }
    release(slot);
    return settle();
  }
  if (!stopping_ && phase_ == Phase::running && slot < target_ &&
      policy_->take(slot, s.iterations)) {
    if (at_once) return s.body->begin(now, now);
    return queue(slot, 0);
  }
  release(slot);
  // Iteration executors finish when their work is all taken, not at max_duration.
  if (phase_ == Phase::running && policy_->exhausted()) end_phase(now);
  settle();
}

void ScenarioRunner::queue(std::uint32_t slot, std::int64_t due_ns) {
  Slot& s = slots_[slot];
  s.state = SlotState::queued;
  s.queued_due_ns = due_ns;
  boost::asio::post(io_, [this, slot, alive = std::weak_ptr<char>(alive_)] {
    if (!alive.expired()) run_queued(slot);
  });
}

void ScenarioRunner::run_queued(std::uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.state != SlotState::queued) return;  // stopped or interrupted meanwhile
  const std::int64_t now = now_ns();
  s.state = SlotState::busy;
  if (pacer_) return begin_arrival(slot, s.queued_due_ns, now);
  // Closed model: its iteration was taken from the policy when it was queued.
  s.body->begin(now, now);
}

// A queued slot never began its next iteration; an arrival it held is given up.
void ScenarioRunner::cancel_queued(std::uint32_t slot, std::int64_t now) {
  if (pacer_) pacer_->give_up(slots_[slot].queued_due_ns, now);
  release(slot);
}

void ScenarioRunner::release(std::uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.state == SlotState::idle) return;
  s.state = SlotState::idle;
  --busy_;
  if (policy_->arrivals() != nullptr) free_.push_back(slot);
}

void ScenarioRunner::interrupt_all(std::int64_t now) {
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.state == SlotState::queued) {
      cancel_queued(i, now);
    } else if (s.state == SlotState::busy) {
      s.body->interrupt(now);
      ++counts_.interrupted;
      ++s.iterations;
      release(i);
    }
  }
}

void ScenarioRunner::stop(std::int64_t end_ns, std::int64_t now) {
  if (stopping_) return;
  // The pacer first, while arrivals may still begin (see end_phase).
  if (pacer_ && (phase_ == Phase::waiting || phase_ == Phase::running)) {
    pacer_->stop(std::min(end_ns, end_ns_), now);
  }
  stopping_ = true;
  if (phase_ == Phase::waiting || phase_ == Phase::running) phase_ = Phase::ending;
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.state == SlotState::queued) {
      cancel_queued(i, now);
    } else if (s.state == SlotState::busy) {
      // May end the iteration at once (a VU asleep), which releases the slot.
      s.body->wind_down(now);
    }
  }
  settle();
}

void ScenarioRunner::abandon(std::int64_t now) {
  stop(now, now);
  interrupt_all(now);
  phase_ = Phase::ending;
  settle();
}

void ScenarioRunner::set_rate(double per_s, std::int64_t at_ns) {
  if (pacer_) pacer_->set_rate(per_s, at_ns);
}

void ScenarioRunner::set_vus(std::uint32_t vus) {
  if (policy_->arrivals() != nullptr) return;
  vus_cap_ = static_cast<std::uint32_t>(share_.of(vus));
}

void ScenarioRunner::take_interval(ScenarioInterval& out, HistogramStock& stock) {
  out.iterations = std::exchange(counts_, IterationCounts{});
  out.schedule.reset();
  if (pacer_) {
    pacer_->take_interval(out.schedule.emplace(
        ScheduleStats{.schedule_lag_us = stock.take(), .dispatch_lag_us = stock.take()}));
    out.schedule->peak_vus = peak_busy_;
  }
  out.peak_vus = peak_busy_;
  out.busy_vus = busy_;
  peak_busy_ = busy_;
}

}  // namespace strain
