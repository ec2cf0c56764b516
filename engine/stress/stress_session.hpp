// The breaking-point search wired to a running load: every interval goes to the Search, the
// rate it asks for goes to the controller (without restarting VUs), each step's window is
// judged against the SLO with the threshold code, and the watchers' readings are taken at
// each window's start and end. After the load, the report goes into the result.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/results/interval_snapshot.hpp"
#include "engine/results/run_result.hpp"
#include "engine/runtime/controller.hpp"
#include "engine/stress/resource_tap.hpp"
#include "engine/stress/search.hpp"
#include "engine/stress/slo.hpp"
#include "engine/stress/step_window.hpp"

namespace strain::stress {

struct StressSetup {
  SearchOptions search;
  Slo slo;
  std::optional<double> expected_peak_rps;  // --expected-peak
  std::string scenario = "default";         // the scenario the search steers: arrival-rate,
                                            // or constant-vus with vus_search
  bool vus_search = false;                  // levels are VUs (search.closed_model too)
};

// Calls come from the session's thread, except the tap's (the sampler's).
class StressSession {
 public:
  explicit StressSession(StressSetup setup);

  // For the watchers' sampler (see soak::SampleTap); without one, steps carry no resources.
  ResourceTap& tap() noexcept { return tap_; }
  // Every finished step, as it is judged (the console prints a row).
  void on_step_done(std::function<void(const StressStep&)> fn) { step_done_ = std::move(fn); }

  void on_start(Controller& controller);
  IntervalVerdict on_interval(const IntervalSnapshot& snap, const RunResult& so_far);
  // The report into `result` (an interrupted search keeps the steps judged so far).
  void on_result(RunResult& result);

  // "step 5 at 800/s: judging" for the live line.
  std::string state() const;

 private:
  IntervalVerdict apply(IntervalAction action);
  // Offers `level` (a rate, or VUs in a --vus-search); false when the controller refused.
  bool steer(double level);
  IntervalVerdict end_step();

  StressSetup setup_;
  Search search_;
  Controller* controller_ = nullptr;
  ResourceTap tap_;
  StepWindow warm_;    // the step so far (for a step the governor ends before judging)
  StepWindow window_;  // the judged window
  std::vector<ComponentReadings> window_from_;  // readings when the judged window opened
  std::vector<ComponentReadings> step_from_;    // … and when the step began
  std::vector<StressStep> steps_;
  std::vector<std::optional<StressFailure>> failures_;  // by step
  std::function<void(const StressStep&)> step_done_;
  std::string rate_error_;  // set_rate refused (the run is ending)
};

}  // namespace strain::stress
