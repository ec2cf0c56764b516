// data.csv() and data.json(): read-only data files, loaded once per worker and shared by its VUs.
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

}  // namespace strain
