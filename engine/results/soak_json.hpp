// The soak part of a result file: SoakReport to JSON and back.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engine/results/soak_report.hpp"

namespace strain::result_json {

nlohmann::json soak_json(const SoakReport& s);
// Throws strain::Error (bad usage) naming the field, as the rest of the result parser.
SoakReport soak_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace strain::result_json
