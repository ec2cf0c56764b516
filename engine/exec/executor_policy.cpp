#include "engine/exec/executor_policy.hpp"

#include <algorithm>
#include <cmath>

namespace strain {
namespace {

// constant-vus: every VU loops until the scenario's duration ends.
class ConstantVusPolicy final : public ExecutorPolicy {
 public:
  explicit ConstantVusPolicy(std::uint32_t vus) : vus_(vus) {}
  std::uint32_t max_vus() const override { return vus_; }
  std::uint32_t vus_at(std::chrono::nanoseconds) const override { return vus_; }
  bool take(std::uint32_t, std::uint64_t) override { return true; }
  bool exhausted() const override { return false; }

 private:
  std::uint32_t vus_;
};

// ramping-vus: the VUs allowed to run follow the stages; a VU above the line finishes its
// iteration and then rests (k6's graceful ramp-down), so none is cut short.
class RampingVusPolicy final : public ExecutorPolicy {
 public:
  RampingVusPolicy(const Scenario& s, Share share)
      : scenario_(s), share_(share), max_(static_cast<std::uint32_t>(share.of(peak_vus(s)))) {}
  std::uint32_t max_vus() const override { return max_; }
  std::uint32_t vus_at(std::chrono::nanoseconds since_start) const override {
    return static_cast<std::uint32_t>(share_.of(ramping_vus_at(scenario_, since_start)));
  }
  bool take(std::uint32_t, std::uint64_t) override { return true; }
  bool exhausted() const override { return false; }

 private:
  const Scenario& scenario_;
  Share share_;
  std::uint32_t max_;
};

// per-vu-iterations: each VU runs exactly `iterations`; the scenario ends when all have.
class PerVuIterationsPolicy final : public ExecutorPolicy {
 public:
  PerVuIterationsPolicy(std::uint32_t vus, std::uint64_t iterations)
      : vus_(vus), iterations_(iterations), left_(std::uint64_t{vus} * iterations) {}
  std::uint32_t max_vus() const override { return vus_; }
  std::uint32_t vus_at(std::chrono::nanoseconds) const override { return vus_; }
  bool take(std::uint32_t, std::uint64_t done) override {
    if (done >= iterations_ || left_ == 0) return false;
    --left_;
    return true;
  }
  bool exhausted() const override { return left_ == 0; }

 private:
  std::uint32_t vus_;
  std::uint64_t iterations_;
  std::uint64_t left_;  // iterations not yet taken by any VU of this worker
};

// shared-iterations: the VUs take iterations from one pool until it is empty. Each worker
// holds a share of the pool, split only among the workers that have a VU, so no iteration
// waits on a worker that could never run it.
class SharedIterationsPolicy final : public ExecutorPolicy {
 public:
  SharedIterationsPolicy(std::uint32_t vus, std::uint64_t pool) : vus_(vus), pool_(pool) {}
  std::uint32_t max_vus() const override { return vus_; }
  std::uint32_t vus_at(std::chrono::nanoseconds) const override { return vus_; }
  bool take(std::uint32_t, std::uint64_t) override {
    if (pool_ == 0) return false;
    --pool_;
    return true;
  }
  bool exhausted() const override { return pool_ == 0; }

 private:
  std::uint32_t vus_;
  std::uint64_t pool_;  // iterations this worker has left
};

// constant- and ramping-arrival-rate: the schedule starts iterations; the rate's shape is the
// profile's business, so both executors are this one policy with different profiles.
class ArrivalRatePolicy final : public ExecutorPolicy {
 public:
  ArrivalRatePolicy(const Scenario& s, Share share) {
    const std::uint64_t pool = std::max(s.max_vus, s.preallocated_vus);
    arrivals_.profile = rate_profile(s);
    arrivals_.process = s.arrival;
    arrivals_.seed = s.seed;
    arrivals_.split = ArrivalSplit(share, pool);
    max_ = static_cast<std::uint32_t>(arrivals_.split.per_cycle());
    initial_ = std::min(max_, static_cast<std::uint32_t>(share.of(s.preallocated_vus)));
    // The backlog follows the arrivals too: this worker's part is its share of the VUs.
    const std::uint64_t backlog = s.backlog_limit != 0 ? s.backlog_limit : default_backlog(s);
    const double part = static_cast<double>(max_) / static_cast<double>(pool);
    arrivals_.backlog_limit = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::llround(static_cast<double>(backlog) * part)));
  }
  std::uint32_t max_vus() const override { return max_; }
  std::uint32_t initial_vus() const override { return initial_; }
  std::uint32_t vus_at(std::chrono::nanoseconds) const override { return max_; }
  bool take(std::uint32_t, std::uint64_t) override { return true; }
  bool exhausted() const override { return false; }
  const ArrivalShare* arrivals() const override { return &arrivals_; }

 private:
  ArrivalShare arrivals_;
  std::uint32_t max_ = 0;
  std::uint32_t initial_ = 0;
};

}  // namespace

std::unique_ptr<ExecutorPolicy> make_policy(const Scenario& s, Share share) {
  const auto vus = static_cast<std::uint32_t>(share.of(s.vus));
  switch (s.executor) {
    case ExecutorKind::constant_vus:
      return std::make_unique<ConstantVusPolicy>(vus);
    case ExecutorKind::ramping_vus:
      return std::make_unique<RampingVusPolicy>(s, share);
    case ExecutorKind::per_vu_iterations:
      return std::make_unique<PerVuIterationsPolicy>(vus, s.iterations);
    case ExecutorKind::shared_iterations:
      return std::make_unique<SharedIterationsPolicy>(vus, share.of_among(s.iterations, s.vus));
    case ExecutorKind::constant_arrival_rate:
    case ExecutorKind::ramping_arrival_rate:
      return std::make_unique<ArrivalRatePolicy>(s, share);
  }
  return std::make_unique<ConstantVusPolicy>(vus);
}

}  // namespace strain
