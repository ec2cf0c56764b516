#include "engine/exec/arrival_pacer.hpp"

#include <algorithm>
#include <utility>

#include "engine/core/clock.hpp"

namespace strain {
namespace {
// Arrivals handed out per wake-up: a schedule far behind (a CPU-starved worker) still lets
// responses, reports and stop run in between. The timer fires again at once for the rest.
constexpr int kBatch = 4096;
// Wake-ups are at least this far apart. Each one reprograms the kernel timer, which costs
// 10-20 µs of CPU in a VM: one per arrival at 20,000/s took half a core. Arrivals due in
// between are handed out together, at most this late, and the lateness is recorded.
constexpr std::int64_t kMinWakeGapNs = 200'000;
}  // namespace

ArrivalPacer::ArrivalPacer(boost::asio::io_context& io, ArrivalSchedule schedule,
                           std::uint64_t backlog_limit, Dispatch dispatch, Recorder& dropped)
    : timer_(io),
      schedule_(std::move(schedule)),
      backlog_limit_(std::max<std::uint64_t>(1, backlog_limit)),
      dispatch_(std::move(dispatch)),
      dropped_(dropped) {}

void ArrivalPacer::start(std::int64_t start_ns) {
  start_ns_ = start_ns;
  started_ = true;
  advance();
  arm();
}

void ArrivalPacer::advance() {
  if (auto t = schedule_.next()) {
    next_ns_ = start_ns_ + t->count();
  } else {
    next_ns_.reset();
    exhausted_ = true;
  }
}

void ArrivalPacer::poll(std::int64_t now_ns) {
  if (stopped_) return;
  last_wake_ns_ = now_ns;
  for (int handled = 0; handled < kBatch && next_ns_ && *next_ns_ <= now_ns; ++handled) {
    const std::int64_t due = *next_ns_;
    ++stats_.due;
    stats_.dispatch_lag_us.record((now_ns - due) / 1000);
    // First come, first served: while arrivals wait, every VU is busy, so a new one waits too.
    if (!backlog_.empty() || !dispatch_(due, now_ns)) {
      if (backlog_.size() < backlog_limit_) {
        backlog_.push_back(due);
        ++stats_.waited;
        stats_.peak_backlog = std::max<std::uint64_t>(stats_.peak_backlog, backlog_.size());
      } else {
        // It never waited, so it is a failure without a latency (recording "0 ms" for it
        // would flatter the percentiles as much as leaving it out).
        ++stats_.overflow;
        dropped_.record_dropped(due, now_ns, false);
      }
    }
    advance();
  }
  arm();
}

std::optional<std::int64_t> ArrivalPacer::take_waiting() noexcept {
  if (backlog_.empty()) return std::nullopt;
  const std::int64_t due = backlog_.front();
  backlog_.pop_front();
  return due;
}

void ArrivalPacer::started(std::int64_t lag_ns) noexcept {
  ++stats_.started;
  stats_.schedule_lag_us.record(std::max<std::int64_t>(0, lag_ns) / 1000);
}

void ArrivalPacer::give_up(std::int64_t intended_ns, std::int64_t now_ns) noexcept {
  ++stats_.unstarted_at_stop;
  dropped_.record_dropped(intended_ns, now_ns, true);
}

void ArrivalPacer::stop(std::int64_t end_ns, std::int64_t now_ns) {
  if (stopped_) return;
  // Arrivals due by the end belong to the load phase, even when this worker had not reached
  // them (it was behind): they are offered now, first come first served, and their lateness is
  // in their lag, so a late generator cannot hide its shortfall; one that finds no VU waited
  // until now and is given up.
  while (started_ && next_ns_ && *next_ns_ <= end_ns) {
    const std::int64_t due = *next_ns_;
    ++stats_.due;
    stats_.dispatch_lag_us.record((now_ns - due) / 1000);
    if (!backlog_.empty() || !dispatch_(due, now_ns)) {
      ++stats_.unstarted_at_stop;
      dropped_.record_dropped(due, now_ns, true);
    }
    advance();
  }
  stopped_ = true;
  timer_.cancel();
  for (const std::int64_t due : backlog_)
    dropped_.record_dropped(due, now_ns, true);
  stats_.unstarted_at_stop += backlog_.size();
  backlog_.clear();
}

void ArrivalPacer::set_rate(double per_s, std::int64_t at_ns) {
  if (!started_ || stopped_) return;
  const bool pending = next_ns_.has_value();
  const auto moved =
      schedule_.retime(rate_from(schedule_.profile(), Nanos(at_ns - start_ns_), per_s), pending);
  if (pending && moved)
    next_ns_ = start_ns_ + moved->count();
  else
    advance();  // it had run out (a pause), or the pending arrival left the profile: look again
  exhausted_ = !next_ns_.has_value();
  timer_.cancel();
  arm();
}

void ArrivalPacer::take_interval(ScheduleStats& out) {
  // `out` is fresh: its empty histograms become the next interval's, so nothing is allocated
  // or cleared here, on the worker's loop.
  out.due = std::exchange(stats_.due, 0);
  out.started = std::exchange(stats_.started, 0);
  out.waited = std::exchange(stats_.waited, 0);
  out.overflow = std::exchange(stats_.overflow, 0);
  out.unstarted_at_stop = std::exchange(stats_.unstarted_at_stop, 0);
  // The backlog carries over: its size now is the next interval's starting peak.
  out.peak_backlog = std::exchange(stats_.peak_backlog, backlog_.size());
  out.peak_vus = 0;
  std::swap(out.schedule_lag_us, stats_.schedule_lag_us);
  std::swap(out.dispatch_lag_us, stats_.dispatch_lag_us);
  stats_.schedule_lag_us.reset();
  stats_.dispatch_lag_us.reset();
}

void ArrivalPacer::arm() {
  if (stopped_ || !next_ns_) return;
  timer_.expires_at(TimePoint(Nanos(std::max(*next_ns_, last_wake_ns_ + kMinWakeGapNs))));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) poll(now_ns());  // `this` is touched only when the wait was not cancelled
  });
}

}  // namespace strain
