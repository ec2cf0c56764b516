// data.csv() and data.json(): read-only data files, loaded once per worker and shared by its VUs.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <lua.hpp>

#include "engine/script/data_files.hpp"
#include "engine/script/lua_json.hpp"
#include "engine/script/script_context.hpp"

namespace strain {
namespace {
constexpr std::uint64_t kMaxDataFileBytes = 256u << 20;
// The cache is per worker and never evicts: bounded by count (and each file by size).
constexpr std::size_t kMaxDataFiles = 64;
}  // namespace

bool ScriptContext::load_data(lua_State* co, std::string_view path_in, bool csv) {
  // Loaded once per worker (per Lua state) and shared by every VU: cached by path.
  lua_getfield(co, LUA_REGISTRYINDEX, "strain.data");
  if (lua_isnil(co, -1)) {
    lua_pop(co, 1);
    lua_newtable(co);
    lua_pushvalue(co, -1);
    lua_setfield(co, LUA_REGISTRYINDEX, "strain.data");
  }
  key.assign(csv ? "csv:" : "json:").append(path_in);
  if (lua_getfield(co, -1, key.c_str()) != LUA_TNIL) {
    lua_remove(co, -2);
    return true;
  }
  lua_pop(co, 1);
  if (data_files >= kMaxDataFiles) {
    error = "more than " + std::to_string(kMaxDataFiles) + " distinct data files";
    return false;
  }
  std::filesystem::path path(path_in);
  if (path.is_relative() && !plan.directory.empty()) path = plan.directory / path;
  try {
    const std::string text = script::read_data_file(path.string(), kMaxDataFileBytes);
    if (csv) {
      const script::CsvTable table = script::parse_csv(text, path.string());
      if (!script::push_csv(co, table, error)) return false;
    } else if (!script::push_json(co, text, error)) {
      error = path.string() + ": " + error;
      return false;
    }
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
  ++data_files;
  lua_pushvalue(co, -1);
  lua_setfield(co, -3, key.c_str());
  lua_remove(co, -2);
  return true;
}

bool ScriptContext::segment_rows(lua_State* co) {
  // Stack: the whole rows. Nothing here owns memory: a Lua memory error may longjmp out.
  const auto n = static_cast<std::uint64_t>(lua_rawlen(co, -1));
  if (n == 0) {
    lua_pushnil(co);
    if (lua_next(co, -2) != 0) {
      lua_pop(co, 2);
      error = "{ segment = true } splits a list of rows; this file holds an object";
      return false;
    }
  }
  lua_getfield(co, LUA_REGISTRYINDEX, "strain.data");
  key.insert(0, "segment:");
  if (lua_getfield(co, -1, key.c_str()) == LUA_TNIL) {
    lua_pop(co, 1);
    const Share part = plan.segment;  // Share{I-1, N} of the whole
    const std::uint64_t from = part.offset(n);
    const std::uint64_t count = part.of(n);
    lua_createtable(co, static_cast<int>(std::min<std::uint64_t>(count, INT32_MAX)), 0);
    for (std::uint64_t i = 1; i <= count; ++i) {
      lua_rawgeti(co, -3, static_cast<lua_Integer>(from + i));
      lua_rawseti(co, -2, static_cast<lua_Integer>(i));
    }
    lua_pushvalue(co, -1);
    lua_setfield(co, -3, key.c_str());
  }
  // Stack: rows, cache, part → part.
  lua_replace(co, -3);
  lua_pop(co, 1);
  return true;
}

}  // namespace strain
