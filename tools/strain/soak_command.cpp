// strain soak: a long load run whose report judges the target's resources for leaks and growth.
#include "engine/runtime/planning.hpp"
#include "tools/strain/commands.hpp"
#include "tools/strain/report_run.hpp"
#include "tools/strain/run_flags.hpp"
#include "tools/strain/watch_flags.hpp"

namespace strain {

CLI::App* add_soak_command(CLI::App& app, CommandAction& action) {
  struct Flags {
    RunRequest request;
    OutputFlags output;
    WatchFlags watch;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "soak",
      "A long load run that watches the target (--watch-pid, --watch-metrics, ...) and judges "
      "leaks and growth: exit 3 on a leak of memory or fds, or a broken --max-growth budget");
  add_load_flags(*cmd, flags->request, flags->output, true);
  add_segment_flags(*cmd, flags->request);
  add_watch_flags(*cmd, flags->watch);
  action = [cmd, flags] {
    note_given_flags(*cmd, flags->request);
    read_segment_env(flags->request);
    flags->request.command = "soak";
    const LoadPlan plan = make_plan(flags->request);
    auto soak = make_soak_session(flags->watch, true, flags->output, plan);
    return run_and_report(plan, flags->output, nullptr, soak.get());
  };
  return cmd;
}

}  // namespace strain
