// One worker's scripting state: its Lua state and everything the bindings reach through it.
// Internal to engine/script (the module's face is script_load.hpp).
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/results/run_result.hpp"
#include "engine/script/origin_pool.hpp"
#include "engine/script/response_object.hpp"
#include "engine/script/script_plan.hpp"
#include "engine/script/script_tallies.hpp"
#include "engine/script/series_table.hpp"
#include "engine/script/vu_timers.hpp"
#include "engine/script/watchdog.hpp"
#include "engine/transport/client_factory.hpp"
#include "engine/transport/request_template.hpp"

struct lua_State;

namespace strain {

class LuaVu;

// Worker thread only (the watchdog's reads excepted). Bindings find it as their first upvalue.
struct ScriptContext {
  static constexpr std::size_t kMaxHeaders = 64;  // request headers a script may set per request

  // Opens a Lua state, installs the API and runs the prelude and the script. Throws
  // UsageError with file:line for syntax and top-level errors, strain::Error if Lua cannot
  // start. `one_shot`: setup()/teardown() on the caller's thread (a polled watchdog).
  ScriptContext(boost::asio::io_context& io, const ScriptPlan& plan, ClientFactory clients,
                bool one_shot);
  ~ScriptContext();
  ScriptContext(const ScriptContext&) = delete;
  ScriptContext& operator=(const ScriptContext&) = delete;

  // --- the bindings' work (requests.cpp, data_cache.cpp); each raises a Lua error itself
  // when the script asked for something it cannot have.
  int http_request(lua_State* co, std::string_view method, int url_index, int body_index,
                   int params_index);
  int sleep(lua_State* co);
  bool load_data(lua_State* co, std::string_view path, bool csv);
  // Replaces the rows load_data() just pushed (key still holding its cache key) with this
  // execution segment's part of them: Share::offset/of of the rows, in order, made once per
  // file. False with `error` set when they are not a list.
  bool segment_rows(lua_State* co);

  boost::asio::io_context& io;
  const ScriptPlan& plan;
  const bool one_shot;
  RawResponseReader reader;  // parses raw responses when a script reads their fields
  OriginPool origins;
  SeriesTable series;
  ScriptTallies tallies;
  VuTimers timers;
  lua_State* L = nullptr;
  std::unique_ptr<Watchdog> watchdog;
  int data_ref = -2;           // setup()'s value, the same for every VU (LUA_NOREF until set)
  int response_meta_ref = -2;  // the response metatable
  std::uint64_t requests_started = 0;
  PhaseMetrics phases;         // every answered request's phases, for the run's result
  std::size_t data_files = 0;  // data files loaded into the cache
  LuaVu* current = nullptr;    // the VU whose coroutine is running

  // Per-call buffers, members so that no C++ object with a destructor is live in a Lua C
  // function when it raises an error.
  std::string error;
  std::string scratch;  // JSON text and other bytes of one call
  std::string target;   // a request target that needed a "/" in front
  std::string key;      // series keys
  std::array<http::HeaderView, kMaxHeaders + 1> headers{};
  std::vector<std::pair<std::string, std::string>> tags;

  // One-shot runs: the function's first return value as JSON, or why it failed.
  std::string one_shot_value = "null";
  std::string one_shot_error;
};

// Raises a Lua error "where: message" at `level` (1: the function that called the binding).
int raise_error(lua_State* L, int level, std::string_view message);
// The VU whose coroutine is L, or a Lua error naming `what` when called outside one (at the
// script's top level) or from a coroutine the script made.
LuaVu* running_vu(lua_State* L, ScriptContext& ctx, const char* what);

}  // namespace strain
