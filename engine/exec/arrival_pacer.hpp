// Turns an arrival schedule into iteration starts on one worker: each due arrival goes to a
// free VU, or waits in a bounded backlog until one is free; what cannot wait is dropped, and
// every drop is a failed request, never a silent one.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>

#include "engine/exec/recorder.hpp"
#include "engine/results/run_result.hpp"
#include "engine/schedule/arrivals.hpp"

namespace strain {

// Lives on the worker's thread. The owner supplies the VUs through `Dispatch`.
class ArrivalPacer {
 public:
  // Starts an iteration for an arrival due at `intended_ns` on a free VU (making one if it
  // may) and returns true; false when every VU is busy. It calls started() for it.
  using Dispatch = std::function<bool(std::int64_t intended_ns, std::int64_t now_ns)>;

  // `backlog_limit`: arrivals that may wait for a VU at once (this worker's share, >= 1).
  // Arrivals given up (overflow, or waiting at stop) are recorded in `dropped`.
  ArrivalPacer(boost::asio::io_context& io, ArrivalSchedule schedule, std::uint64_t backlog_limit,
               Dispatch dispatch, Recorder& dropped);
  ArrivalPacer(const ArrivalPacer&) = delete;
  ArrivalPacer& operator=(const ArrivalPacer&) = delete;

  // Arrivals are due from `start_ns` (steady clock, as now_ns()).
  void start(std::int64_t start_ns);
  // The load phase (or the scenario) ended at `end_ns`: no more arrivals. Those due by then
  // that a late worker had not handed out yet still start now if a VU is free (their lateness
  // is in their lag); the rest, and the backlog, are given up at `now_ns`: counted unstarted
  // and recorded as dropped with their wait.
  void stop(std::int64_t end_ns, std::int64_t now_ns);
  void stop(std::int64_t now_ns) { stop(now_ns, now_ns); }
  // The rate becomes `per_s` from `at_ns` (steady clock; the same instant on every worker) to
  // the scenario's end. Arrivals keep their scenario-wide index, so the workers' shares still
  // partition the scenario exactly.
  void set_rate(double per_s, std::int64_t at_ns);
  // Hands out arrivals due by `now_ns`. The timer calls it; tests call it with fake time.
  void poll(std::int64_t now_ns);
  // A VU became free: the oldest waiting arrival's intended start, if one is waiting. The
  // caller starts it and calls started().
  std::optional<std::int64_t> take_waiting() noexcept;
  // An arrival began its iteration `lag_ns` after it was due (every start, waited or not).
  void started(std::int64_t lag_ns) noexcept;
  // An arrival taken by take_waiting() never began after all (the load phase ended first):
  // counted unstarted and recorded as dropped, having waited until `now_ns`.
  void give_up(std::int64_t intended_ns, std::int64_t now_ns) noexcept;

  // The schedule has no more arrivals and none is waiting.
  bool finished() const noexcept { return exhausted_ && backlog_.empty(); }
  std::uint64_t waiting() const noexcept { return backlog_.size(); }
  const RateProfile& profile() const noexcept { return schedule_.profile(); }
  // The interval's figures since the last call (peaks: of the interval) into `out`, which
  // must be fresh (its histograms empty). peak_vus is the caller's to fill.
  void take_interval(ScheduleStats& out);

 private:
  void arm();
  void advance();  // the next arrival of the schedule becomes next_ns_

  boost::asio::steady_timer timer_;
  ArrivalSchedule schedule_;
  std::uint64_t backlog_limit_;
  Dispatch dispatch_;
  Recorder& dropped_;
  std::deque<std::int64_t> backlog_;  // intended starts, oldest first; at most backlog_limit_
  std::int64_t start_ns_ = 0;
  std::optional<std::int64_t> next_ns_;        // the next arrival not yet handed out
  std::int64_t last_wake_ns_ = INT64_MIN / 2;  // the last poll: wake-ups are spaced
  bool started_ = false;                       // start() was called
  bool exhausted_ = false;                     // the schedule has ended
  bool stopped_ = false;
  ScheduleStats stats_;  // the interval's counters, peaks and histograms
};

}  // namespace strain
