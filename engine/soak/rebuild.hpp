// A result rebuilt from a run's durable timeline (timeline_files.hpp): after a SIGKILL, a power
// cut or a full disk, what was written up to the last interval is still a result.
#pragma once

#include <string>

#include "engine/results/run_result.hpp"

namespace strain::soak {

// Reads the sidecars of `out_path` ("result.json" → result.intervals.jsonl, result.samples.csv)
// and returns the result they describe, marked partial: totals, timeline and histograms summed
// over the intervals written, and the soak's samples judged again with the options the run
// recorded. Thresholds are not judged again (a note says so). Throws strain::Error (exit 2)
// naming the file and line when the files are missing or malformed; a last line cut short by
// the kill is left out.
RunResult rebuild_result(const std::string& out_path);

}  // namespace strain::soak
