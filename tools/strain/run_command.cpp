// strain run: a load test from a Lua script or a --url.
#include "engine/runtime/planning.hpp"
#include "tools/strain/commands.hpp"
#include "tools/strain/report_run.hpp"
#include "tools/strain/run_flags.hpp"
#include "tools/strain/watch_flags.hpp"

namespace strain {

CLI::App* add_run_command(CLI::App& app, CommandAction& action) {
  struct Flags {
    RunRequest request;
    OutputFlags output;
    WatchFlags watch;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("run", "Run a load test: a Lua script, or --url");
  add_load_flags(*cmd, flags->request, flags->output, true);
  add_segment_flags(*cmd, flags->request);
  add_watch_flags(*cmd, flags->watch);
  action = [cmd, flags] {
    note_given_flags(*cmd, flags->request);
    read_segment_env(flags->request);
    const LoadPlan plan = make_plan(flags->request);
    // Watchers on a run give samples and timelines; verdicts only when a budget asks for them.
    std::unique_ptr<soak::SoakSession> soak;
    if (watching(flags->watch, plan))
      soak = make_soak_session(flags->watch, false, flags->output, plan);
    return run_and_report(plan, flags->output, nullptr, soak.get());
  };
  return cmd;
}

}  // namespace strain
