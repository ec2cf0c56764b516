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
#include "tools/strain/report_outputs.hpp"

namespace strain {

CLI::App* add_report_command(CLI::App& app, CommandAction& action) {
  struct Flags {
    std::string result;
    bool rebuild = false;
    OutputFlags reports;  // --html, --junit, --csv
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Print a saved result's summary; render it again as HTML, JUnit or CSV");
  cmd->add_option("result", flags->result, "RESULT.json (written by --out)")->required();
  cmd->add_flag("--rebuild", flags->rebuild,
                "Rebuild RESULT.json from its timeline files (RESULT.intervals.jsonl, "
                "RESULT.samples.csv) when the run stopped before writing it");
  cmd->add_option("--html", flags->reports.html, "Write the run's HTML report to this file");
  cmd->add_option("--junit", flags->reports.junit, "Write JUnit XML to this file");
  cmd->add_option("--csv", flags->reports.csv, "Write the timeline as CSV to this file");
  action = [flags] {
    // Before reading: a report that cannot be written is a usage error, with nothing left
    // behind.
    check_report_files(flags->reports);
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
      r = read_result_file(flags->result);
    }
    std::fputs(render_summary(r).c_str(), stdout);
    const std::vector<std::string> failed = write_report_files(r, flags->reports);
    for (const std::string& e : failed)
      std::fprintf(stderr, "strain: %s\n", e.c_str());
    if (!failed.empty()) return static_cast<int>(ExitCode::run_failed);
    // A rebuilt result is partial by nature; its verdicts still decide (a leak exits 3).
    if (r.soak && r.soak->failed()) return static_cast<int>(ExitCode::thresholds_failed);
    return static_cast<int>(ExitCode::passed);
  };
  return cmd;
}

}  // namespace strain
