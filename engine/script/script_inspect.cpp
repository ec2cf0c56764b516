// inspect_script: the script loaded once on the CLI's thread, before any traffic.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <lua.hpp>

#include "engine/script/script_context.hpp"
#include "engine/script/script_load.hpp"

namespace strain {

InspectedScript inspect_script(const ScriptPlan& plan) {
  boost::asio::io_context io(1);
  ScriptContext ctx(io, plan, ClientFactory{}, true);
  InspectedScript out;
  out.options = read_options(ctx.L, plan.path);
  lua_State* L = ctx.L;
  lua_pushglobaltable(L);
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_isfunction(L, -1)) {
      out.functions.emplace_back(lua_tostring(L, -2));
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  std::sort(out.functions.begin(), out.functions.end());
  auto has = [&](const char* f) {
    return std::binary_search(out.functions.begin(), out.functions.end(), f);
  };
  out.has_setup = has("setup");
  out.has_teardown = has("teardown");
  return out;
}

}  // namespace strain
