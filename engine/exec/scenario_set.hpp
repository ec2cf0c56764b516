// The scenarios one worker runs side by side on its event loop: their runners and their clock.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "engine/exec/iteration.hpp"
#include "engine/exec/scenario_runner.hpp"
#include "engine/exec/worker_load.hpp"
#include "engine/schedule/scenario.hpp"
#include "engine/schedule/share.hpp"

namespace strain {

// Worker thread only. Scenarios and factories outlive the set.
class ScenarioSet {
 public:
  // `bodies[i]` makes scenario i's VUs. `on_done` fires once, when every scenario is done.
  ScenarioSet(boost::asio::io_context& io, std::span<const Scenario> scenarios, Share share,
              std::span<BodyFactory* const> bodies, std::function<void()> on_done);
  ~ScenarioSet();
  ScenarioSet(const ScenarioSet&) = delete;
  ScenarioSet& operator=(const ScenarioSet&) = delete;

  void start(std::int64_t origin_ns);
  // The load phase ended at `end_ns` (see ScenarioRunner::stop).
  void stop(std::int64_t end_ns, std::int64_t now_ns);
  void abandon(std::int64_t now_ns);
  // Cancels the clock (after abandon()).
  void shutdown();
  void set_rate(std::size_t scenario, double per_s, std::int64_t at_ns);
  void set_vus(std::size_t scenario, std::uint32_t vus);
  bool done() const noexcept { return done_ == runners_.size(); }
  // VUs in an iteration, all scenarios.
  std::uint32_t busy() const noexcept;
  // Per scenario, in order.
  void take_interval(std::vector<ScenarioInterval>& out, HistogramStock& stock);

 private:
  void tick();
  void on_runner_done();

  boost::asio::steady_timer timer_;
  std::vector<std::unique_ptr<ScenarioRunner>> runners_;
  std::function<void()> on_done_;
  std::size_t done_ = 0;  // runners that are done
  bool stopped_ = false;
};

}  // namespace strain
