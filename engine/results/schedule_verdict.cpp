#include "engine/results/schedule_verdict.hpp"

#include <cstdio>
#include <string>

namespace strain {
namespace {

double p99_ms(const Histogram& h) {
  return h.total_count() > 0 ? static_cast<double>(h.value_at_percentile(99.0)) / 1000.0 : 0.0;
}

}  // namespace

void judge_schedule(RunResult& result, const ScheduleTolerance& tol) {
  if (!result.offered_rps) return;
  const ScheduleStats& s = result.schedule;
  GeneratorStats& g = result.generator;
  const double lag_ms = p99_ms(s.schedule_lag_us);
  const double dispatch_ms = p99_ms(s.dispatch_lag_us);
  const double loop_ms = p99_ms(g.loop_lag_us);
  const double started_share =
      s.due > 0 ? static_cast<double>(s.started) / static_cast<double>(s.due) : 1.0;
  const bool behind = started_share < tol.min_started_share || lag_ms > tol.lag_ms;
  if (!behind) return;
  // A target that was failing (refusing, resetting, 5xx) explains a missed schedule on its
  // own, and a failing target makes a busy generator: the target's failure comes first.
  // Dropped arrivals are failures of the run but not the target's doing: they are left out.
  const RequestMetrics& t = result.total;
  const std::uint64_t attempts = t.attempts() - t.dropped();
  const std::uint64_t target_failures = t.failed() - t.dropped();
  const bool target_failing =
      attempts > 0 && static_cast<double>(target_failures) >
                          tol.target_failing_share * static_cast<double>(attempts);
  const bool strain_late = !target_failing && (dispatch_ms > tol.lag_ms || loop_ms > tol.lag_ms ||
                                               g.busy_fraction >= tol.busy_fraction);
  char figures[320];
  std::snprintf(figures, sizeof figures,
                "started %llu of %llu arrivals due (%.1f%%), schedule lag p99 %.1f ms; strain's "
                "own lateness p99 %.1f ms, event-loop lag p99 %.1f ms, CPU %.0f%% busy",
                static_cast<unsigned long long>(s.started), static_cast<unsigned long long>(s.due),
                started_share * 100.0, lag_ms, dispatch_ms, loop_ms, g.busy_fraction * 100.0);
  if (strain_late) {
    g.generator_bound = true;
    g.notes.push_back(std::string("strain could not keep its schedule: ") + figures +
                      ". The rate measured is strain's limit, not the target's: add threads "
                      "or machines, or lower the rate");
    return;
  }
  char waits[260];
  std::snprintf(waits, sizeof waits,
                "%llu arrivals waited for a free VU, %llu overflowed the backlog, %llu were "
                "still waiting at stop (those never started are failed requests, 'dropped')",
                static_cast<unsigned long long>(s.waited),
                static_cast<unsigned long long>(s.overflow),
                static_cast<unsigned long long>(s.unstarted_at_stop));
  g.notes.push_back(std::string(target_failing ? "the target was failing and did not keep up "
                                                 "with the offered rate: "
                                               : "the target did not keep up with the offered "
                                                 "rate: ") +
                    figures + "; " + waits +
                    " (their wait counts in response time; raise max_vus if the target should "
                    "take more at once)");
}

}  // namespace strain
