#include "engine/stress/search.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace strain::stress {

namespace {

// A search that cannot settle is still bounded: steps shorter than a second are refused by
// the command line, so max_time_s bounds the count; this bounds the record besides.
constexpr std::size_t kMaxSteps = 1000;
constexpr double kLowestRps = 1.0;

}  // namespace

Search::Search(SearchOptions options) : options_(options) {
  double first = options_.start_rps;
  if (options_.max_rps) first = std::min(first, *options_.max_rps);
  begin_step(first, false);
}

double Search::level(double x) const noexcept {
  return options_.closed_model ? std::max(1.0, std::round(x)) : x;
}

double Search::cooldown_level(double from) const noexcept {
  const double x = std::max(kLowestRps, options_.cooldown_share * from);
  return options_.closed_model ? std::floor(x) : x;
}

void Search::begin_step(double rate, bool bisecting) {
  rate = level(rate);
  rate_ = rate;
  phase_ = Phase::warming;
  step_elapsed_s_ = 0;
  broken_in_a_row_ = 0;
  recent_.clear();
  StepRecord s;
  s.index = steps_.size();
  s.rate_rps = rate;
  s.start_s = elapsed_s_;
  s.bisecting = bisecting;
  steps_.push_back(std::move(s));
}

bool Search::steady_now() const {
  const std::size_t n = options_.steady_intervals;
  if (recent_.size() < n) return false;
  double lo_x = recent_.back().achieved_rps, hi_x = lo_x;
  double lo_p = recent_.back().p99_ms, hi_p = lo_p;
  for (std::size_t i = recent_.size() - n; i < recent_.size(); ++i) {
    lo_x = std::min(lo_x, recent_[i].achieved_rps);
    hi_x = std::max(hi_x, recent_[i].achieved_rps);
    lo_p = std::min(lo_p, recent_[i].p99_ms);
    hi_p = std::max(hi_p, recent_[i].p99_ms);
  }
  // Throughput settles tightly; a p99 of a second's few hundred responses wanders more, so it
  // gets three times the room (and a millisecond, for sub-millisecond targets).
  const bool throughput = hi_x <= lo_x * (1 + options_.steady_tolerance) + 1e-9;
  const bool latency = hi_p <= lo_p * (1 + 3 * options_.steady_tolerance) + 1.0;
  return throughput && latency;
}

IntervalAction Search::on_interval(const IntervalFigures& f) {
  if (phase_ == Phase::done) return IntervalAction::stop;
  elapsed_s_ += f.length_s;
  if (phase_ == Phase::cooling) {
    cooldown_elapsed_s_ += f.length_s;
    // Drained: nothing left in flight and the low rate answered in full. Or out of patience.
    // A closed model has its cool-down VUs' requests out all the time, and nothing more.
    const double idle_in_flight = options_.closed_model ? rate_ : 1;
    const bool drained = static_cast<double>(f.in_flight) <= idle_in_flight &&
                         f.achieved_rps >= f.offered_rps * 0.9 &&
                         cooldown_elapsed_s_ >= std::min(1.0, options_.cooldown_s);
    if (drained || cooldown_elapsed_s_ >= options_.cooldown_s) return next_step();
    return IntervalAction::go_on;
  }

  step_elapsed_s_ += f.length_s;
  StepRecord& step = steps_.back();
  recent_.push_back(f);
  if (recent_.size() > options_.steady_intervals) recent_.erase(recent_.begin());

  broken_in_a_row_ = f.clearly_broken ? broken_in_a_row_ + 1 : 0;
  if (broken_in_a_row_ >= options_.governor_intervals) {
    step.ended_by_governor = true;
    if (phase_ == Phase::warming) step.steady_after_s = step_elapsed_s_;
    return IntervalAction::end_step;
  }

  if (phase_ == Phase::warming) {
    const bool capped = step_elapsed_s_ >= options_.step_s * options_.max_warm_share;
    if (step_elapsed_s_ >= options_.min_warm_s && (steady_now() || capped)) {
      phase_ = Phase::judging;
      step.steady = steady_now();
      step.steady_after_s = step_elapsed_s_;
      return IntervalAction::start_judging;
    }
    return IntervalAction::go_on;
  }

  step.judged_s += f.length_s;
  if (step_elapsed_s_ >= options_.step_s - 1e-9) return IntervalAction::end_step;
  return IntervalAction::go_on;
}

IntervalAction Search::on_step(const StepJudgement& j) {
  if (phase_ == Phase::done) return IntervalAction::stop;
  StepRecord& step = steps_.back();
  step.judgement = j;
  step.judged = true;
  const bool throughput_ok = options_.closed_model ||
                             j.achieved_rps >= step.rate_rps * options_.min_throughput_share ||
                             step.judged_s <= 0;
  step.ok = j.slo_held && throughput_ok && !step.ended_by_governor;
  if (!step.ok) {
    if (!j.slo_held) {
      step.why_not = j.broken;
    } else if (!throughput_ok) {
      char line[160];
      std::snprintf(line, sizeof line, "throughput %.1f/s below %.0f%% of the %.1f/s offered",
                    j.achieved_rps, options_.min_throughput_share * 100, step.rate_rps);
      step.why_not = line;
    } else {
      step.why_not = j.broken.empty() ? "clearly broken (the governor ended it)" : j.broken;
    }
  }

  if (!step.ok && j.generator_bound) {
    // Strain could not offer this rate: whatever broke may be strain's own doing. Once may be
    // a noisy moment (another process on the machine): the same rate again, after a cool-down.
    // Twice is strain's limit.
    if (generator_retries_ >= options_.generator_retries) return finish(SearchEnd::generator_bound);
    ++generator_retries_;
    retry_rps_ = step.rate_rps;
    phase_ = Phase::cooling;
    cooldown_elapsed_s_ = 0;
    rate_ = cooldown_level(good_rps_.value_or(step.rate_rps));
    return IntervalAction::set_rate;
  }
  if (step.ok) {
    good_rps_ = std::max(good_rps_.value_or(0.0), step.rate_rps);
  } else {
    bad_rps_ = std::min(bad_rps_.value_or(step.rate_rps), step.rate_rps);
    if (!first_broken_) first_broken_ = step.index;
  }

  if (!step.ok) {
    // Let the queues this step built drain before anything else is measured.
    phase_ = Phase::cooling;
    cooldown_elapsed_s_ = 0;
    rate_ = cooldown_level(good_rps_.value_or(step.rate_rps));
    return IntervalAction::set_rate;
  }
  return next_step();
}

IntervalAction Search::next_step() {
  if (steps_.size() >= kMaxSteps) return finish(SearchEnd::max_time);
  // A step cannot be judged in less than its warm-up cap plus one interval; stop rather than
  // start one the clock will cut short.
  if (elapsed_s_ + options_.step_s > options_.max_time_s + 1e-9) return finish(SearchEnd::max_time);

  if (retry_rps_) {
    const double again = *retry_rps_;
    retry_rps_.reset();
    begin_step(again, steps_.back().bisecting);
    return IntervalAction::set_rate;
  }
  if (good_rps_ && bad_rps_) {
    if ((*bad_rps_ - *good_rps_) / *good_rps_ <= options_.precision + 1e-12)
      return finish(SearchEnd::precise);
    if (options_.closed_model) {
      // No count lies between adjacent ones; otherwise the midpoint rounded down lies strictly
      // between them.
      if (*bad_rps_ - *good_rps_ <= 1) return finish(SearchEnd::precise);
      begin_step(std::floor((*good_rps_ + *bad_rps_) / 2), true);
      return IntervalAction::set_rate;
    }
    begin_step((*good_rps_ + *bad_rps_) / 2, true);
    return IntervalAction::set_rate;
  }
  if (bad_rps_) {
    // Broken at every rate tried so far: go down.
    double lower = *bad_rps_ / options_.growth;
    if (options_.closed_model) lower = std::floor(lower);
    if (lower < kLowestRps) return finish(SearchEnd::below_start);
    begin_step(lower, false);
    return IntervalAction::set_rate;
  }
  // Every step held: grow (a VU count by at least one).
  double higher = *good_rps_ * options_.growth;
  if (options_.closed_model) higher = std::max(*good_rps_ + 1, std::round(higher));
  if (options_.max_rps) {
    if (*good_rps_ >= *options_.max_rps * (1 - 1e-12)) return finish(SearchEnd::max_rate);
    higher = std::min(higher, *options_.max_rps);
  }
  begin_step(higher, false);
  return IntervalAction::set_rate;
}

IntervalAction Search::finish(SearchEnd end) {
  phase_ = Phase::done;
  end_ = end;
  return IntervalAction::stop;
}

void Search::interrupt() {
  if (phase_ == Phase::done) return;
  // The step in progress was never judged: it does not count either way.
  if (!steps_.empty() && !steps_.back().judged) steps_.pop_back();
  finish(SearchEnd::interrupted);
}

SearchOutcome Search::outcome() const {
  SearchOutcome o;
  o.end = end_;
  o.max_sustainable_rps = good_rps_;
  o.first_bad_rps = bad_rps_;
  if (good_rps_ && bad_rps_ && *good_rps_ > 0) o.precision = (*bad_rps_ - *good_rps_) / *good_rps_;
  o.first_broken_step = first_broken_;
  return o;
}

const char* to_string(SearchEnd end) noexcept {
  switch (end) {
    case SearchEnd::running:
      return "running";
    case SearchEnd::precise:
      return "precise";
    case SearchEnd::max_rate:
      return "max_rate";
    case SearchEnd::max_time:
      return "max_time";
    case SearchEnd::generator_bound:
      return "generator_bound";
    case SearchEnd::below_start:
      return "below_start";
    case SearchEnd::interrupted:
      return "interrupted";
  }
  return "?";
}

const char* to_string(Phase phase) noexcept {
  switch (phase) {
    case Phase::warming:
      return "warming";
    case Phase::judging:
      return "judging";
    case Phase::cooling:
      return "cooling";
    case Phase::done:
      return "done";
  }
  return "?";
}

}  // namespace strain::stress
