// The stress part of the console summary: the steps as a table, the verdict paragraph, and
// one row per step as the search finishes it.
#pragma once

#include <string>

#include "engine/results/stress_report.hpp"

namespace strain {

// One step as a table row (the live console prints these as the search goes).
std::string render_stress_step(const StressStep& step);
// The header of those rows.
std::string render_stress_header();
// The whole section: header, rows, the figures and the verdict.
std::string render_stress(const StressReport& report);

}  // namespace strain
