// RunResult to and from JSON (schema "strain.result/1"), histograms kept losslessly.
#pragma once

#include <string>

#include "engine/results/run_result.hpp"

namespace strain {

// Serialises `result`; `indent` < 0 writes one line.
std::string to_json(const RunResult& result, int indent = 2);

// Parses a saved result. Throws strain::Error naming the field on a malformed or foreign file.
RunResult run_result_from_json(const std::string& text);

}  // namespace strain
