// strain report: a saved run's result, again. --rebuild makes it from the durable timeline a
// soak (or any run with watchers and --out) appends every interval, after the run was killed.
#include <cstdio>
#include <fstream>
#include <iterator>

#include "engine/core/error.hpp"
#include "engine/results/json.hpp"
#include "engine/runtime/exit_code.hpp"
#include "engine/soak/rebuild.hpp"
#include "reporters/console.hpp"
#include "tools/strain/commands.hpp"

namespace strain {

CLI::App* add_report_command(CLI::App& app, CommandAction& action) {
  struct Flags {
    std::string result;
    bool rebuild = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("report", "Print a saved result's summary");
  cmd->add_option("result", flags->result, "RESULT.json (written by --out)")->required();
  cmd->add_flag("--rebuild", flags->rebuild,
                "Rebuild RESULT.json from its timeline files (RESULT.intervals.jsonl, "
                "RESULT.samples.csv) when the run stopped before writing it");
  action = [flags] {
    RunResult r;
    if (flags->rebuild) {
      r = soak::rebuild_result(flags->result);
      // Written under a temporary name first: a kill now leaves the old file or the new one.
      const std::string tmp = flags->result + ".tmp";
      {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw UsageError("cannot write '" + tmp + "'");
        out << to_json(r) << '\n';
        if (!out) throw Error("cannot write '" + tmp + "' (disk full?)");
      }
      if (std::rename(tmp.c_str(), flags->result.c_str()) != 0)
        throw Error("cannot rename '" + tmp + "' to '" + flags->result + "'");
      std::fprintf(stderr, "strain: rebuilt %s from %zu intervals (marked partial)\n",
                   flags->result.c_str(), r.timeline.size());
    } else {
      std::ifstream in(flags->result, std::ios::binary);
      if (!in) throw UsageError("cannot read '" + flags->result + "'");
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      r = run_result_from_json(text);
    }
    std::fputs(render_summary(r).c_str(), stdout);
    // A rebuilt result is partial by nature; its verdicts still decide (a leak exits 3).
    if (r.soak && r.soak->failed()) return static_cast<int>(ExitCode::thresholds_failed);
    return static_cast<int>(ExitCode::passed);
  };
  return cmd;
}

}  // namespace strain
