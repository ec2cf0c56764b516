// What the JSON decoder and encoder share. Internal to engine/script (lua_json.hpp is the face).
#pragma once

#include <cstddef>
#include <string>

struct lua_State;

namespace strain::script::json_detail {

// Lua raises errors with longjmp. Both directions therefore run their Lua work inside lua_pcall,
// in functions whose locals are all trivially destructible, with every owning object kept in the
// caller's frame below the pcall. C++ exceptions (only bad_alloc from std::string and std::vector)
// are caught inside the protected function, so none crosses a Lua frame.

// Only the address matters: it is json.null's identity.
extern char null_sentinel;
// Registry key of the metatable shared by decoded arrays, so `[]` encodes back as `[]`.
extern char array_metatable_key;

inline constexpr const char* out_of_memory = "out of memory";

// Never throws: a message too big to copy degrades to one that fits the small-string buffer.
void set_error(std::string& error, const char* message) noexcept;
// Length of the well-formed UTF-8 sequence starting at p (a byte >= 0x80), or 0. Rejects
// overlong forms, surrogates and code points past U+10FFFF, as RFC 3629 does.
std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) noexcept;
inline bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
// Pushes the metatable that marks a table as a JSON array.
void push_array_metatable(lua_State* L);
// After a failed pcall: the error object is on top. Ours are strings or memory errors.
void take_pcall_error(lua_State* L, int status, std::string& error) noexcept;

}  // namespace strain::script::json_detail
