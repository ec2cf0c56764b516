// Reads a script's global `options` table into plain data (scenarios, thresholds, settings).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/results/thresholds.hpp"
#include "engine/schedule/scenario.hpp"
#include "engine/script/script_plan.hpp"

struct lua_State;

namespace strain {

struct ScriptOptions {
  std::vector<Scenario> scenarios;        // options.scenarios; empty when not declared
  std::vector<ThresholdSpec> thresholds;  // options.thresholds
  ScriptSettings settings;                // the rest of options
  ScriptSoak soak;                        // options.soak, as written
  // k6-style shortcuts for a single default scenario.
  std::optional<std::uint32_t> vus;                  // options.vus
  std::optional<std::chrono::nanoseconds> duration;  // options.duration
  std::optional<std::uint64_t> iterations;           // options.iterations
  std::vector<Stage> stages;                         // options.stages
};

// Reads global `options` from L (a state that has run the script). Throws UsageError naming
// the script and the field, e.g. "t.lua: options.scenarios.browse.vus: must be an integer >= 1".
ScriptOptions read_options(lua_State* L, const std::string& script_path);

}  // namespace strain
