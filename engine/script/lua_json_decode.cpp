// JSON text to Lua values: json.decode, data.json, setup() data.
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

}  // namespace strain::script
