// Merging the results of one test's execution segments (--segment I/N) into the result of the
// whole: histograms and counters add exactly, timelines align by wall clock, thresholds are
// judged again on the merged whole.
#pragma once

#include <string>
#include <vector>

#include "engine/results/run_result.hpp"

namespace strain {

// One input: a result and what to call it in messages (its file's path).
struct NamedResult {
  std::string name;  // the file it was read from
  RunResult result;  // as read
};

struct MergeOptions {
  bool allow_partial = false;  // merge even when segments are missing; marks the result partial
};

struct MergeOutcome {
  RunResult result;                // the whole: config.segments holds every segment merged
  std::vector<std::string> notes;  // what the merge assumed or left out, one line each
};

// "segment 2/4", or "segments 1,2 of 4" for a result that already holds several.
std::string segment_label(const RunConfig& config);

// Merges `parts` (at least one). Throws UsageError naming the file(s) when they are not of one
// test (command, fingerprint or segment count differ), when two hold the same segment, when a
// segment is missing (unless options.allow_partial), or when one is a stress search's.
// Thresholds of every part are judged again on the merged result; soak verdicts stay per part.
MergeOutcome merge_results(std::vector<NamedResult> parts, const MergeOptions& options = {});

}  // namespace strain
