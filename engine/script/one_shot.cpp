#include "engine/script/one_shot.hpp"

#include <boost/asio/post.hpp>

#include "engine/core/clock.hpp"
#include "engine/core/units.hpp"
#include "engine/script/script_context.hpp"

namespace strain {

OneShot::OneShot(const ScriptPlan& plan, std::string_view function_name, std::string_view data_json,
                 ClientFactory clients)
    : plan_(plan), function_(function_name), clients_(std::move(clients)) {
  plan_.setup_data_json = std::string(data_json);
}

void OneShot::cancel() {
  cancelled_ = true;
  boost::asio::post(io_, [this] { io_.stop(); });
}

OneShotResult OneShot::run() {
  // One VU, one iteration; the scenario's max_duration is the function's time limit, and
  // what is still running then is interrupted (its requests abandoned, recorded as such).
  Scenario one;
  one.name = function_;
  one.exec = function_;
  one.executor = ExecutorKind::per_vu_iterations;
  one.vus = 1;
  one.iterations = 1;
  one.max_duration = plan_.settings.setup_timeout;
  one.graceful_stop = std::chrono::nanoseconds(0);
  OneShotResult out;
  {
    ScriptLoad load(
        io_, plan_, std::span<const Scenario>(&one, 1), Share::whole(), clients_,
        [this] { io_.stop(); }, true);
    if (!cancelled_) {
      load.start(now_ns());
      io_.run();
    }
    load.stop(now_ns());
    load.abandon(now_ns());
    WorkerInterval interval;
    HistogramStock stock;
    load.take_interval(interval, stock);
    ScriptContext& ctx = *load.ctx_;
    if (cancelled_ && ctx.one_shot_error.empty()) {
      ctx.one_shot_error = function_ + "() was cancelled (interrupted)";
    } else if (interval.script.iterations_interrupted > 0 && ctx.one_shot_error.empty()) {
      ctx.one_shot_error =
          function_ + "() did not finish within " + format_duration(plan_.settings.setup_timeout);
    }
    out.ok = interval.script.iterations == 1 && ctx.one_shot_error.empty();
    out.value_json = ctx.one_shot_value;
    out.error = ctx.one_shot_error;
    out.stats = std::move(interval.script);
    out.total = std::move(interval.total);
    out.series = std::move(interval.series);
    load.shutdown();
  }
  return out;
}

OneShotResult ScriptLoad::run_once(const ScriptPlan& plan, std::string_view function_name,
                                   std::string_view data_json, ClientFactory clients) {
  return OneShot(plan, function_name, data_json, std::move(clients)).run();
}

}  // namespace strain
