#include "engine/script/script_context.hpp"

#include <lua.hpp>

#include "engine/core/error.hpp"
#include "engine/script/bindings.hpp"
#include "engine/script/lua_json.hpp"
#include "engine/script/lua_vu.hpp"

namespace strain {

ScriptContext::ScriptContext(boost::asio::io_context& io_in, const ScriptPlan& plan_in,
                             ClientFactory clients, bool one_shot_in)
    : io(io_in),
      plan(plan_in),
      one_shot(one_shot_in),
      reader(plan_in.settings.max_body_bytes),
      origins(io_in, std::move(clients)),
      series(plan_in.settings.max_names),
      timers(io_in) {
  // The destructor does not run when this constructor throws (a bad script): close the Lua
  // state here then, or it leaks.
  struct Unwind {
    ScriptContext* self;
    bool armed = true;
    ~Unwind() {
      if (!armed) return;
      self->watchdog.reset();
      if (self->L != nullptr) lua_close(self->L);
      self->L = nullptr;
    }
  } unwind{this};

  L = luaL_newstate();
  if (L == nullptr) throw Error("cannot create a Lua state (out of memory)");
  luaL_openlibs(L);
  watchdog = std::make_unique<Watchdog>(L, plan.settings.max_run_without_yield, one_shot);
  install_api(*this);

  // The user's script: syntax errors name file:line; so do errors at its top level.
  if (luaL_loadbuffer(L, plan.source.data(), plan.source.size(), plan.chunk_name.c_str()) !=
      LUA_OK) {
    throw UsageError(lua_tostring(L, -1));
  }
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    const char* m = lua_tostring(L, -1);
    throw UsageError(std::string(m != nullptr ? m : "error object is not a string") +
                     " (while loading the script)");
  }

  // setup()'s value, the same for every VU.
  if (!script::push_json(L, plan.setup_data_json, error)) {
    throw Error("setup() data could not be read back: " + error);
  }
  data_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  unwind.armed = false;
}

ScriptContext::~ScriptContext() {
  timers.shutdown();
  origins.shutdown();
  watchdog.reset();
  if (L != nullptr) lua_close(L);
  L = nullptr;
}

int raise_error(lua_State* L, int level, std::string_view message) {
  luaL_where(L, level);
  lua_pushlstring(L, message.data(), message.size());
  lua_concat(L, 2);
  return lua_error(L);
}

LuaVu* running_vu(lua_State* L, ScriptContext& ctx, const char* what) {
  LuaVu* vu = ctx.current;
  if (vu == nullptr) {
    luaL_error(L, "%s may only be called inside a VU function, setup() or teardown()", what);
    return nullptr;
  }
  if (vu->co() != L) {
    luaL_error(L, "%s cannot be called from a coroutine the script created", what);
    return nullptr;
  }
  return vu;
}

}  // namespace strain
