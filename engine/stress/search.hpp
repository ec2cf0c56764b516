// The breaking-point search as a pure state machine: it sees one figure per interval and one
// judgement per step, and says which rate to offer next. No sockets, no clock: the stress
// session feeds it from the controller, tests feed it from a simulated queue.
//
// Steps grow geometrically from the start rate while each holds the SLO, then bisect between
// the last good and the first bad rate until they are within the precision. A step warms up
// until its intervals stop moving (or half the step has gone), and is judged over the rest.
// A governor ends a step early once the target is clearly broken; a cool-down at a low rate
// follows every broken step so the queues it built drain before the next step is measured.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace strain::stress {

struct SearchOptions {
  double start_rps = 50;             // the first step's rate
  double growth = 2;                 // factor between growth steps (> 1)
  double precision = 0.05;           // bisection ends once (bad - good) / good <= this
  double step_s = 20;                // a step's length: warm-up, then judged
  std::optional<double> max_rps;     // no step above it
  double max_time_s = 600;           // the whole search, cool-downs included
  double min_warm_s = 2;             // a step is never judged before this much of it
  double max_warm_share = 0.5;       // judging starts by this share of the step, steady or not
  std::size_t steady_intervals = 3;  // successive intervals that must agree
  double steady_tolerance = 0.10;    // … their throughputs within 10%, their p99s within 3x that
  double min_throughput_share = 0.97;  // achieved below this share of offered: the step fails
  std::size_t governor_intervals = 2;  // clearly broken this many intervals in a row: end the step
  double cooldown_s = 5;               // after a broken step, at most this long …
  double cooldown_share = 0.1;         // … at this share of the last good rate (at least 1/s)
  std::size_t generator_retries = 1;   // a broken step strain could not offer is tried again
  // --vus-search: the levels are VU counts (whole numbers, at least 1), not rates. There is no
  // offered rate to fall short of, so throughput never fails a step; bisection also ends once
  // good and bad are adjacent counts.
  bool closed_model = false;
};

// "Rate" below is a step's level: arrivals per second, or VUs in a closed-model search.

// One interval of the load, as the session measured it.
struct IntervalFigures {
  double length_s = 0;
  double offered_rps = 0;        // arrivals due in the interval, per second
  double achieved_rps = 0;       // responses (any status) in the interval, per second
  double p99_ms = 0;             // response time p99 of the interval (0 when none)
  double error_rate = 0;         // failed / attempts in the interval
  std::uint64_t in_flight = 0;   // requests still out when the interval closed
  bool generator_bound = false;  // strain could not start the arrivals due on time
  bool clearly_broken = false;   // far past the SLO (the session's governor test)
};

// The session's judgement of a step's judged window.
struct StepJudgement {
  bool slo_held = false;         // every SLO condition held over the window
  std::string broken;            // the first condition that broke, as the summary says it
  double achieved_rps = 0;       // responses per second over the window
  bool generator_bound = false;  // strain was the limit somewhere in the window
};

enum class Phase { warming, judging, cooling, done };

// What the session must do after an interval.
enum class IntervalAction {
  go_on,          // keep offering rate()
  start_judging,  // the step is steady: the next interval opens its judged window
  end_step,       // the step is over: judge its window and call on_step()
  set_rate,       // a new rate starts now (a cool-down began or ended): offer rate()
  stop,           // the search is over
};

struct StepRecord {
  std::size_t index = 0;
  double rate_rps = 0;        // offered
  double start_s = 0;         // from the search's start
  double steady_after_s = 0;  // into the step when judging began
  double judged_s = 0;        // the judged window's length
  bool steady = false;        // steady state was seen (not only the cap)
  bool ended_by_governor = false;
  bool bisecting = false;  // a bisection step (not a growth step)
  bool judged = false;     // on_step() has judged it
  bool ok = false;         // held the SLO and the throughput
  std::string why_not;     // the first thing that broke, when !ok
  StepJudgement judgement;
};

enum class SearchEnd {
  running,
  precise,          // good and bad within the precision
  max_rate,         // held at --max-rate: the breaking point is above it
  max_time,         // out of time: bounds as far as they got
  generator_bound,  // strain could not offer the rate that would decide
  below_start,      // broke even at the lowest rate tried
  interrupted,      // stopped from outside (Ctrl-C)
};

struct SearchOutcome {
  SearchEnd end = SearchEnd::running;
  std::optional<double> max_sustainable_rps;     // the highest rate that held
  std::optional<double> first_bad_rps;           // the lowest rate that broke
  std::optional<double> precision;               // (bad - good) / good, when both are known
  std::optional<std::size_t> first_broken_step;  // index of the first step that broke
};

class Search {
 public:
  explicit Search(SearchOptions options);

  // The rate to offer now.
  double rate() const noexcept { return rate_; }
  Phase phase() const noexcept { return phase_; }
  bool done() const noexcept { return phase_ == Phase::done; }
  // Seconds of the search so far (the intervals fed).
  double elapsed_s() const noexcept { return elapsed_s_; }

  // One interval at the current rate.
  IntervalAction on_interval(const IntervalFigures& f);
  // The judgement of the step that on_interval() ended. Returns set_rate (the next step or a
  // cool-down: offer rate()) or stop.
  IntervalAction on_step(const StepJudgement& j);
  // Stops from outside: the step in progress is dropped, the outcome keeps what was decided.
  void interrupt();

  const std::vector<StepRecord>& steps() const noexcept { return steps_; }
  SearchOutcome outcome() const;
  const SearchOptions& options() const noexcept { return options_; }

 private:
  // A level as offered: a whole VU count in a closed-model search.
  double level(double x) const noexcept;
  // The cool-down's level after a broken step, from the last good level.
  double cooldown_level(double from) const noexcept;
  void begin_step(double rate, bool bisecting);
  IntervalAction next_step();
  IntervalAction finish(SearchEnd end);
  bool steady_now() const;

  SearchOptions options_;
  Phase phase_ = Phase::warming;
  double rate_ = 0;
  double elapsed_s_ = 0;
  double step_elapsed_s_ = 0;
  double cooldown_elapsed_s_ = 0;
  std::size_t broken_in_a_row_ = 0;
  std::vector<IntervalFigures> recent_;  // the step's last few intervals (steady-state test)
  std::vector<StepRecord> steps_;
  std::optional<double> good_rps_;
  std::optional<double> bad_rps_;
  std::optional<std::size_t> first_broken_;
  std::size_t generator_retries_ = 0;
  std::optional<double> retry_rps_;  // the rate to try again after the cool-down
  SearchEnd end_ = SearchEnd::running;
};

const char* to_string(SearchEnd end) noexcept;
const char* to_string(Phase phase) noexcept;

}  // namespace strain::stress
