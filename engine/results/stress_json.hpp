// The stress part of a result file: StressReport to JSON and back.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engine/results/stress_report.hpp"

namespace strain::result_json {

nlohmann::json stress_json(const StressReport& s);
// Throws strain::Error (bad usage) naming the field, as the rest of the result parser.
StressReport stress_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace strain::result_json
