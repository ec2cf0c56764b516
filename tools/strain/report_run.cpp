#include "tools/strain/report_run.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"
#include "engine/results/json.hpp"
#include "engine/runtime/exit_code.hpp"
#include "engine/runtime/session.hpp"
#include "reporters/console.hpp"
#include "reporters/live_view.hpp"
#include "reporters/soak_summary.hpp"
#include "reporters/stress_summary.hpp"
#include "tools/strain/console_view.hpp"
#include "tools/strain/report_outputs.hpp"

namespace strain {

namespace {

double progress_every_s(const OutputFlags& output) {
  const double s =
      std::chrono::duration<double>(parse_duration(output.progress_every, "--progress-every"))
          .count();
  if (s < 1)
    throw UsageError("--progress-every: at least 1s (got '" + output.progress_every + "')");
  return s;
}

}  // namespace

int run_and_report(const LoadPlan& plan, const OutputFlags& output, RunResult* result_out,
                   soak::SoakSession* soak, stress::StressSession* stress) {
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  // Checked before any traffic: a result that cannot be saved is found out now, not after an
  // eight-hour soak; so is a --metrics-listen port in use.
  check_report_files(output);
  const double every_s = progress_every_s(output);
  LiveOutputs live(output);
  std::unique_ptr<ConsoleView> view;
  if (!output.quiet) view = std::make_unique<ConsoleView>(tty, every_s);

  SessionHooks hooks;
  hooks.on_note = [&output, &view](std::string_view text) {
    if (output.quiet) return;
    const std::string line = "strain: " + std::string(text);
    if (view) view->print_above(line);
  };
  // The soak's timeline and the stress search see each interval before the views do.
  hooks.on_interval = [&live, &view, soak, stress](const IntervalSnapshot& snap,
                                                   const RunResult& so_far) {
    IntervalVerdict verdict = IntervalVerdict::go_on;
    if (stress != nullptr) verdict = stress->on_interval(snap, so_far);
    if (soak != nullptr) soak->on_interval(snap, so_far);
    const std::string stress_state = stress != nullptr ? stress->state() : std::string();
    static const std::vector<SoakVerdict> none;
    live.on_interval(snap, so_far, stress_state, soak != nullptr ? soak->verdicts_so_far() : none);
    if (view) {
      LiveFigures figures = live_figures(snap, so_far);
      if (stress != nullptr) figures.mode = stress_state;
      if (soak != nullptr) figures.mode = render_soak_progress(soak->verdicts_so_far());
      view->update(figures);
    }
    return verdict;
  };
  if (soak != nullptr) {
    hooks.on_start = [soak](Controller&) { soak->on_load_start(); };
    hooks.on_result = [soak](RunResult& r) { soak->on_result(r); };
  }
  if (stress != nullptr) {
    if (view) {
      stress->on_step_done(
          [&view](const StressStep& step) { view->print_above(render_stress_step(step)); });
    }
    hooks.on_start = [stress, start = std::move(hooks.on_start)](Controller& c) {
      if (start) start(c);
      stress->on_start(c);
    };
    hooks.on_result = [stress, result = std::move(hooks.on_result)](RunResult& r) {
      if (result) result(r);
      stress->on_result(r);
    };
  }
  std::ofstream out;
  if (!output.out.empty()) {
    out.open(output.out, std::ios::binary | std::ios::trunc);
    if (!out) throw UsageError("--out: cannot write '" + output.out + "'");
  }
  SessionOutcome outcome = run_session(plan, hooks);
  if (view) view->finish();
  int code = static_cast<int>(outcome.code);
  if (outcome.ran) {
    std::vector<std::string> failed_files;
    if (out.is_open()) {
      out << to_json(outcome.result) << '\n';
      out.close();
      if (!out) failed_files.push_back("--out: cannot write result to '" + output.out + "'");
    }
    for (std::string& e : write_report_files(outcome.result, output))
      failed_files.push_back(std::move(e));
    std::fputs(render_summary(outcome.result).c_str(), stdout);
    std::fflush(stdout);
    live.on_result(outcome.result);
    for (const std::string& e : live.errors())
      failed_files.push_back(e);
    for (const std::string& e : failed_files)
      std::fprintf(stderr, "strain: %s\n", e.c_str());
    if (!failed_files.empty()) code = static_cast<int>(ExitCode::run_failed);
    if (result_out != nullptr) *result_out = std::move(outcome.result);
  } else {
    // No load ran (setup failed or was interrupted): no file that looks like a result.
    live.discard();
    if (out.is_open()) {
      out.close();
      std::error_code ignored;
      std::filesystem::remove(output.out, ignored);
    }
  }
  for (const std::string& e : outcome.errors)
    std::fprintf(stderr, "strain: %s\n", e.c_str());
  return code;
}

}  // namespace strain
