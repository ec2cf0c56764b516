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
  std::string sample_every = "1s";  // --sample-every
  std::string warmup;               // --warmup 10% | 30s
  std::string max_growth;           // --max-growth rss=20MiB/h,...
  std::string limit;                // --limit rss=2GiB,...
};

void add_watch_flags(CLI::App& cmd, WatchFlags& flags);
// Any --watch-* (or budget) given: a run with samples.
bool watching(const WatchFlags& flags);
// Checks every flag and builds the watchers, before any traffic. `judged`: verdicts are
// computed (soak; run with --max-growth). Throws UsageError naming the flag and the value.
std::unique_ptr<soak::SoakSession> make_soak_session(const WatchFlags& flags, bool judged,
                                                     const OutputFlags& output,
                                                     const LoadPlan& plan);

}  // namespace strain
