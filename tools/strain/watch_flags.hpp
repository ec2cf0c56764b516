// The --watch-* and soak flags shared by the commands that watch a target (run, soak; later
// stress), and the soak session they build.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "engine/runtime/load_plan.hpp"
#include "engine/soak/soak_session.hpp"
#include "tools/strain/run_flags.hpp"

namespace strain {

struct WatchFlags {
  watch::WatchSpecs watch;
  std::string sample_every;  // --sample-every (1s when neither it nor the script says)
  std::string warmup;        // --warmup 10% | 30s
  std::string max_growth;    // --max-growth rss=20MiB/h,...
  std::string limit;         // --limit rss=2GiB,...
};

void add_watch_flags(CLI::App& cmd, WatchFlags& flags);
// Any --watch-* or budget given (on the command line or in the script's options.soak): a run
// with samples.
bool watching(const WatchFlags& flags, const LoadPlan& plan);
// Checks every flag and builds the watchers, before any traffic. `judged`: verdicts are
// computed (soak); they are also whenever a budget is given (run with --max-growth). A flag given
// wins over the script's options.soak. Throws UsageError naming the flag (or the script and its
// field) and the value.
std::unique_ptr<soak::SoakSession> make_soak_session(const WatchFlags& flags, bool judged,
                                                     const OutputFlags& output,
                                                     const LoadPlan& plan);

}  // namespace strain
