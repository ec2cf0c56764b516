// Runs a LoadPlan on worker threads and can be steered while it runs: an observer sees every
// interval (and may stop the run), arrival rates change without restarting VUs, stop drains.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/core/units.hpp"
#include "engine/results/interval_snapshot.hpp"
#include "engine/results/run_result.hpp"
#include "engine/runtime/load_plan.hpp"

namespace strain {

// Called on the thread running the controller's io_context.
struct ControllerHooks {
  // After every interval: the interval merged over the workers, and the run so far (its
  // timeline and totals include this interval). May call Controller::set_rate(). Returning
  // IntervalVerdict::stop ends the load phase as if the plan had ended.
  std::function<IntervalVerdict(const IntervalSnapshot&, const RunResult& so_far)> on_interval;
  // The run's clock has started: its schedules count from now (with --start-at, the instant).
  std::function<void()> on_begin;
  // The run has finished (every worker drained and joined): take_result() is ready.
  std::function<void()> on_finished;
};

// Lifecycle: construct, start(), let `io` run until on_finished, take_result(). One run per
// controller. Everything happens on the io_context's thread; workers run on their own.
class Controller {
 public:
  // `plan` and `io` outlive the controller.
  Controller(boost::asio::io_context& io, const LoadPlan& plan, ControllerHooks hooks);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts the workers and the run's clock. Throws strain::Error when a worker thread cannot
  // start (those already running are stopped and joined first) or the request is invalid.
  void start();
  // Ends the load phase now and drains (what is in flight gets up to drain_grace); with
  // `abort`, gives up on what is in flight at once, also during a drain. Idempotent. Whether
  // that makes the result partial is the caller's to say (an interrupt does; a search's end
  // does not).
  void stop(bool abort = false);
  // The arrival-rate scenario `scenario` (by name) starts arrivals at `rate` from now to its
  // end, on every worker at the same instant, keeping its VUs and connections. False with
  // `why` set when there is no such scenario, it is not arrival-rate, or the run is ending.
  bool set_rate(std::string_view scenario, Rate rate, std::string* why = nullptr);
  // The closed-model scenario `scenario` (constant-vus or ramping-vus) runs at most `vus` VUs
  // from now, at most as many as it made; VUs above the line finish their iteration and rest,
  // keeping their connections. False with `why` set otherwise, or when the run is ending.
  bool set_vus(std::string_view scenario, std::uint32_t vus, std::string* why = nullptr);
  // The load phase is over (draining or finished).
  bool stopping() const noexcept;
  bool finished() const noexcept;
  // The run's clock started (false: stopped before it did, e.g. while waiting for --start-at).
  bool began() const noexcept;
  // The complete result, after on_finished. Moves it out.
  RunResult take_result();

  class Run;

 private:
  std::unique_ptr<Run> run_;
};

}  // namespace strain
