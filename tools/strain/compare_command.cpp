// strain compare: two saved results side by side, per series and figure, with a verdict that
// fails (exit 3) only on a regression beyond the limits and beyond the runs' own noise.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>

#include "engine/core/error.hpp"
#include "engine/results/compare.hpp"
#include "engine/results/json.hpp"
#include "reporters/compare_table.hpp"
#include "tools/strain/commands.hpp"
#include "tools/strain/report_outputs.hpp"

namespace strain {
CLI::App* add_compare_command(CLI::App& app, CommandAction& action) {
  struct Flags {
    std::string base;
    std::string next;
    std::string limits = default_regression_limits;
    std::string json;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "compare", "Compare two saved results; exit 3 on a regression beyond the limits and noise");
  cmd->add_option("base", flags->base, "BASE.json: the reference (e.g. last night's run)")
      ->required();
  cmd->add_option("new", flags->next, "NEW.json: the run to judge")->required();
  cmd->add_option("--max-regression", flags->limits,
                  "How far figures may worsen: p50 p90 p95 p99 p999 max mean (% rise), "
                  "throughput (% drop), errors (percentage points); only those listed are judged")
      ->capture_default_str();
  cmd->add_option("--json", flags->json, "Also write the comparison as JSON to this file");
  action = [flags] {
    // Limits first: a typo in the flag is reported before any file is read.
    const RegressionLimits limits = parse_regression_limits(flags->limits);
    const RunResult base = read_result_file(flags->base);
    const RunResult next = read_result_file(flags->next);
    if (base.config.command != next.config.command)
      throw UsageError("'" + flags->base + "' is a " + base.config.command + " result but '" +
                       flags->next + "' is a " + next.config.command +
                       " result: compare results of the same kind");
    for (const auto& [path, r] : {std::pair{&flags->base, &base}, std::pair{&flags->next, &next}})
      if (r->partial)
        std::fprintf(stderr,
                     "strain: warning: '%s' is partial (the run stopped early); compared "
                     "anyway\n",
                     path->c_str());

    const RunComparison comparison = compare_results(base, next, limits);
    if (!flags->json.empty()) {
      std::ofstream out(flags->json, std::ios::binary | std::ios::trunc);
      if (!out) throw UsageError("--json: cannot write '" + flags->json + "'");
      out << to_json(comparison) << '\n';
      if (!out) throw Error("--json: cannot write '" + flags->json + "' (disk full?)");
    }
    std::printf("strain compare: %s (%s, %s) -> %s (%s, %s)\n", flags->base.c_str(),
                base.config.command.c_str(), base.started_at.c_str(), flags->next.c_str(),
                next.config.command.c_str(), next.started_at.c_str());
    std::fputs(render_comparison(comparison).c_str(), stdout);
    return static_cast<int>(comparison.regressed ? ExitCode::thresholds_failed : ExitCode::passed);
  };
  return cmd;
}

}  // namespace strain
