// One scenario on one worker: its VUs, its executor's policy, its arrival schedule, its clock.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/exec/arrival_pacer.hpp"
#include "engine/exec/executor_policy.hpp"
#include "engine/exec/iteration.hpp"
#include "engine/exec/worker_load.hpp"
#include "engine/schedule/scenario.hpp"
#include "engine/schedule/share.hpp"

namespace strain {

// The runner decides when each VU begins an iteration: closed executors whenever a VU is free
// (as their policy allows), arrival-rate ones when an arrival is due (a free VU, a new one up
// to max_vus, or the backlog). Bodies decide what an iteration does. Worker thread only.
class ScenarioRunner final : private IterationSink {
 public:
  // `first_vu_id`: the id of this worker's first VU of the scenario (ids are unique in the
  // run). `bodies` and `scenario` outlive the runner. `on_done` fires once, when nothing more
  // will run.
  ScenarioRunner(boost::asio::io_context& io, const Scenario& scenario, Share share,
                 std::uint32_t first_vu_id, BodyFactory& bodies, std::function<void()> on_done);
  ~ScenarioRunner();
  ScenarioRunner(const ScenarioRunner&) = delete;
  ScenarioRunner& operator=(const ScenarioRunner&) = delete;

  // The scenario starts at origin_ns + start_time (now_ns() clock).
  void start(std::int64_t origin_ns);
  // The scenario clock (the owner calls it every few tens of ms): start, ramps, the end of the
  // scenario and of its graceful stop.
  void tick(std::int64_t now_ns);
  // The load phase ended at `end_ns` (now_ns: the current time): arrivals due by then still
  // start if a VU is free, the rest are given up (dropped); nothing else begins; iterations
  // wind down (requests in flight complete, nothing more of them runs).
  void stop(std::int64_t end_ns, std::int64_t now_ns);
  void stop(std::int64_t now_ns) { stop(now_ns, now_ns); }
  // The run gives up: iterations still running are interrupted, their requests abandoned.
  void abandon(std::int64_t now_ns);
  // Arrival-rate: the rate becomes `per_s` from `at_ns` to the scenario's end. Else a no-op.
  void set_rate(double per_s, std::int64_t at_ns);
  // Closed model: at most `vus` of the scenario's VUs (this worker's share of them) may run
  // from the next tick, below what the executor allows; VUs above it finish their iteration
  // and rest. Arrival-rate: a no-op.
  void set_vus(std::uint32_t vus);

  bool done() const noexcept { return phase_ == Phase::done; }
  std::uint32_t busy() const noexcept { return busy_; }
  const Scenario& scenario() const noexcept { return scenario_; }
  // The interval's iteration counts and schedule figures since the last call.
  void take_interval(ScenarioInterval& out, HistogramStock& stock);

 private:
  enum class Phase : std::uint8_t { waiting, running, ending, done };
  enum class SlotState : std::uint8_t { idle, queued, busy };
  struct Slot {
    std::unique_ptr<VuBody> body;
    std::uint64_t iterations = 0;    // iterations this VU has ended
    std::int64_t queued_due_ns = 0;  // queued: when its next iteration is due
    SlotState state = SlotState::idle;
  };

  void on_iteration_end(std::uint32_t slot, IterationEnd end, bool waited,
                        std::int64_t now_ns) override;
  std::uint32_t add_slot();
  bool try_begin(std::uint32_t slot, std::int64_t now_ns);
  bool dispatch(std::int64_t intended_ns, std::int64_t now_ns);
  void begin_arrival(std::uint32_t slot, std::int64_t intended_ns, std::int64_t now_ns);
  void queue(std::uint32_t slot, std::int64_t due_ns);
  void run_queued(std::uint32_t slot);
  void cancel_queued(std::uint32_t slot, std::int64_t now_ns);
  void release(std::uint32_t slot);
  void interrupt_all(std::int64_t now_ns);
  void end_phase(std::int64_t now_ns);
  void settle();

  boost::asio::io_context& io_;
  const Scenario& scenario_;
  BodyFactory& bodies_;
  std::function<void()> on_done_;
  std::unique_ptr<ExecutorPolicy> policy_;
  Share share_;                          // this worker's part of the scenario
  std::uint32_t vus_cap_ = UINT32_MAX;   // set_vus: this worker's share of the cap
  std::unique_ptr<ArrivalPacer> pacer_;  // arrival-rate scenarios with arrivals on this worker
  std::uint32_t first_vu_id_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;  // arrival-rate: idle slots, most recently used last
  Phase phase_ = Phase::waiting;
  std::int64_t start_ns_ = 0;      // the scenario starts
  std::int64_t end_ns_ = 0;        // it stops beginning iterations
  std::int64_t hard_stop_ns_ = 0;  // iterations still running are interrupted
  std::uint32_t target_ = 0;       // closed: VUs (slots below this) that may run now
  std::uint32_t busy_ = 0;         // slots not idle
  std::uint32_t peak_busy_ = 0;    // the interval's most slots busy at once
  IterationCounts counts_;         // the interval's
  bool stopping_ = false;          // the load phase is over
  bool done_reported_ = false;
  // Posted continuations check it: a runner destroyed with handlers still queued is not touched.
  std::shared_ptr<char> alive_ = std::make_shared<char>(0);
};

}  // namespace strain
