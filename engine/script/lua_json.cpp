#include "engine/script/lua_json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <lua.hpp>
#include <vector>

// Lua raises errors with longjmp. Both directions therefore run their Lua work inside lua_pcall,
// in functions whose locals are all trivially destructible, with every owning object kept in the
// caller's frame below the pcall. C++ exceptions (only bad_alloc from std::string and std::vector)
// are caught inside the protected function, so none crosses a Lua frame.

namespace strain::script {
namespace {

// Only the address matters: it is json.null's identity.
char null_sentinel;
// Registry key of the metatable shared by decoded arrays, so `[]` encodes back as `[]`.
char array_metatable_key;

constexpr const char* out_of_memory = "out of memory";

// Never throws: a message too big to copy degrades to one that fits the small-string buffer.
void set_error(std::string& error, const char* message) noexcept {
  try {
    error.assign(message);
  } catch (...) {
    error.assign(out_of_memory);
  }
}

// Length of the well-formed UTF-8 sequence starting at p (a byte >= 0x80), or 0. Rejects
// overlong forms, surrogates and code points past U+10FFFF, as RFC 3629 does.
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

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
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

// ---- Decoding --------------------------------------------------------------------------------

// Plain data: a Lua memory error longjmps through the parser, so nothing here may own memory.
struct Decoder {
  const char* begin;
  const char* end;
  const char* p;
  const char* error_at;
  const char* error;
  bool ok;
};

constexpr int array_metatable_slot = 2;  // decode_protected's stack: 1 = Decoder, 2 = metatable

bool fail(Decoder& d, const char* at, const char* what) noexcept {
  d.error_at = at;
  d.error = what;
  return false;
}

void skip_space(Decoder& d) noexcept {
  while (d.p < d.end && (*d.p == ' ' || *d.p == '\t' || *d.p == '\n' || *d.p == '\r'))
    ++d.p;
}

bool parse_value(lua_State* L, Decoder& d, int depth);

bool parse_hex4(Decoder& d, std::uint32_t& code) noexcept {
  if (d.end - d.p < 4) return fail(d, d.p, "invalid \\u escape: expected 4 hex digits");
  code = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = *d.p;
    std::uint32_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<std::uint32_t>(c - 'A' + 10);
    } else {
      return fail(d, d.p, "invalid \\u escape: expected 4 hex digits");
    }
    code = code << 4 | digit;
    ++d.p;
  }
  return true;
}

void add_utf8(luaL_Buffer& b, std::uint32_t code) {
  char bytes[4];
  std::size_t size = 0;
  if (code < 0x80) {
    bytes[size++] = static_cast<char>(code);
  } else if (code < 0x800) {
    bytes[size++] = static_cast<char>(0xC0 | (code >> 6));
    bytes[size++] = static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    bytes[size++] = static_cast<char>(0xE0 | (code >> 12));
    bytes[size++] = static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    bytes[size++] = static_cast<char>(0x80 | (code & 0x3F));
  } else {
    bytes[size++] = static_cast<char>(0xF0 | (code >> 18));
    bytes[size++] = static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    bytes[size++] = static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    bytes[size++] = static_cast<char>(0x80 | (code & 0x3F));
  }
  luaL_addlstring(&b, bytes, size);
}

// Second pass over a string known to be terminated and valid UTF-8, resolving escapes.
bool unescape_string(lua_State* L, Decoder& d, const char* first, const char* quote) {
  if (!lua_checkstack(L, 4)) return fail(d, first, "Lua stack exhausted");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  d.p = first;
  while (d.p < quote) {
    const char* run = d.p;
    while (d.p < quote && *d.p != '\\')
      ++d.p;
    luaL_addlstring(&b, run, static_cast<std::size_t>(d.p - run));
    if (d.p == quote) break;
    const char* escape = d.p++;
    switch (*d.p++) {
      case '"':
        luaL_addchar(&b, '"');
        break;
      case '\\':
        luaL_addchar(&b, '\\');
        break;
      case '/':
        luaL_addchar(&b, '/');
        break;
      case 'b':
        luaL_addchar(&b, '\b');
        break;
      case 'f':
        luaL_addchar(&b, '\f');
        break;
      case 'n':
        luaL_addchar(&b, '\n');
        break;
      case 'r':
        luaL_addchar(&b, '\r');
        break;
      case 't':
        luaL_addchar(&b, '\t');
        break;
      case 'u': {
        std::uint32_t code = 0;
        if (!parse_hex4(d, code)) return false;
        if (code >= 0xDC00 && code <= 0xDFFF) {
          return fail(d, escape, "invalid \\u escape: unpaired low surrogate");
        }
        if (code >= 0xD800 && code <= 0xDBFF) {
          std::uint32_t low = 0;
          if (quote - d.p < 6 || d.p[0] != '\\' || d.p[1] != 'u') {
            return fail(d, escape, "invalid \\u escape: unpaired high surrogate");
          }
          d.p += 2;
          if (!parse_hex4(d, low)) return false;
          if (low < 0xDC00 || low > 0xDFFF) {
            return fail(d, escape, "invalid \\u escape: unpaired high surrogate");
          }
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        }
        add_utf8(b, code);
        break;
      }
      default:
        return fail(d, escape, "invalid escape in string");
    }
  }
  luaL_pushresult(&b);
  d.p = quote + 1;
  return true;
}

// d.p is just past the opening quote. Most strings have no escapes and are pushed straight from
// the input; the first pass finds the end and validates raw bytes either way.
bool parse_string(lua_State* L, Decoder& d) {
  const char* first = d.p;
  const auto* end = reinterpret_cast<const unsigned char*>(d.end);
  bool escaped = false;
  while (true) {
    if (d.p == d.end) return fail(d, first - 1, "unterminated string");
    const auto c = static_cast<unsigned char>(*d.p);
    if (c == '"') break;
    if (c == '\\') {
      escaped = true;
      d.p += d.end - d.p >= 2 ? 2 : 1;
    } else if (c < 0x20) {
      return fail(d, d.p, "control character in string (must be escaped)");
    } else if (c < 0x80) {
      ++d.p;
    } else {
      const std::size_t size =
          utf8_sequence_length(reinterpret_cast<const unsigned char*>(d.p), end);
      if (size == 0) return fail(d, d.p, "invalid UTF-8 in string");
      d.p += size;
    }
  }
  if (escaped) return unescape_string(L, d, first, d.p);
  lua_pushlstring(L, first, static_cast<std::size_t>(d.p - first));
  ++d.p;
  return true;
}

// from_chars reports overflow and underflow alike; the decimal exponent of the leading
// significant digit tells them apart (underflow becomes zero, as strtod does).
bool exponent_is_positive(const char* p, const char* end) noexcept {
  if (*p == '-') ++p;
  const char* q = p;
  while (q < end && is_digit(*q))
    ++q;
  long long magnitude = q - p;
  if (magnitude == 1 && *p == '0') {
    magnitude = 0;
    if (q < end && *q == '.') {
      for (++q; q < end && *q == '0'; ++q)
        --magnitude;
    }
  }
  while (q < end && *q != 'e' && *q != 'E')
    ++q;
  long long exponent = 0;
  if (q < end) {
    ++q;
    const bool negative = *q == '-';
    if (*q == '-' || *q == '+') ++q;
    for (; q < end && exponent < 1'000'000'000; ++q)
      exponent = exponent * 10 + (*q - '0');
    if (negative) exponent = -exponent;
  }
  return magnitude + exponent > 0;
}

bool parse_number(lua_State* L, Decoder& d) {
  const char* start = d.p;
  if (*d.p == '-') ++d.p;
  if (d.p == d.end || !is_digit(*d.p)) return fail(d, start, "invalid number");
  if (*d.p == '0') {
    ++d.p;
    if (d.p < d.end && is_digit(*d.p)) return fail(d, start, "invalid number: leading zero");
  } else {
    while (d.p < d.end && is_digit(*d.p))
      ++d.p;
  }
  bool integral = true;
  if (d.p < d.end && *d.p == '.') {
    integral = false;
    ++d.p;
    if (d.p == d.end || !is_digit(*d.p)) return fail(d, d.p, "invalid number: digit expected");
    while (d.p < d.end && is_digit(*d.p))
      ++d.p;
  }
  if (d.p < d.end && (*d.p == 'e' || *d.p == 'E')) {
    integral = false;
    ++d.p;
    if (d.p < d.end && (*d.p == '+' || *d.p == '-')) ++d.p;
    if (d.p == d.end || !is_digit(*d.p)) return fail(d, d.p, "invalid number: digit expected");
    while (d.p < d.end && is_digit(*d.p))
      ++d.p;
  }
  if (integral) {
    lua_Integer value = 0;
    const auto [ptr, ec] = std::from_chars(start, d.p, value);
    if (ec == std::errc{} && ptr == d.p) {
      lua_pushinteger(L, value);
      return true;
    }
  }
  double value = 0;
  const auto [ptr, ec] = std::from_chars(start, d.p, value);
  if (ec == std::errc::result_out_of_range) {
    if (exponent_is_positive(start, d.p)) return fail(d, start, "number out of range");
    value = *start == '-' ? -0.0 : 0.0;
  } else if (ec != std::errc{} || ptr != d.p) {
    return fail(d, start, "invalid number");
  }
  lua_pushnumber(L, value);
  return true;
}

bool parse_literal(Decoder& d, std::string_view word) noexcept {
  if (static_cast<std::size_t>(d.end - d.p) < word.size() ||
      std::memcmp(d.p, word.data(), word.size()) != 0) {
    return fail(d, d.p, "expected a JSON value");
  }
  d.p += word.size();
  return true;
}

bool parse_array(lua_State* L, Decoder& d, int depth) {
  if (depth > max_json_depth) return fail(d, d.p, "nesting deeper than 64 levels");
  if (!lua_checkstack(L, 4)) return fail(d, d.p, "Lua stack exhausted");
  ++d.p;
  lua_createtable(L, 0, 0);
  lua_pushvalue(L, array_metatable_slot);
  lua_setmetatable(L, -2);
  skip_space(d);
  if (d.p < d.end && *d.p == ']') {
    ++d.p;
    return true;
  }
  for (lua_Integer i = 1;; ++i) {
    if (!parse_value(L, d, depth)) return false;
    lua_rawseti(L, -2, i);
    skip_space(d);
    if (d.p < d.end && *d.p == ',') {
      ++d.p;
    } else if (d.p < d.end && *d.p == ']') {
      ++d.p;
      return true;
    } else {
      return fail(d, d.p, "expected ',' or ']'");
    }
  }
}

bool parse_object(lua_State* L, Decoder& d, int depth) {
  if (depth > max_json_depth) return fail(d, d.p, "nesting deeper than 64 levels");
  if (!lua_checkstack(L, 4)) return fail(d, d.p, "Lua stack exhausted");
  ++d.p;
  lua_createtable(L, 0, 0);
  skip_space(d);
  if (d.p < d.end && *d.p == '}') {
    ++d.p;
    return true;
  }
  while (true) {
    if (d.p == d.end || *d.p != '"') return fail(d, d.p, "expected a string key");
    ++d.p;
    if (!parse_string(L, d)) return false;
    skip_space(d);
    if (d.p == d.end || *d.p != ':') return fail(d, d.p, "expected ':'");
    ++d.p;
    if (!parse_value(L, d, depth)) return false;
    lua_rawset(L, -3);
    skip_space(d);
    if (d.p < d.end && *d.p == ',') {
      ++d.p;
      skip_space(d);
    } else if (d.p < d.end && *d.p == '}') {
      ++d.p;
      return true;
    } else {
      return fail(d, d.p, "expected ',' or '}'");
    }
  }
}

bool parse_value(lua_State* L, Decoder& d, int depth) {
  skip_space(d);
  if (d.p == d.end) return fail(d, d.p, "unexpected end of input, expected a JSON value");
  switch (*d.p) {
    case '{':
      return parse_object(L, d, depth + 1);
    case '[':
      return parse_array(L, d, depth + 1);
    case '"':
      ++d.p;
      return parse_string(L, d);
    case 't':
      if (!parse_literal(d, "true")) return false;
      lua_pushboolean(L, 1);
      return true;
    case 'f':
      if (!parse_literal(d, "false")) return false;
      lua_pushboolean(L, 0);
      return true;
    case 'n':
      if (!parse_literal(d, "null")) return false;
      push_json_null(L);
      return true;
    default:
      if (*d.p == '-' || is_digit(*d.p)) return parse_number(L, d);
      return fail(d, d.p, "expected a JSON value");
  }
}

int decode_protected(lua_State* L) {
  auto& d = *static_cast<Decoder*>(lua_touserdata(L, 1));
  push_array_metatable(L);
  if (!parse_value(L, d, 0)) return 0;
  skip_space(d);
  if (d.p != d.end) {
    fail(d, d.p, "unexpected content after the JSON value");
    return 0;
  }
  d.ok = true;
  return 1;
}

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

// After a failed pcall: the error object is on top. Ours are strings or memory errors.
void take_pcall_error(lua_State* L, int status, std::string& error) noexcept {
  const char* message =
      status != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : out_of_memory;
  set_error(error, message);
  lua_pop(L, 1);
}

}  // namespace

bool push_json(lua_State* L, std::string_view text, std::string& error) noexcept {
  Decoder d{text.data(), text.data() + text.size(), text.data(), nullptr, nullptr, false};
  if (!lua_checkstack(L, 3)) {
    set_error(error, "Lua stack exhausted");
    return false;
  }
  lua_pushcfunction(L, decode_protected);
  lua_pushlightuserdata(L, &d);
  const int status = lua_pcall(L, 1, 1, 0);
  if (status != LUA_OK) {
    take_pcall_error(L, status, error);
    return false;
  }
  if (d.ok) return true;
  lua_pop(L, 1);
  int line = 1;
  std::size_t column = 1;
  for (const char* p = d.begin; p < d.error_at; ++p) {
    if (*p == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  char message[160];
  std::snprintf(message, sizeof message, "line %d, column %zu: %s", line, column, d.error);
  set_error(error, message);
  return false;
}

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

void push_json_null(lua_State* L) {
  lua_pushlightuserdata(L, &null_sentinel);
}

bool is_json_null(lua_State* L, int index) {
  return lua_type(L, index) == LUA_TLIGHTUSERDATA && lua_touserdata(L, index) == &null_sentinel;
}

}  // namespace strain::script
