// strain merge: the results of one test's segments (--segment I/N) as the result of the whole,
// judged again on the whole (exit 3 when a threshold or a soak verdict fails).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>

#include "engine/core/error.hpp"
#include "engine/results/json.hpp"
#include "engine/results/merge.hpp"
#include "engine/runtime/exit_code.hpp"
#include "reporters/console.hpp"
#include "reporters/report_files.hpp"
#include "tools/strain/commands.hpp"
#include "tools/strain/report_outputs.hpp"

namespace strain {
namespace {

// Signals. A merge has no load to drain: the first SIGINT or SIGTERM stops reading further
// results, and what was read is merged, written marked partial, and exits 130. A second one
// exits at once; every output is written to a temporary name and renamed, so a file on disk is
// whole or absent.
std::atomic<int> g_signals{0};

void on_merge_signal(int) {
  if (g_signals.fetch_add(1) >= 1) ::_exit(static_cast<int>(ExitCode::interrupted));
}

void catch_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_merge_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace

CLI::App* add_merge_command(CLI::App& app, CommandAction& action) {
  struct Flags {
    std::vector<std::string> results;
    bool allow_partial = false;
    OutputFlags reports;  // --out, --html, --junit, --csv
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "merge",
      "Merge the results of a test's segments (--segment I/N) into the whole; exit 3 "
      "when a threshold fails on the whole");
  cmd->add_option("results", flags->results, "SEG.json ...: every segment's result (--out)")
      ->required();
  cmd->add_option("-o,--out", flags->reports.out, "Write the merged result as JSON to this file");
  cmd->add_flag("--allow-partial", flags->allow_partial,
                "Merge even when segments are missing; the result is marked partial");
  cmd->add_option("--html", flags->reports.html, "Write the merged HTML report to this file");
  cmd->add_option("--junit", flags->reports.junit, "Write JUnit XML to this file");
  cmd->add_option("--csv", flags->reports.csv, "Write the merged timeline as CSV to this file");
  action = [flags] {
    // Before reading: an output that cannot be written is a usage error, nothing left behind.
    check_report_files(flags->reports);
    catch_signals();
    std::vector<NamedResult> parts;
    for (const std::string& path : flags->results) {
      if (g_signals.load() > 0) break;
      parts.push_back(NamedResult{path, read_result_file(path)});
    }
    const bool interrupted = g_signals.load() > 0;
    if (interrupted && parts.empty()) {
      std::fprintf(stderr, "strain: merge interrupted before any result was read: nothing written\n");
      return static_cast<int>(ExitCode::interrupted);
    }
    const std::size_t read = parts.size();
    MergeOutcome merged =
        merge_results(std::move(parts), MergeOptions{flags->allow_partial || interrupted});
    RunResult& r = merged.result;
    if (interrupted) {
      r.partial = true;
      merged.notes.push_back("merge interrupted after " + std::to_string(read) + " of " +
                             std::to_string(flags->results.size()) + " results");
      r.generator.notes.push_back(merged.notes.back());
    }
    for (const std::string& n : merged.notes)
      std::fprintf(stderr, "strain: note: %s\n", n.c_str());

    std::vector<std::string> failed_files;
    if (!flags->reports.out.empty()) {
      const std::string why = write_file_atomically(flags->reports.out, to_json(r) + "\n");
      if (!why.empty()) failed_files.push_back("--out: " + why);
    }
    for (std::string& e : write_report_files(r, flags->reports))
      failed_files.push_back(std::move(e));
    std::printf("strain merge: %zu results, %s%s%s\n", flags->results.size(),
                segment_label(r.config).c_str(), flags->reports.out.empty() ? "" : " -> ",
                flags->reports.out.c_str());
    std::fputs(render_summary(r).c_str(), stdout);
    std::fflush(stdout);
    for (const std::string& e : failed_files)
      std::fprintf(stderr, "strain: %s\n", e.c_str());
    if (!failed_files.empty()) return static_cast<int>(ExitCode::run_failed);
    if (interrupted || g_signals.load() > 0) return static_cast<int>(ExitCode::interrupted);

    // Judged as a run judges its result. A merge was not interrupted: a partial one (a part
    // that stopped early, --allow-partial) is judged on what it holds.
    const bool partial = r.partial;
    r.partial = false;
    const ExitCode code = exit_code_for(r);
    const std::string reason = exit_reason(r, code);
    r.partial = partial;
    if (!reason.empty()) std::fprintf(stderr, "strain: %s\n", reason.c_str());
    return static_cast<int>(code);
  };
  return cmd;
}

}  // namespace strain
