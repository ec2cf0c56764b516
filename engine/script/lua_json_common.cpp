#include <lua.hpp>

#include "engine/script/lua_json.hpp"
#include "engine/script/lua_json_common.hpp"

namespace strain::script {
namespace json_detail {

char null_sentinel;
char array_metatable_key;

void set_error(std::string& error, const char* message) noexcept {
  try {
    error.assign(message);
  } catch (...) {
    error.assign(out_of_memory);
  }
}

std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned lead = p[0];
  std::size_t size = 0;
  std::uint32_t code = 0;
  std::uint32_t smallest = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    size = 2, code = lead & 0x1Fu, smallest = 0x80;
  } else if ((lead & 0xF0u) == 0xE0) {
    size = 3, code = lead & 0x0Fu, smallest = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    size = 4, code = lead & 0x07u, smallest = 0x10000;
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(end - p) < size) return 0;
  for (std::size_t i = 1; i < size; ++i) {
    if ((p[i] & 0xC0u) != 0x80) return 0;
    code = (code << 6) | (p[i] & 0x3Fu);
  }
  if (code < smallest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return size;
}

void push_array_metatable(lua_State* L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &array_metatable_key) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "array");
  lua_setfield(L, -2, "__jsontype");
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &array_metatable_key);
}

void take_pcall_error(lua_State* L, int status, std::string& error) noexcept {
  const char* message =
      status != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : out_of_memory;
  set_error(error, message);
  lua_pop(L, 1);
}

}  // namespace json_detail

void push_json_null(lua_State* L) {
  lua_pushlightuserdata(L, &json_detail::null_sentinel);
}

bool is_json_null(lua_State* L, int index) {
  return lua_type(L, index) == LUA_TLIGHTUSERDATA && lua_touserdata(L, index) == &json_detail::null_sentinel;
}

}  // namespace strain::script
