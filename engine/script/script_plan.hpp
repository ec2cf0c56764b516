// What a scripted run needs before any traffic: plain data from the CLI to every worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/schedule/scenario.hpp"
#include "engine/schedule/share.hpp"

namespace strain {

// Settings a script's `options` may change; the defaults suit most runs.
struct ScriptSettings {
  std::uint32_t max_names = 100;         // distinct request series kept; later ones go to "(other)"
  bool discard_response_bodies = false;  // r.body is nil: saves copying bodies nobody reads
  std::uint64_t max_body_bytes = 10u << 20;  // longest body kept for the script; beyond, cut
  std::chrono::nanoseconds request_timeout{std::chrono::seconds(60)};       // default per request
  std::chrono::nanoseconds max_run_without_yield{std::chrono::seconds(2)};  // endless-loop guard
  std::chrono::nanoseconds setup_timeout{std::chrono::seconds(60)};  // setup() and teardown()
};

// options.soak as written: judged by `strain soak` (and `strain run` when it watches), checked
// then with the script's name in the message. A flag given on the command line wins.
struct ScriptSoak {
  std::string max_growth;    // "rss=20MiB/h,fds=10/h" (a table { rss = "20MiB/h" } is joined)
  std::string limit;         // "rss=2GiB,fds=1024", likewise
  std::string warmup;        // "10%" or a duration
  std::string sample_every;  // a duration
};

struct ScriptPlan {
  std::string path;                        // as the user gave it, for messages
  std::string chunk_name;                  // "@file.lua": how Lua names it in errors
  std::string source;                      // the script's text, read once
  std::string directory;                   // data files are read relative to it
  std::map<std::string, std::string> env;  // the `env` table: environment plus -e overrides
  std::vector<Scenario> scenarios;         // at least one
  ScriptSettings settings;                 // from options
  ScriptSoak soak;                         // options.soak
  bool has_setup = false;                  // the script defines setup()
  bool has_teardown = false;               // the script defines teardown()
  std::string setup_data_json = "null";    // setup()'s return value, as JSON, for every VU
  Share segment = Share::whole();  // the execution segment this process runs (vu.segment, rows)
};

}  // namespace strain
