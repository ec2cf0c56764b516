// strain demo: starts the built-in target (strain-target) on 127.0.0.1 and loads it, then
// checks strain's count against the target's own.
#include <cstdio>

#include "engine/runtime/planning.hpp"
#include "tools/strain/commands.hpp"
#include "tools/strain/report_run.hpp"
#include "tools/strain/run_flags.hpp"
#include "tools/strain/target_process.hpp"

namespace strain {
namespace {

int demo(RunRequest f, const OutputFlags& output) {
  std::fprintf(stderr, "strain demo: starting strain-target on 127.0.0.1 ...\n");
  TargetProcess target({"--threads", "1"}, std::chrono::milliseconds(5000));
  f.url = "http://127.0.0.1:" + std::to_string(target.port()) + "/";
  f.command = "demo";
  const LoadPlan plan = make_plan(f);
  std::fprintf(stderr, "strain demo: %llu VUs for %s against %s\n",
               static_cast<unsigned long long>(plan.peak_vus()), f.duration.c_str(), f.url.c_str());
  RunResult result;
  const int code = run_and_report(plan, output, &result);
  const auto served = target.stop(std::chrono::milliseconds(3000));
  if (served) {
    const auto counted = result.total.responses;
    const auto abandoned = result.generator.in_flight_at_stop;
    const bool agree = *served >= counted && *served - counted <= abandoned;
    std::printf(
        "\n  strain-target says it served %llu requests; strain counted %llu responses "
        "with %llu abandoned at stop: %s\n",
        static_cast<unsigned long long>(*served), static_cast<unsigned long long>(counted),
        static_cast<unsigned long long>(abandoned),
        agree ? "the counts reconcile" : "THE COUNTS DISAGREE");
  }
  return code;
}

}  // namespace

CLI::App* add_demo_command(CLI::App& app, CommandAction& action) {
  struct Flags {
    RunRequest request;
    OutputFlags output;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("demo", "Start the built-in target on 127.0.0.1 and load it");
  add_load_flags(*cmd, flags->request, flags->output, false);
  action = [cmd, flags] {
    note_given_flags(*cmd, flags->request);
    return demo(flags->request, flags->output);
  };
  return cmd;
}

}  // namespace strain
