// Lua values to JSON text: json.encode, params.json, setup()'s return value.
#include "engine/script/lua_json.hpp"
#include "engine/script/lua_json_common.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <lua.hpp>
#include <vector>

namespace strain::script {
namespace {

using namespace json_detail;

// ---- Encoding --------------------------------------------------------------------------------

// One member of an object being written. Trivially copyable: copies live in protected frames.
struct Member {
  const char* text;     // the string key's bytes, owned by the table; null for integer keys
  std::size_t size;     // bytes in text, or in digits
  lua_Integer integer;  // the integer key
  char digits[24];      // the integer key in decimal: JSON keys are strings
  std::string_view name() const { return {text != nullptr ? text : digits, size}; }
};

// One step from the encoded value to the one that failed, for the error message.
struct PathStep {
  const char* key;      // a string key, or null for an integer key
  std::size_t size;     // bytes in key
  lua_Integer integer;  // the integer key
};

// Owns everything that allocates; lives in encode_json's frame, below the pcall.
struct Encoder {
  std::string& out;
  std::string error{};
  std::vector<Member> members{};           // the members of every open object, innermost last
  std::vector<const void*> open_tables{};  // tables being written, outermost first
  std::vector<PathStep> path{};
  bool ok = false;
  bool out_of_memory = false;
};

bool is_identifier(std::string_view s) {
  if (s.empty() || is_digit(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return is_digit(c) || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}

// Appends `s` as a JSON string. False (with `out` partly written) when `s` is not valid UTF-8
// and `strict`; otherwise such bytes pass through, which is only for error messages.
bool append_string(std::string& out, std::string_view s, bool strict) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  out += '"';
  while (p < end) {
    const auto* run = p;
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
      ++p;
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    if (p == end) break;
    const unsigned char c = *p;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++p;
    } else if (c < 0x20) {
      switch (c) {
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
      }
      ++p;
    } else {
      std::size_t size = utf8_sequence_length(p, end);
      if (size == 0) {
        if (strict) return false;
        size = 1;
      }
      out.append(reinterpret_cast<const char*>(p), size);
      p += size;
    }
  }
  out += '"';
  return true;
}

bool fail(Encoder& e, std::string_view what) {
  e.error.assign(what);
  e.error += " at value";
  for (const PathStep& step : e.path) {
    if (step.key == nullptr) {
      e.error += '[' + std::to_string(step.integer) + ']';
    } else if (is_identifier({step.key, step.size})) {
      e.error += '.';
      e.error.append(step.key, step.size);
    } else {
      e.error += '[';
      append_string(e.error, {step.key, step.size}, false);
      e.error += ']';
    }
  }
  return false;
}

void append_integer(std::string& out, lua_Integer value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

bool append_float(Encoder& e, double value) {
  if (!std::isfinite(value)) {
    return fail(e, std::isnan(value) ? "cannot encode NaN" : "cannot encode an infinite number");
  }
  char buffer[40];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  e.out.append(buffer, result.ptr);
  // Shortest round-trip digits; a ".0" keeps integral floats floats when decoded again.
  if (std::find_if(buffer, result.ptr, [](char c) { return c == '.' || c == 'e'; }) == result.ptr) {
    e.out += ".0";
  }
  return true;
}

bool encode_value(lua_State* L, Encoder& e, int index);

bool has_array_mark(lua_State* L, int index) {
  if (!lua_getmetatable(L, index)) return false;
  lua_pushliteral(L, "__jsontype");
  lua_rawget(L, -2);
  std::size_t size = 0;
  const char* mark = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &size) : nullptr;
  const bool is_array = mark != nullptr && std::string_view(mark, size) == "array";
  lua_pop(L, 2);
  return is_array;
}

bool encode_array(lua_State* L, Encoder& e, int index, lua_Integer size) {
  e.out += '[';
  for (lua_Integer i = 1; i <= size; ++i) {
    if (i > 1) e.out += ',';
    lua_rawgeti(L, index, i);
    e.path.push_back({nullptr, 0, i});
    if (!encode_value(L, e, lua_gettop(L))) return false;
    e.path.pop_back();
    lua_pop(L, 1);
  }
  e.out += ']';
  return true;
}

// Keys are sorted so the same table always encodes to the same bytes (Lua's hash order is
// seeded per state).
bool encode_object(lua_State* L, Encoder& e, int index) {
  const std::size_t first = e.members.size();
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    Member member{};
    if (lua_type(L, -2) == LUA_TSTRING) {
      member.text = lua_tolstring(L, -2, &member.size);
    } else if (lua_isinteger(L, -2)) {
      member.integer = lua_tointeger(L, -2);
      const auto result =
          std::to_chars(member.digits, member.digits + sizeof member.digits, member.integer);
      member.size = static_cast<std::size_t>(result.ptr - member.digits);
    } else {
      const char* type = lua_typename(L, lua_type(L, -2));
      lua_pop(L, 2);
      return fail(e, std::string("cannot encode a table key of type ") + type +
                         (std::strcmp(type, "number") == 0 ? " (not an integer)" : ""));
    }
    lua_pop(L, 1);
    e.members.push_back(member);
  }
  const auto begin = e.members.begin() + static_cast<std::ptrdiff_t>(first);
  std::sort(begin, e.members.end(),
            [](const Member& a, const Member& b) { return a.name() < b.name(); });
  const auto twin =
      std::adjacent_find(begin, e.members.end(),
                         [](const Member& a, const Member& b) { return a.name() == b.name(); });
  if (twin != e.members.end()) {
    return fail(e, "cannot encode a table with both the integer key " + std::string(twin->name()) +
                       " and the string key \"" + std::string(twin->name()) + "\"");
  }
  e.out += '{';
  // Indexes, not iterators: nested objects grow `members` and may move it.
  const std::size_t last = e.members.size();
  for (std::size_t i = first; i < last; ++i) {
    const Member member = e.members[i];
    if (i > first) e.out += ',';
    if (!append_string(e.out, member.name(), true)) {
      return fail(e, "cannot encode a table key that is not valid UTF-8");
    }
    e.out += ':';
    if (member.text != nullptr) {
      lua_pushlstring(L, member.text, member.size);
      lua_rawget(L, index);
    } else {
      lua_rawgeti(L, index, member.integer);
    }
    e.path.push_back({member.text, member.size, member.integer});
    if (!encode_value(L, e, lua_gettop(L))) return false;
    e.path.pop_back();
    lua_pop(L, 1);
  }
  e.members.resize(first);
  e.out += '}';
  return true;
}

bool encode_table(lua_State* L, Encoder& e, int index) {
  const void* table = lua_topointer(L, index);
  if (std::find(e.open_tables.begin(), e.open_tables.end(), table) != e.open_tables.end()) {
    return fail(e, "cannot encode a table that contains itself");
  }
  if (e.open_tables.size() >= static_cast<std::size_t>(max_json_depth)) {
    return fail(e, "cannot encode tables nested deeper than 64 levels");
  }
  if (!lua_checkstack(L, 4)) return fail(e, "Lua stack exhausted");
  e.open_tables.push_back(table);

  // Keys exactly 1..n: n keys, each an integer within the border lua_rawlen reports.
  const auto size = static_cast<lua_Integer>(lua_rawlen(L, index));
  lua_Integer count = 0;
  bool sequence = true;
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    ++count;
    if (sequence &&
        (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 || lua_tointeger(L, -2) > size)) {
      sequence = false;
    }
    lua_pop(L, 1);
  }
  sequence = sequence && count == size;

  bool ok = false;
  if (has_array_mark(L, index)) {
    if (!sequence && count > 0) {
      return fail(e, "cannot encode a table marked __jsontype=\"array\" whose keys are not 1..n");
    }
    ok = encode_array(L, e, index, count);
  } else if (sequence && count > 0) {
    ok = encode_array(L, e, index, count);
  } else {
    ok = encode_object(L, e, index);
  }
  if (ok) e.open_tables.pop_back();
  return ok;
}

bool encode_value(lua_State* L, Encoder& e, int index) {
  switch (lua_type(L, index)) {
    case LUA_TNIL:
      e.out += "null";
      return true;
    case LUA_TBOOLEAN:
      e.out += lua_toboolean(L, index) ? "true" : "false";
      return true;
    case LUA_TNUMBER:
      if (lua_isinteger(L, index)) {
        append_integer(e.out, lua_tointeger(L, index));
        return true;
      }
      return append_float(e, lua_tonumber(L, index));
    case LUA_TSTRING: {
      std::size_t size = 0;
      const char* text = lua_tolstring(L, index, &size);
      if (!append_string(e.out, {text, size}, true)) {
        return fail(e, "cannot encode a string that is not valid UTF-8");
      }
      return true;
    }
    case LUA_TTABLE:
      return encode_table(L, e, index);
    case LUA_TLIGHTUSERDATA:
      if (is_json_null(L, index)) {
        e.out += "null";
        return true;
      }
      return fail(e, "cannot encode a light userdata");
    default:
      return fail(e, std::string("cannot encode a ") + lua_typename(L, lua_type(L, index)));
  }
}

int encode_protected(lua_State* L) {
  auto& e = *static_cast<Encoder*>(lua_touserdata(L, 1));
  try {
    e.ok = encode_value(L, e, 2);
  } catch (...) {
    e.out_of_memory = true;
  }
  return 0;
}

}  // namespace

bool encode_json(lua_State* L, int index, std::string& out, std::string& error) noexcept {
  out.clear();
  index = lua_absindex(L, index);
  if (!lua_checkstack(L, 3)) {
    set_error(error, "Lua stack exhausted");
    return false;
  }
  try {
    Encoder e{out};
    e.open_tables.reserve(max_json_depth);
    e.path.reserve(max_json_depth);
    lua_pushcfunction(L, encode_protected);
    lua_pushlightuserdata(L, &e);
    lua_pushvalue(L, index);
    const int status = lua_pcall(L, 2, 0, 0);
    if (status != LUA_OK) {
      out.clear();
      take_pcall_error(L, status, error);
      return false;
    }
    if (e.ok) return true;
    out.clear();
    if (e.out_of_memory) {
      set_error(error, out_of_memory);
    } else {
      error.swap(e.error);
    }
    return false;
  } catch (...) {
    out.clear();
    set_error(error, out_of_memory);
    return false;
  }
}

}  // namespace strain::script
