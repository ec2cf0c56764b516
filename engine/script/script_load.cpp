#include "engine/script/script_load.hpp"

#include <lua.hpp>

#include "engine/core/clock.hpp"
#include "engine/core/error.hpp"
#include "engine/script/lua_vu.hpp"
#include "engine/script/script_context.hpp"

namespace strain {

// Makes one scenario's Lua VUs; knows its function and where its dropped arrivals go.
class ScriptLoad::Bodies final : public BodyFactory {
 public:
  Bodies(ScriptContext& ctx, const Scenario& s, std::uint32_t index) : ctx_(ctx) {
    scenario_.scenario = &s;
    scenario_.index = index;
    lua_getglobal(ctx.L, s.exec.c_str());
    if (!lua_isfunction(ctx.L, -1)) {
      lua_pop(ctx.L, 1);
      throw UsageError(ctx.plan.path + ": scenario '" + s.name + "' runs '" + s.exec +
                       "', which is not a global function in the script");
    }
    scenario_.exec_ref = luaL_ref(ctx.L, LUA_REGISTRYINDEX);
  }
  std::unique_ptr<VuBody> make_body(std::uint32_t vu_id, std::uint32_t slot,
                                    IterationSink& sink) override {
    return std::make_unique<LuaVu>(ctx_, scenario_, vu_id, slot, sink);
  }
  Recorder& dropped() override { return ctx_.series.dropped(scenario_.scenario->name); }

 private:
  ScriptContext& ctx_;
  LuaScenario scenario_;
};

ScriptLoad::ScriptLoad(boost::asio::io_context& io, const ScriptPlan& plan, Share share,
                       ClientFactory clients, std::function<void()> on_done)
    : ScriptLoad(io, plan, plan.scenarios, share, std::move(clients), std::move(on_done), false) {}

ScriptLoad::ScriptLoad(boost::asio::io_context& io, const ScriptPlan& plan,
                       std::span<const Scenario> scenarios, Share share, ClientFactory clients,
                       std::function<void()> on_done, bool one_shot)
    : ctx_(std::make_unique<ScriptContext>(io, plan, std::move(clients), one_shot)) {
  if (!one_shot) (void)Watchdog::signal_number();  // the handler is in place before any signal
  std::vector<BodyFactory*> factories;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    bodies_.push_back(std::make_unique<Bodies>(*ctx_, scenarios[i], static_cast<std::uint32_t>(i)));
    factories.push_back(bodies_.back().get());
  }
  set_ = std::make_unique<ScenarioSet>(io, scenarios, share, factories, std::move(on_done));
}

ScriptLoad::~ScriptLoad() {
  shutdown();
  set_.reset();  // VUs hold sessions of the context's clients and its coroutines
  bodies_.clear();
}

void ScriptLoad::start(std::int64_t origin_ns) {
  set_->start(origin_ns);
}

void ScriptLoad::stop(std::int64_t end_ns) {
  set_->stop(end_ns, now_ns());
}

void ScriptLoad::abandon(std::int64_t now_ns) {
  set_->abandon(now_ns);
}

void ScriptLoad::shutdown() {
  set_->shutdown();
  ctx_->timers.shutdown();
  ctx_->origins.shutdown();
}

void ScriptLoad::set_rate(std::size_t scenario, double per_s, std::int64_t at_ns) {
  set_->set_rate(scenario, per_s, at_ns);
}

void ScriptLoad::set_vus(std::size_t scenario, std::uint32_t vus) {
  set_->set_vus(scenario, vus);
}

bool ScriptLoad::done() const {
  return set_->done();
}

std::uint64_t ScriptLoad::in_flight() const {
  return ctx_->origins.in_flight();
}

const PhaseMetrics* ScriptLoad::phases() const {
  return &ctx_->phases;
}

void ScriptLoad::take_interval(WorkerInterval& out, HistogramStock& stock) {
  out.script = ScriptStats();
  ctx_->series.take_interval(out.total, out.series, out.script.untracked_names, stock);
  ctx_->tallies.take_interval(out.script);
  set_->take_interval(out.scenarios, stock);
  for (const ScenarioInterval& s : out.scenarios) {
    out.script.iterations += s.iterations.completed;
    out.script.iterations_failed += s.iterations.failed;
    out.script.iterations_interrupted += s.iterations.interrupted;
  }
  out.requests_started = ctx_->requests_started;
  out.connects = ctx_->origins.connects();
  out.stale_retries = ctx_->origins.stale_retries();
  out.connect_backoffs = ctx_->origins.connect_backoffs();
  out.in_flight = ctx_->origins.in_flight();
  out.active_vus = set_->busy();
}

std::int64_t ScriptLoad::running_for_ns() const noexcept {
  return ctx_->watchdog->running_for_ns();
}

}  // namespace strain
