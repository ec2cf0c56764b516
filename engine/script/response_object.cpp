#include "engine/script/response_object.hpp"

#include <algorithm>
#include <cstring>
#include <lua.hpp>
#include <string>

#include "engine/script/lua_json.hpp"

namespace strain {
namespace {

constexpr const char* kResponseMeta = "strain.response";

// What a response userdata holds: these fixed fields, then the header block and the body bytes.
struct ResponseHead {
  std::int64_t intended_ns = 0;
  std::int64_t sent_ns = 0;
  std::int64_t done_ns = 0;
  ExchangePhases phases;
  std::uint64_t body_bytes = 0;  // as received, even when not kept
  std::uint32_t headers_len = 0;
  std::uint32_t body_len = 0;  // bytes kept
  int status = 0;
  ErrorKind error = ErrorKind::none;
  bool body_kept = false;
  bool body_truncated = false;
  bool raw = false;           // the bytes are the raw response, parsed when first read
  bool head_request = false;  // a response to HEAD (no body, whatever the headers say)
};

// --- the response object: a userdata read through __index, fields made on demand

const ResponseHead& head_of(lua_State* L) {
  return *static_cast<const ResponseHead*>(lua_touserdata(L, 1));
}

const char* bytes_of(lua_State* L) {
  return static_cast<const char*>(lua_touserdata(L, 1)) + sizeof(ResponseHead);
}

void materialize_raw(lua_State* L, const ResponseHead& h);

int l_response_json(lua_State* L) {
  luaL_checkudata(L, 1, kResponseMeta);
  const ResponseHead& h = head_of(L);
  if (!h.body_kept) {
    return luaL_error(L, "r:json(): the body was not kept (discard_response_bodies is set)");
  }
  auto& reader = *static_cast<RawResponseReader*>(lua_touserdata(L, lua_upvalueindex(1)));
  std::string& error = reader.scratch();
  std::string_view body(bytes_of(L) + h.headers_len, h.body_len);
  if (h.raw) {
    materialize_raw(L, h);
    lua_getiuservalue(L, 1, 2);
    std::size_t n = 0;
    const char* b = lua_tolstring(L, -1, &n);
    body = std::string_view(b, n);  // anchored in the userdata's uservalue
    lua_pop(L, 1);
  }
  if (!script::push_json(L, body, error)) {
    luaL_where(L, 1);
    lua_pushliteral(L, "r:json(): the body is not JSON: ");
    lua_pushlstring(L, error.data(), error.size());
    lua_concat(L, 3);
    return lua_error(L);
  }
  return 1;
}

double ms(std::int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

// Pushes r.headers from a "name\0value\0..." block: names lower-cased, a repeated field's
// values joined by ", " (RFC 9110 §5.3).
void push_headers(lua_State* L, const char* block, std::size_t len) {
  lua_createtable(L, 0, 8);
  const char* p = block;
  const char* end = block + len;
  while (p < end) {
    const std::size_t name_len = std::strlen(p);
    const char* value = p + name_len + 1;
    const std::size_t value_len = std::strlen(value);
    char lower[256];
    const std::size_t n = std::min(name_len, sizeof lower);
    for (std::size_t i = 0; i < n; ++i)
      lower[i] = (p[i] >= 'A' && p[i] <= 'Z') ? static_cast<char>(p[i] | 0x20) : p[i];
    lua_pushlstring(L, lower, n);
    if (lua_rawget(L, -2) == LUA_TSTRING) {
      lua_pushliteral(L, ", ");
      lua_pushlstring(L, value, value_len);
      lua_concat(L, 3);
    } else {
      lua_pop(L, 1);
      lua_pushlstring(L, value, value_len);
    }
    lua_pushlstring(L, lower, n);
    lua_insert(L, -2);
    lua_rawset(L, -3);
    p = value + value_len + 1;
  }
}

// Builds r.headers (uservalue 1) and r.body (uservalue 2) of a raw response, once.
void materialize_raw(lua_State* L, const ResponseHead& h) {
  if (lua_getiuservalue(L, 1, 1) != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  auto& reader = *static_cast<RawResponseReader*>(lua_touserdata(L, lua_upvalueindex(1)));
  reader.parse(std::string_view(bytes_of(L), h.headers_len), h.head_request);
  const std::string& head = reader.head();
  push_headers(L, head.data(), head.size());
  lua_setiuservalue(L, 1, 1);
  // The reader is reused by the next parse: keep this response's sizes in its own head, and
  // cut the body at max_body_bytes (the capture keeps up to 64 KiB more for the fields).
  auto& own = *static_cast<ResponseHead*>(lua_touserdata(L, 1));
  std::string_view body = reader.body();
  own.body_bytes += body.size();
  if (body.size() > reader.max_body_bytes()) {
    body = body.substr(0, static_cast<std::size_t>(reader.max_body_bytes()));
    own.body_truncated = true;
  }
  if (h.body_kept)
    lua_pushlstring(L, body.data(), body.size());
  else
    lua_pushboolean(L, 0);  // "no body kept", told apart from "not parsed yet"
  lua_setiuservalue(L, 1, 2);
}

int l_response_index(lua_State* L) {
  const ResponseHead& h = head_of(L);
  std::size_t len = 0;
  const char* k = lua_tolstring(L, 2, &len);
  const std::string_view key = k != nullptr ? std::string_view(k, len) : std::string_view();
  if (h.raw && (key == "headers" || key == "body" || key == "body_size" || key == "truncated")) {
    materialize_raw(L, h);  // sets h.body_bytes and h.body_truncated, read below
    if (key == "headers") {
      lua_getiuservalue(L, 1, 1);
      return 1;
    }
    if (key == "body") {
      if (lua_getiuservalue(L, 1, 2) == LUA_TBOOLEAN) {
        lua_pop(L, 1);
        lua_pushnil(L);
      }
      return 1;
    }
  }
  if (key == "status") {
    lua_pushinteger(L, h.status);
  } else if (key == "body") {
    if (lua_getiuservalue(L, 1, 2) != LUA_TNIL) return 1;
    lua_pop(L, 1);
    if (!h.body_kept) {
      lua_pushnil(L);
      return 1;
    }
    lua_pushlstring(L, bytes_of(L) + h.headers_len, h.body_len);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, 2);
  } else if (key == "headers") {
    if (lua_getiuservalue(L, 1, 1) != LUA_TNIL) return 1;
    lua_pop(L, 1);
    push_headers(L, bytes_of(L), h.headers_len);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, 1);
  } else if (key == "timings") {
    // k6's names, in ms. duration is the service time (sent to done) as the summary's.
    lua_createtable(L, 0, 7);
    lua_pushnumber(L, ms(h.done_ns - h.sent_ns));
    lua_setfield(L, -2, "duration");
    lua_pushnumber(L, ms(h.done_ns - h.intended_ns));
    lua_setfield(L, -2, "response_time");
    lua_pushnumber(L, ms(h.phases.blocked_ns));
    lua_setfield(L, -2, "blocked");
    lua_pushnumber(L, ms(h.phases.connecting_ns));
    lua_setfield(L, -2, "connecting");
    lua_pushnumber(L, ms(h.phases.tls_handshaking_ns));
    lua_setfield(L, -2, "tls_handshaking");
    lua_pushnumber(L, ms(h.phases.waiting_ns));
    lua_setfield(L, -2, "waiting");
    lua_pushnumber(L, ms(h.phases.receiving_ns));
    lua_setfield(L, -2, "receiving");
  } else if (key == "error") {
    if (h.error == ErrorKind::none) {
      lua_pushnil(L);
    } else {
      const std::string_view e = to_string(h.error);
      lua_pushlstring(L, e.data(), e.size());
    }
  } else if (key == "ok") {
    lua_pushboolean(L, h.error == ErrorKind::none && h.status >= 200 && h.status < 400);
  } else if (key == "body_size") {
    lua_pushinteger(L, static_cast<lua_Integer>(h.body_bytes));
  } else if (key == "truncated") {
    lua_pushboolean(L, h.body_truncated);
  } else if (key == "json") {
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "json");
  } else {
    lua_pushnil(L);
  }
  return 1;
}

int l_response_tostring(lua_State* L) {
  const ResponseHead& h = head_of(L);
  if (h.error != ErrorKind::none) {
    const std::string_view e = to_string(h.error);
    lua_pushfstring(L, "response (error %s)", std::string(e).c_str());
  } else {
    lua_pushfstring(L, "response (status %d, %d body bytes)", h.status,
                    static_cast<int>(h.body_bytes));
  }
  return 1;
}

}  // namespace

RawResponseReader::RawResponseReader(std::uint64_t max_body_bytes)
    : max_body_bytes_(max_body_bytes) {
  parser_.set_observer(this);
}

void RawResponseReader::parse(std::string_view raw, bool head_request) {
  head_.clear();
  body_.clear();
  parser_.reset(head_request);
  std::size_t consumed = 0;
  (void)parser_.feed(raw.data(), raw.size(), consumed);
}

void RawResponseReader::on_header(std::string_view name, std::string_view value) {
  head_.append(name).append(1, '\0').append(value).append(1, '\0');
}

void RawResponseReader::on_body(std::string_view piece) {
  body_.append(piece);
}

int make_response_metatable(lua_State* L, RawResponseReader& reader) {
  luaL_newmetatable(L, kResponseMeta);
  lua_pushlightuserdata(L, &reader);
  lua_pushcclosure(L, l_response_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_response_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushlightuserdata(L, &reader);
  lua_pushcclosure(L, l_response_json, 1);
  lua_setfield(L, -2, "json");
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

void push_response(lua_State* co, int metatable_ref, const ResponseParts& p) {
  const std::size_t body_len = (!p.raw && p.body_kept) ? p.body.size() : 0;
  void* mem = lua_newuserdatauv(co, sizeof(ResponseHead) + p.head.size() + body_len, 2);
  ResponseHead h;
  h.intended_ns = p.intended_ns;
  h.sent_ns = p.sent_ns;
  h.done_ns = p.done_ns;
  h.phases = p.phases;
  h.status = p.status;
  h.error = p.error;
  h.body_bytes = p.body_bytes;  // raw: the captured body is added when parsed
  h.headers_len = static_cast<std::uint32_t>(p.head.size());
  h.body_len = static_cast<std::uint32_t>(body_len);
  h.body_kept = p.body_kept;
  h.body_truncated = p.body_truncated;
  h.raw = p.raw;
  h.head_request = p.head_request;
  std::memcpy(mem, &h, sizeof h);
  char* bytes = static_cast<char*>(mem) + sizeof h;
  if (!p.head.empty()) std::memcpy(bytes, p.head.data(), p.head.size());
  if (body_len > 0) std::memcpy(bytes + p.head.size(), p.body.data(), body_len);
  lua_rawgeti(co, LUA_REGISTRYINDEX, metatable_ref);
  lua_setmetatable(co, -2);
}

}  // namespace strain
