// strain run: a load test from a Lua script or a --url.
#include "engine/runtime/planning.hpp"
#include "tools/strain/commands.hpp"
#include "tools/strain/report_run.hpp"
#include "tools/strain/run_flags.hpp"

namespace strain {

CLI::App* add_run_command(CLI::App& app, CommandAction& action) {
  struct Flags {
    RunRequest request;
    OutputFlags output;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("run", "Run a load test: a Lua script, or --url");
  add_load_flags(*cmd, flags->request, flags->output, true);
  action = [cmd, flags] {
    note_given_flags(*cmd, flags->request);
    return run_and_report(make_plan(flags->request), flags->output);
  };
  return cmd;
}

}  // namespace strain
