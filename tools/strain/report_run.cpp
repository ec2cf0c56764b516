#include "tools/strain/report_run.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/core/error.hpp"
#include "engine/results/json.hpp"
#include "engine/runtime/session.hpp"
#include "reporters/console.hpp"
#include "reporters/stress_summary.hpp"

namespace strain {

int run_and_report(const LoadPlan& plan, const OutputFlags& output, RunResult* result_out,
                   soak::SoakSession* soak, stress::StressSession* stress) {
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  SessionHooks hooks;
  hooks.on_note = [&output](std::string_view text) {
    if (!output.quiet)
      std::fprintf(stderr, "strain: %.*s\n", static_cast<int>(text.size()), text.data());
  };
  if (!output.quiet) {
    // A terminal gets one line rewritten in place; a log gets a line every 5 intervals.
    hooks.on_interval = [tty, stress, n = 0](const IntervalSnapshot& snap,
                                             const RunResult& so_far) mutable {
      ++n;
      if (tty || n % 5 == 0 || snap.draining) {
        std::string line = render_progress(snap, so_far);
        if (stress != nullptr) line += "  " + stress->state();
        std::fprintf(stderr, tty ? "\r%s\033[K" : "%s\n", line.c_str());
        std::fflush(stderr);
      }
      return IntervalVerdict::go_on;
    };
  }
  if (soak != nullptr) {
    hooks.on_start = [soak](Controller&) { soak->on_load_start(); };
    hooks.on_result = [soak](RunResult& r) { soak->on_result(r); };
    // The durable timeline is written every interval, whatever the console shows.
    hooks.on_interval = [soak, progress = std::move(hooks.on_interval)](
                            const IntervalSnapshot& snap, const RunResult& so_far) {
      soak->on_interval(snap, so_far);
      return progress ? progress(snap, so_far) : IntervalVerdict::go_on;
    };
  }
  if (stress != nullptr) {
    if (!output.quiet) {
      stress->on_step_done([tty](const StressStep& step) {
        std::fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", render_stress_step(step).c_str());
      });
    }
    hooks.on_start = [stress, start = std::move(hooks.on_start)](Controller& c) {
      if (start) start(c);
      stress->on_start(c);
    };
    hooks.on_result = [stress, result = std::move(hooks.on_result)](RunResult& r) {
      if (result) result(r);
      stress->on_result(r);
    };
    // The search decides first; the soak's timeline and the console see the same interval.
    hooks.on_interval = [stress, rest = std::move(hooks.on_interval)](const IntervalSnapshot& snap,
                                                                      const RunResult& so_far) {
      const IntervalVerdict v = stress->on_interval(snap, so_far);
      const IntervalVerdict w = rest ? rest(snap, so_far) : IntervalVerdict::go_on;
      return v == IntervalVerdict::stop || w == IntervalVerdict::stop ? IntervalVerdict::stop
                                                                      : IntervalVerdict::go_on;
    };
  }
  // Opened before any traffic: a result that cannot be saved is found out now, not after an
  // eight-hour soak.
  std::ofstream out;
  if (!output.out.empty()) {
    out.open(output.out, std::ios::binary | std::ios::trunc);
    if (!out) throw UsageError("--out: cannot write '" + output.out + "'");
  }
  SessionOutcome outcome = run_session(plan, hooks);
  if (!output.quiet && tty && outcome.ran) std::fputc('\n', stderr);
  int code = static_cast<int>(outcome.code);
  if (outcome.ran) {
    bool saved = true;
    if (out.is_open()) {
      out << to_json(outcome.result) << '\n';
      out.close();
      saved = static_cast<bool>(out);
    }
    std::fputs(render_summary(outcome.result).c_str(), stdout);
    std::fflush(stdout);
    if (!saved) {
      std::fprintf(stderr, "strain: cannot write result to '%s'\n", output.out.c_str());
      code = static_cast<int>(ExitCode::run_failed);
    }
    if (result_out != nullptr) *result_out = std::move(outcome.result);
  } else if (out.is_open()) {
    // No load ran (setup failed or was interrupted): no file that looks like a result.
    out.close();
    std::error_code ignored;
    std::filesystem::remove(output.out, ignored);
  }
  for (const std::string& e : outcome.errors)
    std::fprintf(stderr, "strain: %s\n", e.c_str());
  return code;
}

}  // namespace strain
