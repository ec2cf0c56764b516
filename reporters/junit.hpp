// JUnit XML: what Jenkins, GitLab and GitHub show for a load test. One test case per threshold,
// SLO, soak verdict and growth budget; a failure's message carries the measured value.
#pragma once

#include <string>

#include "engine/results/run_result.hpp"

namespace strain {

std::string render_junit(const RunResult& result);

}  // namespace strain
