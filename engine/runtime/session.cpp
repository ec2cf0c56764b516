#include "engine/runtime/session.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "engine/results/thresholds.hpp"
#include "engine/runtime/execution_segment.hpp"
#include "engine/runtime/exit_code.hpp"
#include "engine/script/one_shot.hpp"

namespace strain {
namespace {

class CommandSession {
 public:
  CommandSession(const LoadPlan& plan, const SessionHooks& hooks)
      : plan_(plan), hooks_(hooks), signals_(io_, SIGINT, SIGTERM) {
    wait_for_signal();
  }

  SessionOutcome run() {
    SessionOutcome out;
    LoadPlan plan = plan_;
    const ScriptPlan* script = plan_.script.get();
    if (script != nullptr && script->has_setup) {
      note("running setup()");
      const OneShotResult setup = one_shot(*script, "setup", "null");
      if (interrupted_) {
        out.code = ExitCode::interrupted;
        out.errors.push_back("interrupted during setup(), so no load was run");
        return out;
      }
      if (!setup.ok) {
        out.code = ExitCode::run_failed;
        out.errors.push_back("setup() failed, so no load was run:\n" + setup.error);
        return out;
      }
      auto with_data = std::make_shared<ScriptPlan>(*script);
      with_data->setup_data_json = setup.value_json;
      plan.script = with_data;
    }

    if (plan.start_at_unix_ms) {
      // Checked again now that setup() has run: starting late would not start together.
      const double now_ms = std::chrono::duration<double, std::milli>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
      if (*plan.start_at_unix_ms < now_ms - 1000) {
        out.code = ExitCode::bad_usage;
        out.errors.push_back("--start-at " + format_unix_ms(*plan.start_at_unix_ms) +
                             " has passed (during setup()), so no load was run");
        teardown(plan, out);
        return out;
      }
      note("waiting for --start-at " + format_unix_ms(*plan.start_at_unix_ms));
    }

    std::optional<RunResult> result = load(plan);
    if (!result) {
      out.code = ExitCode::interrupted;
      out.errors.push_back("interrupted while waiting for --start-at, so no load was run");
      teardown(plan, out);
      return out;
    }
    out.result = std::move(*result);
    out.ran = true;
    if (hooks_.on_result) hooks_.on_result(out.result);
    out.code = exit_code_for(out.result);
    if (const std::string why = exit_reason(out.result, out.code); !why.empty())
      out.errors.push_back(why);

    teardown(plan, out);
    return out;
  }

 private:
  void teardown(const LoadPlan& plan, SessionOutcome& out) {
    if (!plan.script || !plan.script->has_teardown) return;
    // Teardown runs after an interrupted load too (it cleans up what setup made); a second
    // signal cuts it short.
    const OneShotResult teardown = one_shot(*plan.script, "teardown", plan.script->setup_data_json);
    if (!teardown.ok) {
      out.errors.push_back("teardown() failed:\n" + teardown.error);
      if (out.code == ExitCode::passed) out.code = ExitCode::run_failed;
    }
  }

  void note(std::string_view text) {
    if (hooks_.on_note) hooks_.on_note(text);
  }

  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      ++signals_seen_;
      interrupted_ = true;
      if (on_signal_) on_signal_(signals_seen_);
      wait_for_signal();
    });
  }

  // Runs `loop` until it calls io_.stop(), with `on_signal` answering signals meanwhile.
  void run_loop(std::function<void(int)> on_signal) {
    on_signal_ = std::move(on_signal);
    io_.restart();
    io_.run();
    on_signal_ = nullptr;
  }

  // setup() or teardown() on a thread of its own, so that this loop can answer signals.
  OneShotResult one_shot(const ScriptPlan& script, const char* function, const std::string& data) {
    OneShot runner(script, function, data, plan_.clients);
    OneShotResult result;
    std::thread thread([&] {
      result = runner.run();
      boost::asio::post(io_, [this] { io_.stop(); });
    });
    run_loop([&runner](int) { runner.cancel(); });
    thread.join();
    return result;
  }

  // The load's result; nullopt when it was interrupted while waiting for --start-at.
  std::optional<RunResult> load(const LoadPlan& plan) {
    std::optional<std::string> threshold_abort;
    const bool any_abort = std::any_of(plan.thresholds.begin(), plan.thresholds.end(),
                                       [](const ThresholdSpec& t) { return t.abort_on_fail; });
    ControllerHooks hooks;
    hooks.on_interval = [&](const IntervalSnapshot& snap, const RunResult& so_far) {
      IntervalVerdict verdict = IntervalVerdict::go_on;
      if (hooks_.on_interval) verdict = hooks_.on_interval(snap, so_far);
      // Thresholds with abort_on_fail are judged on the run so far after every interval of
      // the load phase.
      if (any_abort && !snap.draining && !threshold_abort) {
        if (auto failed = first_abort(plan.thresholds, so_far, so_far.duration_s)) {
          threshold_abort = *failed;
          verdict = IntervalVerdict::stop;
        }
      }
      return verdict;
    };
    hooks.on_finished = [this] { io_.stop(); };
    Controller* steered = nullptr;
    // With --start-at the load begins only at the instant: a soak's samples count from there.
    if (plan.start_at_unix_ms && hooks_.on_start) {
      hooks.on_begin = [this, &steered] { hooks_.on_start(*steered); };
    }
    Controller controller(io_, plan, hooks);
    steered = &controller;
    controller.start();
    if (!plan.start_at_unix_ms && hooks_.on_start) hooks_.on_start(controller);
    const bool interrupted_before = interrupted_;
    run_loop([&controller](int seen) { controller.stop(seen > 1); });
    if (plan.start_at_unix_ms && !controller.began() && interrupted_) return std::nullopt;
    RunResult result = controller.take_result();
    if (interrupted_ && !interrupted_before) result.partial = true;
    if (threshold_abort) {
      result.threshold_abort = *threshold_abort;
      result.partial = true;
    }
    result.thresholds = evaluate_thresholds(plan.thresholds, result);
    return result;
  }

  const LoadPlan& plan_;
  const SessionHooks& hooks_;
  boost::asio::io_context io_{1};
  boost::asio::signal_set signals_;
  std::function<void(int)> on_signal_;  // what a signal means in the current step
  int signals_seen_ = 0;
  bool interrupted_ = false;
};

}  // namespace

SessionOutcome run_session(const LoadPlan& plan, const SessionHooks& hooks) {
  CommandSession session(plan, hooks);
  return session.run();
}

}  // namespace strain
