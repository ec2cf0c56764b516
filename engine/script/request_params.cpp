#include "engine/script/request_params.hpp"

#include <strings.h>

#include <algorithm>
#include <exception>
#include <lua.hpp>

#include "engine/core/units.hpp"
#include "engine/script/lua_json.hpp"

namespace strain {
namespace {

bool read_headers(lua_State* L, std::span<http::HeaderView> headers, RequestParams& out,
                  std::string& error) {
  if (!lua_istable(L, -1)) {
    error = "request params: headers must be a table";
    return false;
  }
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
      error = "request params: header names and values must be strings";
      return false;
    }
    if (out.header_count >= headers.size()) {
      error = "request params: more than " + std::to_string(headers.size()) + " headers";
      return false;
    }
    // Strings stay alive in the params table until the request is built.
    std::size_t nl = 0, vl = 0;
    const char* n = lua_tolstring(L, -2, &nl);
    const char* v = lua_tolstring(L, -1, &vl);
    headers[out.header_count++] = http::HeaderView{{n, nl}, {v, vl}};
    if (nl == 12 && strncasecmp(n, "content-type", 12) == 0) out.has_content_type = true;
    lua_pop(L, 1);
  }
  return true;
}

bool read_timeout(lua_State* L, std::chrono::nanoseconds max_timeout, RequestParams& out,
                  std::string& error) {
  std::chrono::nanoseconds timeout{0};
  if (lua_type(L, -1) == LUA_TNUMBER) {
    const double s = lua_tonumber(L, -1);
    if (!(s > 0 && s < 1e7)) {
      error = "request params: timeout must be more than zero";
      return false;
    }
    timeout = std::chrono::nanoseconds(static_cast<std::int64_t>(s * 1e9));
  } else {
    if (lua_type(L, -1) != LUA_TSTRING) {
      error = "request params: timeout must be seconds or a duration like \"2s\"";
      return false;
    }
    try {
      timeout = parse_duration(lua_tostring(L, -1), "request params: timeout");
    } catch (const std::exception& e) {
      error = e.what();
      return false;
    }
    if (timeout.count() <= 0) {
      error = "request params: timeout must be more than zero";
      return false;
    }
  }
  if (timeout > max_timeout) {
    error = "request params: timeout " + format_duration(timeout) + " is above options.timeout (" +
            format_duration(max_timeout) + "); raise options.timeout";
    return false;
  }
  out.timeout = timeout;
  return true;
}

}  // namespace

bool read_request_params(lua_State* L, int index, bool has_body,
                         std::span<http::HeaderView> headers, std::string& json,
                         std::chrono::nanoseconds max_timeout, RequestParams& out,
                         std::string& error) {
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      error = "request params: keys must be names";
      return false;
    }
    const std::string_view key = lua_tostring(L, -2);
    if (key == "headers") {
      if (!read_headers(L, headers, out, error)) return false;
    } else if (key == "json") {
      if (has_body) {
        error = "request params: json given with a body too";
        return false;
      }
      if (!script::encode_json(L, lua_gettop(L), json, error)) {
        error = "request params.json: " + error;
        return false;
      }
      out.has_json = true;
    } else if (key == "name") {
      if (lua_type(L, -1) != LUA_TSTRING) {
        error = "request params: name must be a string";
        return false;
      }
      out.name = lua_tostring(L, -1);  // alive in the params table
    } else if (key == "timeout") {
      if (!read_timeout(L, max_timeout, out, error)) return false;
    } else if (key == "tags") {
      if (!lua_istable(L, -1)) {
        error = "request params: tags must be a table";
        return false;
      }
      out.has_tags = true;
    } else {
      error = "request params: unknown field '" + std::string(key) +
              "' (known: headers, json, name, timeout, tags)";
      return false;
    }
    lua_pop(L, 1);
  }
  return true;
}

bool read_tags(lua_State* L, int params_index,
               std::vector<std::pair<std::string, std::string>>& out, std::string& error) {
  out.clear();
  lua_getfield(L, params_index, "tags");
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
      error = "request params: tag names and values must be strings";
      lua_pop(L, 3);
      return false;
    }
    out.emplace_back(lua_tostring(L, -2), lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  std::sort(out.begin(), out.end());
  return true;
}

}  // namespace strain
