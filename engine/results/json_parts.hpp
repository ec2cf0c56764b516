// The parts of a result file (metrics, script statistics, schedules, scenarios) to and from
// JSON, shared by the document writer and reader. Internal to engine/results.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engine/results/run_result.hpp"

namespace strain::result_json {

using nlohmann::json;

// Throws strain::Error (bad usage) naming the field: "result file: field 'x': why".
[[noreturn]] void bad_field(const std::string& field, const std::string& why);
// j[key], or bad_field when it is missing. `where` prefixes the field's name.
const json& need(const json& j, const char* key, const std::string& where);

template <class T>
T get_as(const json& j, const char* key, const std::string& where) {
  const json& v = need(j, key, where);
  try {
    return v.get<T>();
  } catch (const json::exception& e) {
    bad_field(where + key, e.what());
  }
}

// Fields added after the first release: absent in older files, so missing means `fallback`;
// present with the wrong type is still an error.
template <class T>
T get_or(const json& j, const char* key, const std::string& where, T fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception& e) {
    bad_field(where + key, e.what());
  }
}

json latency_json(const Histogram& h);
json config_json(const RunConfig& c);
RunConfig config_from_json(const json& j, const std::string& where);
json point_json(const IntervalPoint& p);
IntervalPoint point_from_json(const json& j, const std::string& where);
json metrics_json(const RequestMetrics& m);
RequestMetrics metrics_from_json(const json& j, const std::string& where);
json script_json(const ScriptStats& s);
ScriptStats script_from_json(const json& j);
json schedule_json(const ScheduleStats& s);
ScheduleStats schedule_from_json(const json& j, const std::string& where);
json scenario_json(const ScenarioResult& s);
ScenarioResult scenario_from_json(const json& j, const std::string& where);

}  // namespace strain::result_json
