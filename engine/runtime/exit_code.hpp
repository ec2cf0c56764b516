// The exit code a finished run earns, as a pure function of its result (DESIGN.md §9).
#pragma once

#include <string>

#include "engine/core/error.hpp"
#include "engine/results/run_result.hpp"

namespace strain {

// In order of precedence: 1 when the run could not go on (a worker failed); 3 when an
// abort_on_fail threshold stopped it; 130 when it was interrupted; 4 when strain itself was the
// limit (generator-bound); 3 when a threshold failed; 1 when nothing was answered at all (no
// response and no iteration); 0 otherwise.
ExitCode exit_code_for(const RunResult& result);

// One line for stderr saying why `code` is not 0; empty for 0 and for codes the summary
// already explains in full (a failed threshold, generator-bound).
std::string exit_reason(const RunResult& result, ExitCode code);

}  // namespace strain
