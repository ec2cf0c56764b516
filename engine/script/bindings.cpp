#include "engine/script/bindings.hpp"

#include <cstring>
#include <lua.hpp>
#include <string>
#include <string_view>

#include "engine/core/error.hpp"
#include "engine/script/lua_json.hpp"
#include "engine/script/lua_vu.hpp"
#include "engine/script/script_context.hpp"

namespace strain {

extern const char* const prelude_lua;  // scenarios/prelude.lua, embedded at build time

namespace {

ScriptContext* ctx_of(lua_State* L) {
  return static_cast<ScriptContext*>(lua_touserdata(L, lua_upvalueindex(1)));
}

// --- the core.* functions (upvalue 1: the ScriptContext)

int l_request(lua_State* L) {
  auto& ctx = *ctx_of(L);
  const std::string_view method = luaL_checkstring(L, 1);
  return ctx.http_request(L, method, 2, 3, 4);
}

// http.get(url, params) and friends; upvalue 2: the method, upvalue 3: true when it has a body.
int l_http_method(lua_State* L) {
  auto& ctx = *ctx_of(L);
  const std::string_view method = lua_tostring(L, lua_upvalueindex(2));
  const bool has_body = lua_toboolean(L, lua_upvalueindex(3)) != 0;
  // http.post(url, params) with no body reads as k6 users expect: a table there is params.
  if (has_body && lua_istable(L, 2) && lua_isnoneornil(L, 3))
    return ctx.http_request(L, method, 1, 0, 2);
  return has_body ? ctx.http_request(L, method, 1, 2, 3) : ctx.http_request(L, method, 1, 0, 2);
}

int l_sleep(lua_State* L) {
  return ctx_of(L)->sleep(L);
}

int l_record_check(lua_State* L) {
  auto& ctx = *ctx_of(L);
  if (lua_type(L, 1) != LUA_TSTRING) return raise_error(L, 2, "check names must be strings");
  const std::string_view name = lua_tostring(L, 1);
  const std::uint16_t group = ctx.current != nullptr ? ctx.current->group : 0;
  if (!ctx.tallies.record_check(group, name, lua_toboolean(L, 2) != 0, ctx.error))
    return raise_error(L, 2, ctx.error);
  return 0;
}

int l_group_enter(lua_State* L) {
  auto& ctx = *ctx_of(L);
  LuaVu* vu = running_vu(L, ctx, "group()");
  const std::string_view name = luaL_checkstring(L, 1);
  const int entered = ctx.tallies.group_enter(vu->group, name, ctx.error);
  if (entered < 0) return raise_error(L, 2, ctx.error);
  lua_pushinteger(L, vu->group);
  vu->group = static_cast<std::uint16_t>(entered);
  return 1;
}

int l_group_leave(lua_State* L) {
  auto& ctx = *ctx_of(L);
  LuaVu* vu = running_vu(L, ctx, "group()");
  const lua_Integer previous = luaL_checkinteger(L, 1);
  if (previous >= 0 && static_cast<std::size_t>(previous) < ctx.tallies.group_count())
    vu->group = static_cast<std::uint16_t>(previous);
  return 0;
}

int l_metric_define(lua_State* L) {
  auto& ctx = *ctx_of(L);
  const std::string_view name = luaL_checkstring(L, 1);
  const std::string_view kind = luaL_checkstring(L, 2);
  const int id = ctx.tallies.metric_define(name, kind, ctx.error);
  if (id < 0) return raise_error(L, 2, ctx.error);
  lua_pushinteger(L, id);
  return 1;
}

int l_metric_add(lua_State* L) {
  auto& ctx = *ctx_of(L);
  const lua_Integer id = luaL_checkinteger(L, 1);
  const int type = lua_type(L, 2);
  if (type != LUA_TNUMBER && type != LUA_TBOOLEAN) {
    ctx.error = "metric add() needs a number (or, for a rate, a boolean)";
    return raise_error(L, 2, ctx.error);
  }
  const bool is_bool = type == LUA_TBOOLEAN;
  const double value = is_bool ? (lua_toboolean(L, 2) != 0 ? 1.0 : 0.0) : lua_tonumber(L, 2);
  if (!ctx.tallies.metric_add(id, value, is_bool, ctx.error)) return raise_error(L, 2, ctx.error);
  return 0;
}

int l_json_encode(lua_State* L) {
  auto& ctx = *ctx_of(L);
  luaL_checkany(L, 1);
  if (!script::encode_json(L, 1, ctx.scratch, ctx.error)) {
    ctx.error.insert(0, "json.encode: ");
    return raise_error(L, 1, ctx.error);
  }
  lua_pushlstring(L, ctx.scratch.data(), ctx.scratch.size());
  return 1;
}

int l_json_decode(lua_State* L) {
  auto& ctx = *ctx_of(L);
  std::size_t len = 0;
  const char* text = luaL_checklstring(L, 1, &len);
  if (!script::push_json(L, std::string_view(text, len), ctx.error)) {
    ctx.error.insert(0, "json.decode: ");
    return raise_error(L, 1, ctx.error);
  }
  return 1;
}

// data.csv(path [, { segment = true }]) and data.json: the file's rows, or this execution
// segment's part of them.
int load_data(lua_State* L, bool csv) {
  auto& ctx = *ctx_of(L);
  const std::string_view path = luaL_checkstring(L, 1);
  bool segment = false;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "segment");
    segment = lua_toboolean(L, -1) != 0;
    lua_pop(L, 1);
  }
  if (!ctx.load_data(L, path, csv)) return raise_error(L, 1, ctx.error);
  if (segment && !ctx.segment_rows(L)) return raise_error(L, 1, ctx.error);
  return 1;
}

int l_data_csv(lua_State* L) {
  return load_data(L, true);
}

int l_data_json(lua_State* L) {
  return load_data(L, false);
}

// vu.id, vu.iteration, vu.scenario: read from whichever VU is running; vu.segment and
// vu.segments: this process's execution segment (1-based) and how many there are.
int l_vu_index(lua_State* L) {
  auto& ctx = *ctx_of(L);
  const std::string_view key = luaL_checkstring(L, 2);
  LuaVu* vu = ctx.current;
  if (key == "id") {
    lua_pushinteger(L, vu != nullptr ? vu->id() : 0);
  } else if (key == "iteration") {
    lua_pushinteger(L, vu != nullptr ? static_cast<lua_Integer>(vu->iteration()) : 0);
  } else if (key == "segment") {
    lua_pushinteger(L, static_cast<lua_Integer>(ctx.plan.segment.index) + 1);
  } else if (key == "segments") {
    lua_pushinteger(L, static_cast<lua_Integer>(ctx.plan.segment.count));
  } else if (key == "scenario") {
    if (vu != nullptr)
      lua_pushstring(L, vu->scenario_name().c_str());
    else
      lua_pushnil(L);
  } else {
    lua_pushnil(L);
  }
  return 1;
}

}  // namespace

void install_api(ScriptContext& ctx) {
  lua_State* L = ctx.L;
  // core: the C half of the API, handed to the prelude.
  static const luaL_Reg core_functions[] = {
      {"request", l_request},           {"sleep", l_sleep},
      {"record_check", l_record_check}, {"group_enter", l_group_enter},
      {"group_leave", l_group_leave},   {"metric_define", l_metric_define},
      {"metric_add", l_metric_add},     {"json_encode", l_json_encode},
      {"json_decode", l_json_decode},   {"data_csv", l_data_csv},
      {"data_json", l_data_json},       {nullptr, nullptr},
  };
  lua_newtable(L);
  lua_pushlightuserdata(L, &ctx);
  luaL_setfuncs(L, core_functions, 1);
  script::push_json_null(L);
  lua_setfield(L, -2, "json_null");
  // vu: a table read through __index, so vu.id is always the running VU's.
  lua_newtable(L);
  lua_createtable(L, 0, 2);
  lua_pushlightuserdata(L, &ctx);
  lua_pushcclosure(L, l_vu_index, 1);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_setfield(L, -2, "vu");
  lua_createtable(L, 0, static_cast<int>(ctx.plan.env.size()));
  for (const auto& [k, v] : ctx.plan.env) {
    lua_pushlstring(L, v.data(), v.size());
    lua_setfield(L, -2, k.c_str());
  }
  lua_setfield(L, -2, "env");

  ctx.response_meta_ref = make_response_metatable(L, ctx.reader);

  // Run the prelude with core as its argument, then add the C http functions.
  const int core_index = lua_gettop(L);
  if (luaL_loadbuffer(L, prelude_lua, std::strlen(prelude_lua), "=strain prelude") != LUA_OK) {
    throw Error(std::string("strain prelude: ") + lua_tostring(L, -1));
  }
  lua_pushvalue(L, core_index);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    throw Error(std::string("strain prelude: ") + lua_tostring(L, -1));
  }
  lua_getglobal(L, "http");
  struct Method {
    const char* lua_name;
    const char* method;
    bool body;
  };
  for (const Method& m :
       {Method{"get", "GET", false}, Method{"head", "HEAD", false},
        Method{"options", "OPTIONS", false}, Method{"delete", "DELETE", false},
        Method{"post", "POST", true}, Method{"put", "PUT", true}, Method{"patch", "PATCH", true}}) {
    lua_pushlightuserdata(L, &ctx);
    lua_pushstring(L, m.method);
    lua_pushboolean(L, m.body);
    lua_pushcclosure(L, l_http_method, 3);
    lua_setfield(L, -2, m.lua_name);
  }
  lua_settop(L, core_index - 1);
}

}  // namespace strain
