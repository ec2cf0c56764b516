// The parts of a result file (metrics, script statistics, schedules, scenarios) to and from
// JSON, shared by the document writer and reader. Internal to engine/results.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "engine/results/run_result.hpp"

namespace strain::result_json {

using nlohmann::json;

// Throws strain::Error (bad usage) naming the field: "result file: field 'x': why".
[[noreturn]] void bad_field(const std::string& field, const std::string& why);
// j[key], or bad_field when it is missing. `where` prefixes the field's name.
const json& need(const json& j, const char* key, const std::string& where);

// `v` as a T, or bad_field naming `field`. A count must be a whole number that fits: JSON's
// 1e300 (a float) or -1 read as an unsigned integer by nlohmann is undefined behaviour or a
// wrapped value (fuzz_result_json found the first).
template <class T>
T value_as(const json& v, const std::string& field) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    constexpr double kLimit = static_cast<double>(std::numeric_limits<T>::max()) + 1.0;
    constexpr double kFloor = std::is_signed_v<T> ? -kLimit : 0.0;
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (!(d >= kFloor && d < kLimit) || std::floor(d) != d)
        bad_field(field, "not a whole number in range");
      return static_cast<T>(d);
    }
    if (v.is_number_integer()) {
      const bool negative = !v.is_number_unsigned() && v.get<std::int64_t>() < 0;
      const bool too_big =
          v.is_number_unsigned() &&
          v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<T>::max());
      const bool too_small =
          negative &&
          (std::is_unsigned_v<T> ||
           v.get<std::int64_t>() < static_cast<std::int64_t>(std::numeric_limits<T>::min()));
      if (too_big || too_small) bad_field(field, "out of range");
    }
  }
  try {
    return v.get<T>();
  } catch (const json::exception& e) {
    bad_field(field, e.what());
  }
}

template <class T>
T get_as(const json& j, const char* key, const std::string& where) {
  return value_as<T>(need(j, key, where), where + key);
}

// Fields added after the first release: absent in older files, so missing means `fallback`;
// present with the wrong type is still an error.
template <class T>
T get_or(const json& j, const char* key, const std::string& where, T fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  return value_as<T>(*it, where + key);
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
