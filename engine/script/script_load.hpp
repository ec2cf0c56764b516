// A worker's scripted load: one Lua state, one coroutine per VU, on the one executor engine.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/exec/scenario_set.hpp"
#include "engine/exec/worker_load.hpp"
#include "engine/results/run_result.hpp"
#include "engine/schedule/share.hpp"
#include "engine/script/script_options.hpp"
#include "engine/script/script_plan.hpp"
#include "engine/transport/client_factory.hpp"

namespace strain {

struct ScriptContext;

// Loads a script on the calling thread, as the CLI does before any traffic: prelude, script,
// options. Throws UsageError with file:line for syntax and load errors, and for bad options.
struct InspectedScript {
  ScriptOptions options;               // the script's options table
  std::vector<std::string> functions;  // global functions it defines (exec candidates)
  bool has_setup = false;              // setup() is defined
  bool has_teardown = false;           // teardown() is defined
};
InspectedScript inspect_script(const ScriptPlan& plan);

// The outcome of running setup() or teardown() once.
struct OneShotResult {
  bool ok = false;                     // the function returned without a script error
  std::string value_json;              // its first return value, as JSON ("null" when none)
  std::string error;                   // file:line message and traceback when !ok
  ScriptStats stats;                   // checks, metrics and errors it recorded
  RequestMetrics total;                // the requests it made, all together
  std::vector<RequestMetrics> series;  // the same, per name and tags
};

// Lives on one worker thread; everything but running_for_ns() is called from that thread.
class ScriptLoad final : public WorkerLoad {
 public:
  // Loads the script into a fresh Lua state (throws as inspect_script does) and prepares this
  // worker's `share` of every scenario of the plan. `on_done` fires (on this thread) once every
  // scenario has finished here.
  ScriptLoad(boost::asio::io_context& io, const ScriptPlan& plan, Share share,
             ClientFactory clients, std::function<void()> on_done);
  ~ScriptLoad() override;
  ScriptLoad(const ScriptLoad&) = delete;
  ScriptLoad& operator=(const ScriptLoad&) = delete;

  void start(std::int64_t origin_ns) override;
  void stop(std::int64_t end_ns) override;
  void abandon(std::int64_t now_ns) override;
  void shutdown() override;
  void set_rate(std::size_t scenario, double per_s, std::int64_t at_ns) override;
  void set_vus(std::size_t scenario, std::uint32_t vus) override;
  bool done() const override;
  std::uint64_t in_flight() const override;
  // Checks, metrics, script errors and iterations go into out.script; requests into total and
  // series.
  void take_interval(WorkerInterval& out, HistogramStock& stock) override;
  const PhaseMetrics* phases() const override;
  std::int64_t running_for_ns() const noexcept override;

  // Runs `function_name(data)` once as a lone VU on its own event loop (setup, teardown),
  // within plan.settings.setup_timeout.
  static OneShotResult run_once(const ScriptPlan& plan, std::string_view function_name,
                                std::string_view data_json, ClientFactory clients);

 private:
  friend class OneShot;
  class Bodies;
  ScriptLoad(boost::asio::io_context& io, const ScriptPlan& plan,
             std::span<const Scenario> scenarios, Share share, ClientFactory clients,
             std::function<void()> on_done, bool one_shot);

  std::unique_ptr<ScriptContext> ctx_;
  std::vector<std::unique_ptr<Bodies>> bodies_;  // one factory per scenario
  std::unique_ptr<ScenarioSet> set_;             // last: its VUs use the context and bodies
};

}  // namespace strain
