// Turns an arrival schedule into iteration starts on one worker: each due arrival goes to a
// free VU, or waits in a bounded backlog until one is free; what does not fit is counted.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>

#include "engine/exec/arrivals.hpp"
#include "engine/results/run_result.hpp"

namespace strain {

// Lives on the worker's thread. The owner supplies the VUs through `Dispatch`.
class ArrivalPacer {
 public:
  // Starts an iteration for an arrival due at `intended_ns` on a free VU (making one if it
  // may) and returns true; false when every VU is busy. Its lag is the caller's to record.
  using Dispatch = std::function<bool(std::int64_t intended_ns)>;

  // `backlog_limit`: arrivals that may wait for a VU at once (this worker's share).
  ArrivalPacer(boost::asio::io_context& io, ArrivalSchedule schedule, std::uint64_t backlog_limit,
               Dispatch dispatch);
  ArrivalPacer(const ArrivalPacer&) = delete;
  ArrivalPacer& operator=(const ArrivalPacer&) = delete;

  // Arrivals are due from `start_ns` (steady clock, as now_ns()).
  void start(std::int64_t start_ns);
  // The load phase is over: no more arrivals; those still waiting are counted unstarted.
  void stop();
  // Hands out arrivals due by `now_ns`. The timer calls it; tests call it with fake time.
  void poll(std::int64_t now_ns);
  // A VU became free: the oldest waiting arrival's intended start, if one is waiting. The
  // caller starts it and records its lag with started().
  std::optional<std::int64_t> take_waiting() noexcept;
  // An arrival began its iteration `lag_ns` after it was due (every start, waited or not).
  void started(std::int64_t lag_ns) noexcept;

  // The schedule has no more arrivals and none is waiting.
  bool finished() const noexcept { return exhausted_ && backlog_.empty(); }
  std::uint64_t waiting() const noexcept { return backlog_.size(); }
  // The interval's figures: histograms move out, counters are cumulative.
  void take_interval(ScheduleStats& out);

 private:
  void arm();

  boost::asio::steady_timer timer_;
  ArrivalSchedule schedule_;
  std::uint64_t backlog_limit_;
  Dispatch dispatch_;
  std::deque<std::int64_t> backlog_;  // intended starts, oldest first; at most backlog_limit_
  std::int64_t start_ns_ = 0;
  std::optional<std::int64_t> next_ns_;        // the next arrival not yet handed out
  std::int64_t last_wake_ns_ = INT64_MIN / 2;  // the last poll: wake-ups are spaced
  bool exhausted_ = false;                     // the schedule has ended
  bool stopped_ = false;
  ScheduleStats stats_;  // counters since start; histograms since the last interval
};

}  // namespace strain
