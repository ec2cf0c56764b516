// JSON for scripts (json.decode, r:json()): any bytes decode into a Lua value or an error
// value, never a crash or a runaway stack (max_json_depth); what decodes encodes, and the
// encoding is a fixed point (decode then encode gives it back).
#include <lua.hpp>

#include <cstdint>
#include <string>

#include "engine/script/lua_json.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace strain::script;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  lua_State* L = luaL_newstate();
  FUZZ_CHECK(L != nullptr);
  std::string error;
  const int top = lua_gettop(L);
  if (push_json(L, strain::fuzz::text_of(data, size), error)) {
    FUZZ_CHECK(lua_gettop(L) == top + 1);
    std::string once;
    std::string err2;
    // NaN and infinities cannot come out of JSON text, so whatever decoded encodes.
    FUZZ_CHECK(encode_json(L, -1, once, err2));
    lua_pop(L, 1);
    FUZZ_CHECK(push_json(L, once, err2));
    std::string twice;
    FUZZ_CHECK(encode_json(L, -1, twice, err2));
    FUZZ_CHECK(once == twice);
    lua_pop(L, 1);
  } else {
    FUZZ_CHECK(!error.empty());
    FUZZ_CHECK(lua_gettop(L) == top);
  }
  lua_close(L);
  return 0;
}
