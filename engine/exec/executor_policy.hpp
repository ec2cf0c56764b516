// What to run next: each executor's rules for handing iterations to VUs, as decisions on counts
// and time that a ScenarioRunner acts on. One implementation per executor; no I/O, no clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "engine/schedule/arrivals.hpp"
#include "engine/schedule/scenario.hpp"
#include "engine/schedule/share.hpp"

namespace strain {

// An arrival-rate scenario's schedule as one worker keeps it.
struct ArrivalShare {
  RateProfile profile;                               // the scenario's rate over time
  ArrivalProcess process = ArrivalProcess::uniform;  // spacing of arrivals
  std::uint64_t seed = 0;                            // poisson draws
  ArrivalSplit split = ArrivalSplit::whole();        // which arrivals are this worker's
  std::uint64_t backlog_limit = 1;                   // this worker's arrivals waiting at most
};

class ExecutorPolicy {
 public:
  virtual ~ExecutorPolicy() = default;
  // VUs this worker may ever have for the scenario (closed: all made at the start).
  virtual std::uint32_t max_vus() const = 0;
  // VUs made at the start (open model: preallocated; closed: max_vus()).
  virtual std::uint32_t initial_vus() const { return max_vus(); }
  // Closed model: VUs that may be in an iteration `since_start` into the scenario.
  virtual std::uint32_t vus_at(std::chrono::nanoseconds since_start) const = 0;
  // Closed model: VU `slot`, having run `done` iterations, may begin another; true takes it
  // (from a pool, where there is one).
  virtual bool take(std::uint32_t slot, std::uint64_t done) = 0;
  // No VU will ever be given another iteration: an iteration executor's work is all taken.
  virtual bool exhausted() const = 0;
  // Open model: the arrivals that drive iterations (VUs are made on demand up to max_vus());
  // null for closed executors, whose VUs start an iteration whenever they are free.
  virtual const ArrivalShare* arrivals() const { return nullptr; }
};

// The policy of `scenario`'s executor for the worker holding `share` of it.
std::unique_ptr<ExecutorPolicy> make_policy(const Scenario& scenario, Share share);

}  // namespace strain
