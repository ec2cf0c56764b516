// JSON <-> Lua values for scripts: decode onto the stack, encode from it; errors are values.
//
// Mapping. JSON null is json.null, and nil encodes as null too. Numbers without '.' or exponent
// that fit int64 decode as integers, all others as floats; floats encode with the shortest
// digits that read back exactly, keeping ".0" when integral (2.0 -> 2.0, 1e300 -> 1e+300).
// A table whose keys are exactly 1..n (n >= 1) is an array; an empty table is {} unless its
// metatable has __jsontype = "array" (decoded arrays carry one, so [] stays []). Other tables are
// objects with keys sorted bytewise; integer keys become strings, other key types are errors.
// Strings must be valid UTF-8 both ways; only '"', '\' and control characters are escaped.
#pragma once

#include <string>
#include <string_view>

struct lua_State;

namespace strain::script {

// Deepest nesting of arrays and objects either direction accepts; one level more is an error.
inline constexpr int max_json_depth = 64;

// Pushes `text` decoded as one Lua value (null → json.null, arrays get a __jsontype="array"
// metatable). On error pushes nothing, returns false, sets `error` to "line L, column C: what".
// Never raises a Lua error, never throws; Lua out-of-memory is reported the same way.
bool push_json(lua_State* L, std::string_view text, std::string& error) noexcept;

// Clears `out` and encodes the value at `index` as compact JSON, object keys sorted bytewise.
// On error `out` is left empty, returns false, `error` names the path ("... at value.items[3].cb").
// Never raises a Lua error, never throws; the stack is unchanged.
bool encode_json(lua_State* L, int index, std::string& out, std::string& error) noexcept;

// Pushes json.null: one light userdata with a fixed address, so scripts compare `v == json.null`.
void push_json_null(lua_State* L);

// True when the value at `index` is json.null.
bool is_json_null(lua_State* L, int index);

}  // namespace strain::script
