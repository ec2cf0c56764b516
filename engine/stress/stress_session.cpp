#include "engine/stress/stress_session.hpp"

#include <algorithm>
#include <cstdio>

#include "engine/core/outcome.hpp"
#include "engine/results/schedule_verdict.hpp"
#include "engine/stress/analysis.hpp"

namespace strain::stress {

namespace {

IntervalFigures figures_of(const IntervalSnapshot& snap, const Slo& slo, bool closed) {
  IntervalFigures f;
  f.length_s = snap.length_s;
  const double len = snap.length_s > 0 ? snap.length_s : 1;
  f.achieved_rps = static_cast<double>(snap.total.responses) / len;
  // A closed model offers what its VUs get through: nothing is due that was not sent.
  f.offered_rps = closed ? f.achieved_rps : static_cast<double>(snap.schedule.due) / len;
  f.p99_ms = snap.total.response_time_us.total_count() > 0
                 ? static_cast<double>(snap.total.response_time_us.value_at_percentile(99)) / 1000
                 : 0;
  f.error_rate = stress_error_rate(snap.total);
  f.in_flight = snap.in_flight;
  f.clearly_broken = clearly_broken(slo, snap.total);
  return f;
}

// strain was late (judge_schedule), but did that break the step? Not when a latency condition
// broke by more than strain's own lateness could add, or when the target's errors broke it.
bool target_alone_broke(const SloJudgement& slo, const RunResult& window) {
  if (!slo.failure) return false;
  const StressFailure& f = *slo.failure;
  if (f.signal.rfind("errors", 0) == 0) {
    const RequestMetrics& t = window.total;
    const std::uint64_t strain_side =
        t.dropped() + t.errors_by_kind[static_cast<std::size_t>(ErrorKind::local_limit)];
    return t.failed() + t.rate_limited() > 2 * strain_side;
  }
  if (f.signal.rfind("latency", 0) != 0) return false;
  const auto p99_ms = [](const Histogram& h) {
    return h.total_count() > 0 ? static_cast<double>(h.value_at_percentile(99)) / 1000.0 : 0.0;
  };
  const double lateness_ms =
      std::max(p99_ms(window.schedule.dispatch_lag_us), p99_ms(window.generator.loop_lag_us));
  return f.value - lateness_ms > f.limit;
}

}  // namespace

StressSession::StressSession(StressSetup setup)
    : setup_(std::move(setup)), search_(setup_.search) {}

void StressSession::on_start(Controller& controller) {
  controller_ = &controller;
  // The plan starts at the search's first rate already; say it again in case it was capped.
  apply(IntervalAction::set_rate);
}

IntervalVerdict StressSession::apply(IntervalAction action) {
  switch (action) {
    case IntervalAction::set_rate:
      if (controller_ != nullptr && !steer(search_.rate())) return IntervalVerdict::stop;
      warm_.clear();
      window_.clear();
      step_from_ = tap_.snapshot();
      return IntervalVerdict::go_on;
    case IntervalAction::stop:
      return IntervalVerdict::stop;
    default:
      return IntervalVerdict::go_on;
  }
}

bool StressSession::steer(double level) {
  if (!setup_.vus_search) return controller_->set_rate(setup_.scenario, Rate{level}, &rate_error_);
  return controller_->set_vus(setup_.scenario, static_cast<std::uint32_t>(level), &rate_error_);
}

IntervalVerdict StressSession::on_interval(const IntervalSnapshot& snap, const RunResult&) {
  if (snap.draining || search_.done()) return IntervalVerdict::go_on;
  const Phase phase = search_.phase();
  if (phase == Phase::warming) warm_.add(snap);
  if (phase == Phase::judging) window_.add(snap);
  const IntervalAction action =
      search_.on_interval(figures_of(snap, setup_.slo, setup_.vus_search));
  if (action == IntervalAction::start_judging) {
    window_.clear();
    window_from_ = tap_.snapshot();
    return IntervalVerdict::go_on;
  }
  if (action == IntervalAction::end_step) return end_step();
  return apply(action);
}

IntervalVerdict StressSession::end_step() {
  const StepRecord& record = search_.steps().back();
  // A step the governor ended before it was steady is judged on what it had.
  const bool judged_window = !window_.empty();
  const StepWindow& w = judged_window ? window_ : warm_;
  const std::vector<ComponentReadings> to = tap_.snapshot();
  const std::vector<ComponentReadings>& from = judged_window ? window_from_ : step_from_;

  StressStep step;
  step.index = static_cast<std::uint32_t>(steps_.size());
  if (setup_.vus_search)
    step.vus = static_cast<std::uint32_t>(record.rate_rps);
  else
    step.offered_rps = record.rate_rps;
  step.start_s = record.start_s;
  step.steady = record.steady;
  step.steady_after_s = record.steady_after_s;
  step.bisecting = record.bisecting;
  step.ended_by_governor = record.ended_by_governor;
  w.fill(step);
  step.resources = step_resources(from, to);

  RunResult window = w.as_result(record.rate_rps);
  const SloJudgement slo = judge_slo(setup_.slo, window);
  judge_schedule(window);
  step.generator_bound = window.generator.generator_bound && !target_alone_broke(slo, window);

  StepJudgement j;
  j.slo_held = slo.held;
  j.broken = slo.failure ? slo.failure->detail : std::string();
  j.achieved_rps = step.achieved_rps;
  j.generator_bound = step.generator_bound;
  const IntervalAction next = search_.on_step(j);
  const StepRecord& judged = search_.steps()[step.index];
  step.ok = judged.ok;
  step.broke = judged.why_not;

  std::optional<StressFailure> failure;
  if (!step.ok && !step.generator_bound) {  // strain's own limit is not the target's failure
    if (slo.failure) {
      failure = slo.failure;
    } else {
      StressFailure f;
      // A closed model has no offered rate to fall short of: only the governor ends its steps
      // without a broken SLO condition.
      f.signal = setup_.vus_search ? "governor" : "throughput";
      f.value = step.achieved_rps;
      f.limit = setup_.vus_search ? 0 : record.rate_rps * setup_.search.min_throughput_share;
      f.detail = step.broke;
      failure = f;
    }
    failure->step = step.index;
  }
  failures_.push_back(failure);
  steps_.push_back(step);
  if (step_done_) step_done_(steps_.back());
  return apply(next);
}

void StressSession::on_result(RunResult& result) {
  if (!search_.done()) search_.interrupt();
  // An interrupted search drops its unjudged step; the steps kept here were all judged.
  StressReport report;
  report.slo = setup_.slo.text;
  const SearchOutcome o = search_.outcome();
  report.end = to_string(o.end);
  report.precision = o.precision;
  report.steps = steps_;
  report.vus_search = setup_.vus_search;
  if (setup_.vus_search) {
    const auto count = [](std::optional<double> v) -> std::optional<std::uint32_t> {
      if (!v) return std::nullopt;
      return static_cast<std::uint32_t>(*v);
    };
    report.max_sustainable_vus = count(o.max_sustainable_rps);
    report.first_bad_vus = count(o.first_bad_rps);
    // What the most VUs that held got through: the throughput a manager plans with.
    for (const StressStep& s : steps_) {
      if (s.ok && report.max_sustainable_vus && s.vus == *report.max_sustainable_vus)
        report.max_sustainable_rps = s.achieved_rps;
    }
  } else {
    report.max_sustainable_rps = o.max_sustainable_rps;
    report.first_bad_rps = o.first_bad_rps;
  }
  for (const auto& f : failures_) {
    if (f) {
      report.first_failure = f;
      break;
    }
  }
  analyse(report, setup_.expected_peak_rps);
  result.stress = std::move(report);
}

std::string StressSession::state() const {
  char line[160];
  const auto& steps = search_.steps();
  if (setup_.vus_search) {
    std::snprintf(line, sizeof line, "step %zu at %.0f VUs: %s", steps.size(), search_.rate(),
                  to_string(search_.phase()));
  } else {
    std::snprintf(line, sizeof line, "step %zu at %.1f/s: %s", steps.size(), search_.rate(),
                  to_string(search_.phase()));
  }
  return line;
}

}  // namespace strain::stress
