#include "engine/script/lua_json.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <lua.hpp>
#include <nlohmann/json.hpp>
#include <string>

using namespace strain::script;

namespace {

// A fresh state per test, with json.null reachable from Lua as it will be in scripts.
struct Lua {
  lua_State* L = luaL_newstate();
  Lua() {
    luaL_openlibs(L);
    lua_createtable(L, 0, 1);
    push_json_null(L);
    lua_setfield(L, -2, "null");
    lua_setglobal(L, "json");
  }
  ~Lua() { lua_close(L); }
  Lua(const Lua&) = delete;
  Lua& operator=(const Lua&) = delete;

  // Runs `chunk` and leaves its results on the stack.
  void run(const std::string& chunk) {
    if (luaL_dostring(L, chunk.c_str()) != LUA_OK) {
      FAIL_CHECK(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }

  // Decodes `text` into the global `doc`.
  void decode_global(std::string_view text) {
    std::string error;
    REQUIRE_MESSAGE(push_json(L, text, error), error);
    lua_setglobal(L, "doc");
  }

  // Encodes the value of the Lua expression `expr`; the stack is as it was afterwards.
  std::string encode(const std::string& expr) {
    const int top = lua_gettop(L);
    run("return " + expr);
    std::string out, error;
    CHECK_MESSAGE(encode_json(L, -1, out, error), error);
    lua_settop(L, top);
    return out;
  }

  // The error encoding `expr` (a chunk returning one value) reports; checks nothing leaks.
  std::string encode_error(const std::string& chunk) {
    run(chunk);
    const int top = lua_gettop(L);
    std::string out = "stale", error;
    CHECK_FALSE(encode_json(L, -1, out, error));
    CHECK(out.empty());
    CHECK(lua_gettop(L) == top);
    lua_pop(L, 1);
    return error;
  }

  // Decodes then encodes again.
  std::string round_trip(std::string_view text) {
    const int top = lua_gettop(L);
    std::string error, out;
    REQUIRE_MESSAGE(push_json(L, text, error), error);
    CHECK(lua_gettop(L) == top + 1);
    CHECK_MESSAGE(encode_json(L, -1, out, error), error);
    CHECK(lua_gettop(L) == top + 1);
    lua_settop(L, top);
    return out;
  }

  // The error decoding `text` reports; checks that nothing was pushed.
  std::string decode_error(std::string_view text) {
    const int top = lua_gettop(L);
    std::string error;
    CHECK_FALSE(push_json(L, text, error));
    CHECK(lua_gettop(L) == top);
    return error;
  }
};

}  // namespace

TEST_CASE("scalars decode to Lua booleans, strings, integers and floats") {
  Lua lua;
  lua.decode_global(R"({"t": true, "f": false, "s": "hi", "n": null, "i": 1, "x": 1.5,
                        "big": 1e300, "exact": 9007199254740993, "one": 1.0,
                        "min": -9223372036854775808, "max": 9223372036854775807,
                        "over": 9223372036854775808, "under": -9223372036854775809,
                        "tiny": 1e-400, "negzero": -0.0, "e": 25E-1})");
  lua.run(R"(
    assert(doc.t == true and doc.f == false and doc.s == "hi")
    assert(doc.n == json.null and doc.missing == nil)
    assert(math.type(doc.i) == "integer" and doc.i == 1)
    assert(math.type(doc.x) == "float" and doc.x == 1.5)
    assert(math.type(doc.big) == "float" and doc.big == 1e300)
    assert(math.type(doc.exact) == "integer" and doc.exact == (1 << 53) + 1)
    assert(math.type(doc.one) == "float" and doc.one == 1)
    assert(doc.min == math.mininteger and doc.max == math.maxinteger)
    assert(math.type(doc.over) == "float" and doc.over == 2.0^63)
    assert(math.type(doc.under) == "float" and doc.under == -(2.0^63))
    assert(math.type(doc.tiny) == "float" and doc.tiny == 0)
    assert(math.type(doc.negzero) == "float" and 1 / doc.negzero == -math.huge)
    assert(doc.e == 2.5)
  )");
  std::string error;
  const int top = lua_gettop(lua.L);
  REQUIRE(push_json(lua.L, " null ", error));
  CHECK(is_json_null(lua.L, -1));
  CHECK_FALSE(is_json_null(lua.L, top));
  lua_pushlightuserdata(lua.L, &error);
  CHECK_FALSE(is_json_null(lua.L, -1));
  lua_settop(lua.L, top);
}

TEST_CASE("decoded documents read naturally from Lua") {
  Lua lua;
  lua.decode_global(R"({
    "user": {"name": "ann", "tags": ["a", "b"], "id": 7},
    "items": [{"sku": "x1", "qty": 2}, {"sku": "y2", "qty": 0}],
    "1": "string key"
  })");
  lua.run(R"(
    assert(doc.user.name == "ann" and doc.user.id == 7)
    assert(#doc.user.tags == 2 and doc.user.tags[1] == "a" and doc.user.tags[2] == "b")
    local total = 0
    for _, item in ipairs(doc.items) do total = total + item.qty end
    assert(total == 2 and doc.items[2].sku == "y2")
    assert(doc["1"] == "string key" and doc[1] == nil)
  )");
}

TEST_CASE("null keeps its position in arrays and its key in objects") {
  Lua lua;
  lua.decode_global(R"([1, null, 3, null])");
  lua.run(R"(
    assert(#doc == 4 and doc[2] == json.null and doc[4] == json.null and doc[3] == 3)
  )");
  CHECK(lua.encode("doc") == "[1,null,3,null]");
  CHECK(lua.round_trip(R"({"a":null})") == R"({"a":null})");
  CHECK(lua.encode("{1, json.null, 3}") == "[1,null,3]");
}

TEST_CASE("documents round-trip to compact JSON with sorted keys") {
  Lua lua;
  for (const char* text : {
           R"({"a":1,"b":[1,2,{"c":null}],"d":"x"})",
           R"([[],{},[[]],{"k":{}}])",
           R"([true,false,null,0,-1,1.5,-0.0,2.0,1e+300,1e-300])",
           R"([-9223372036854775808,9223372036854775807,9007199254740993])",
           R"({"":"empty key","a b":"spaced"})",
           R"("\"quoted\\ and \/ slash\n")",
       }) {
    CAPTURE(text);
    const std::string once = lua.round_trip(text);
    CHECK(nlohmann::json::parse(once) == nlohmann::json::parse(text));
    CHECK(lua.round_trip(once) == once);
  }
  CHECK(lua.round_trip(" { \"b\" : 1 ,\n\t\"a\" : [ 1 , 2 ] }\r\n") == R"({"a":[1,2],"b":1})");
  CHECK(lua.round_trip(R"({"z":1,"y":2,"x":{"b":1,"a":2}})") ==
        R"({"x":{"a":2,"b":1},"y":2,"z":1})");
  CHECK(lua.round_trip("[]") == "[]");
  CHECK(lua.round_trip("{}") == "{}");
  CHECK(lua.round_trip("[1.5,2.0,-0.0]") == "[1.5,2.0,-0.0]");
}

TEST_CASE("unicode escapes decode to UTF-8, surrogate pairs to one code point") {
  Lua lua;
  lua.decode_global(R"(["\u0041", "\u00e9", "\u20ac", "\ud83d\ude00", "\uD83D\uDE00", "\u0000",
                       "caf\u00e9 \ud83d\ude00!", "raw é €"])");
  lua.run(R"(
    assert(doc[1] == "A")
    assert(doc[2] == "\xC3\xA9")
    assert(doc[3] == "\xE2\x82\xAC")
    assert(doc[4] == "\xF0\x9F\x98\x80" and #doc[4] == 4)
    assert(doc[5] == doc[4])
    assert(doc[6] == "\0" and #doc[6] == 1)
    assert(doc[7] == "caf\xC3\xA9 \xF0\x9F\x98\x80!")
    assert(doc[8] == "raw \xC3\xA9 \xE2\x82\xAC")
  )");
  // Output keeps UTF-8 as is; only control characters are escaped.
  CHECK(lua.encode("doc") ==
        "[\"A\",\"\xC3\xA9\",\"\xE2\x82\xAC\",\"\xF0\x9F\x98\x80\",\"\xF0\x9F\x98\x80\","
        "\"\\u0000\",\"caf\xC3\xA9 \xF0\x9F\x98\x80!\",\"raw \xC3\xA9 \xE2\x82\xAC\"]");
}

TEST_CASE("integers and floats keep their Lua subtype and exact value through encode") {
  Lua lua;
  CHECK(lua.encode("1") == "1");
  CHECK(lua.encode("-42") == "-42");
  CHECK(lua.encode("math.maxinteger") == "9223372036854775807");
  CHECK(lua.encode("math.mininteger") == "-9223372036854775808");
  CHECK(lua.encode("(1 << 53) + 1") == "9007199254740993");
  CHECK(lua.encode("2.0") == "2.0");
  CHECK(lua.encode("-0.0") == "-0.0");
  CHECK(lua.encode("1.5") == "1.5");
  CHECK(lua.encode("0.1") == "0.1");
  CHECK(lua.encode("1e300") == "1e+300");
  CHECK(lua.encode("2^63") == "9223372036854775808.0");

  // Shortest digits still read back to the same double, by an independent parser and by ours.
  for (double value : {1.0 / 3, 0.1 + 0.2, 5e-324, 1.7976931348623157e308, -123456.789e-20,
                       std::ldexp(1.0, 60), 1e21, 1e22}) {
    CAPTURE(value);
    lua_pushnumber(lua.L, value);
    std::string out, error;
    REQUIRE(encode_json(lua.L, -1, out, error));
    lua_pop(lua.L, 1);
    CHECK(nlohmann::json::parse(out).get<double>() == value);
    REQUIRE(push_json(lua.L, out, error));
    CHECK_FALSE(lua_isinteger(lua.L, -1));
    CHECK(lua_tonumber(lua.L, -1) == value);
    lua_pop(lua.L, 1);
  }
}

TEST_CASE("tables: sequences become arrays, the rest objects with sorted string keys") {
  Lua lua;
  CHECK(lua.encode("{}") == "{}");
  CHECK(lua.encode("setmetatable({}, {__jsontype = 'array'})") == "[]");
  CHECK(lua.encode("setmetatable({1, 2}, {__jsontype = 'array'})") == "[1,2]");
  CHECK(lua.encode("{1, 2, 3}") == "[1,2,3]");
  CHECK(lua.encode("{[1] = 'a', [3] = 'c'}") == R"({"1":"a","3":"c"})");
  CHECK(lua.encode("{1, 2, x = 3}") == R"({"1":1,"2":2,"x":3})");
  CHECK(lua.encode("{[-1] = 0, [0] = 1}") == R"({"-1":0,"0":1})");
  CHECK(lua.encode("{b = 1, a = 2, c = 3, B = 4}") == R"({"B":4,"a":2,"b":1,"c":3})");
  CHECK(lua.encode("nil") == "null");
  CHECK(lua.encode("json.null") == "null");
  CHECK(lua.encode("{true, false, 'x'}") == R"([true,false,"x"])");
  // A table reached twice without a cycle is written twice.
  CHECK(lua.encode("(function() local s = {1} return {a = s, b = {s}} end)()") ==
        R"({"a":[1],"b":[[1]]})");
  // Decoded arrays stay arrays after a script empties or extends them.
  lua.decode_global("[1]");
  lua.run("doc[1] = nil");
  CHECK(lua.encode("doc") == "[]");
  lua.run("doc[1] = 'a'; doc[2] = 'b'");
  CHECK(lua.encode("doc") == R"(["a","b"])");
}

TEST_CASE("strings are escaped per RFC 8259 and read back identically") {
  Lua lua;
  CHECK(lua.encode(R"("a\"b\\c/d\n\t\r\b\f\1\31\127")") == R"("a\"b\\c/d\n\t\r\b\f\u0001\u001f)"
                                                           "\x7f\"");
  std::string every_byte;
  for (int c = 0; c < 128; ++c)
    every_byte += static_cast<char>(c);
  every_byte += "\xC3\xA9\xF0\x9F\x98\x80";
  lua_pushlstring(lua.L, every_byte.data(), every_byte.size());
  std::string out, error;
  REQUIRE(encode_json(lua.L, -1, out, error));
  lua_pop(lua.L, 1);
  CHECK(nlohmann::json::parse(out).get<std::string>() == every_byte);
  for (char c : out)
    CHECK(static_cast<unsigned char>(c) >= 0x20);
  REQUIRE(push_json(lua.L, out, error));
  std::size_t size = 0;
  const char* back = lua_tolstring(lua.L, -1, &size);
  CHECK(std::string(back, size) == every_byte);
  lua_pop(lua.L, 1);
}

TEST_CASE("decode errors name line and column and push nothing") {
  Lua lua;
  lua_pushinteger(lua.L, 99);  // something below, which must stay untouched
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"", "line 1, column 1: unexpected end of input, expected a JSON value"},
      {"   ", "line 1, column 4: unexpected end of input, expected a JSON value"},
      {"{\n  \"a\": 1\n  \"b\": 2}", "line 3, column 3: expected ',' or '}'"},
      {"[1,]", "line 1, column 4: expected a JSON value"},
      {"[1 2]", "line 1, column 4: expected ',' or ']'"},
      {"[1", "line 1, column 3: expected ',' or ']'"},
      {"{\"a\":1", "line 1, column 7: expected ',' or '}'"},
      {"{1:2}", "line 1, column 2: expected a string key"},
      {"{\"a\":1,}", "line 1, column 8: expected a string key"},
      {"{\"a\" 1}", "line 1, column 6: expected ':'"},
      {"[\"abc", "line 1, column 2: unterminated string"},
      {"\"abc\\", "line 1, column 1: unterminated string"},
      {"\"a\x01\"", "line 1, column 3: control character in string (must be escaped)"},
      {"\"a\nb\"", "line 1, column 3: control character in string (must be escaped)"},
      {"\"\\x\"", "line 1, column 2: invalid escape in string"},
      {"\"\\u12\"", "line 1, column 4: invalid \\u escape: expected 4 hex digits"},
      {"\"\\u12g4\"", "line 1, column 6: invalid \\u escape: expected 4 hex digits"},
      {"\"\\ud83d\"", "line 1, column 2: invalid \\u escape: unpaired high surrogate"},
      {"\"\\ud83d\\u0041\"", "line 1, column 2: invalid \\u escape: unpaired high surrogate"},
      {"\"\\ude00\"", "line 1, column 2: invalid \\u escape: unpaired low surrogate"},
      {"\"\xff\"", "line 1, column 2: invalid UTF-8 in string"},
      {"\"\xc0\xaf\"", "line 1, column 2: invalid UTF-8 in string"},          // overlong '/'
      {"\"\xed\xa0\x80\"", "line 1, column 2: invalid UTF-8 in string"},      // surrogate
      {"\"\xf4\x90\x80\x80\"", "line 1, column 2: invalid UTF-8 in string"},  // > U+10FFFF
      {"\"\xe2\x82\"", "line 1, column 2: invalid UTF-8 in string"},          // truncated
      {"01", "line 1, column 1: invalid number: leading zero"},
      {"-", "line 1, column 1: invalid number"},
      {"-a", "line 1, column 1: invalid number"},
      {"1.", "line 1, column 3: invalid number: digit expected"},
      {"1.e5", "line 1, column 3: invalid number: digit expected"},
      {"1e", "line 1, column 3: invalid number: digit expected"},
      {"1e+", "line 1, column 4: invalid number: digit expected"},
      {"+1", "line 1, column 1: expected a JSON value"},
      {".5", "line 1, column 1: expected a JSON value"},
      {"1e400", "line 1, column 1: number out of range"},
      {"-1e400", "line 1, column 1: number out of range"},
      {"[1, 123456789e305]", "line 1, column 5: number out of range"},
      {"tru", "line 1, column 1: expected a JSON value"},
      {"nul", "line 1, column 1: expected a JSON value"},
      {"NaN", "line 1, column 1: expected a JSON value"},
      {"'a'", "line 1, column 1: expected a JSON value"},
      {"1 2", "line 1, column 3: unexpected content after the JSON value"},
      {"{} x", "line 1, column 4: unexpected content after the JSON value"},
      {"truex", "line 1, column 5: unexpected content after the JSON value"},
      {std::string_view("1\0", 2), "line 1, column 2: unexpected content after the JSON value"},
  };
  for (const auto& [text, expected] : cases) {
    CAPTURE(text);
    CHECK(lua.decode_error(text) == expected);
  }
  CHECK(lua_tointeger(lua.L, -1) == 99);
}

TEST_CASE("nesting is limited to 64 levels in both directions") {
  Lua lua;
  const auto nested = [](int levels) {
    return std::string(static_cast<std::size_t>(levels), '[') +
           std::string(static_cast<std::size_t>(levels), ']');
  };
  CHECK(lua.round_trip(nested(64)) == nested(64));
  CHECK(lua.decode_error(nested(65)) == "line 1, column 65: nesting deeper than 64 levels");
  CHECK(lua.decode_error(std::string(100000, '[')) ==
        "line 1, column 65: nesting deeper than 64 levels");
  CHECK(lua.decode_error(std::string(64, '[') + R"({"a":1})" + std::string(64, ']')) ==
        "line 1, column 65: nesting deeper than 64 levels");

  const auto lua_nested = [](int levels) {
    return "local t = {} for _ = 2, " + std::to_string(levels) + " do t = {t} end return t";
  };
  lua.run(lua_nested(64));
  std::string out, error;
  CHECK(encode_json(lua.L, -1, out, error));
  CHECK(out == std::string(63, '[') + "{}" + std::string(63, ']'));
  lua_pop(lua.L, 1);
  CHECK(lua.encode_error(lua_nested(65)) ==
        "cannot encode tables nested deeper than 64 levels at value" + [] {
          std::string path;
          for (int i = 0; i < 64; ++i)
            path += "[1]";
          return path;
        }());
}

TEST_CASE("encode errors name the path and leave the stack and output untouched") {
  Lua lua;
  CHECK(lua.encode_error("return {items = {1, 2, {cb = function() end}}}") ==
        "cannot encode a function at value.items[3].cb");
  CHECK(lua.encode_error("return print") == "cannot encode a function at value");
  CHECK(lua.encode_error("return {x = 0/0}") == "cannot encode NaN at value.x");
  CHECK(lua.encode_error("return {1, math.huge}") ==
        "cannot encode an infinite number at value[2]");
  CHECK(lua.encode_error("return {-math.huge}") == "cannot encode an infinite number at value[1]");
  CHECK(lua.encode_error("local t = {a = {}} t.a.back = t return t") ==
        "cannot encode a table that contains itself at value.a.back");
  CHECK(lua.encode_error("local t = {} t[1] = t return t") ==
        "cannot encode a table that contains itself at value[1]");
  CHECK(lua.encode_error("return {co = coroutine.create(print)}") ==
        "cannot encode a thread at value.co");
  CHECK(lua.encode_error("return {f = io.stdout}") == "cannot encode a userdata at value.f");
  CHECK(lua.encode_error("return {[true] = 1}") ==
        "cannot encode a table key of type boolean at value");
  CHECK(lua.encode_error("return {a = {[1.5] = 1}}") ==
        "cannot encode a table key of type number (not an integer) at value.a");
  CHECK(lua.encode_error("return {['a b'] = {['x\"y'] = {f = print}}}") ==
        R"(cannot encode a function at value["a b"]["x\"y"].f)");
  CHECK(lua.encode_error("return {[10] = {}, x = {[2] = print}}") ==
        "cannot encode a function at value.x[2]");
  CHECK(lua.encode_error("return {'ok', '\\xff'}") ==
        "cannot encode a string that is not valid UTF-8 at value[2]");
  CHECK(lua.encode_error("return {['\\xff'] = 1}") ==
        "cannot encode a table key that is not valid UTF-8 at value");
  CHECK(lua.encode_error("return {[1] = 'a', ['1'] = 'b'}") ==
        R"(cannot encode a table with both the integer key 1 and the string key "1" at value)");
  CHECK(lua.encode_error("return setmetatable({x = 1}, {__jsontype = 'array'})") ==
        R"(cannot encode a table marked __jsontype="array" whose keys are not 1..n at value)");

  int dummy = 0;
  lua_pushlightuserdata(lua.L, &dummy);
  std::string out, error;
  CHECK_FALSE(encode_json(lua.L, -1, out, error));
  CHECK(error == "cannot encode a light userdata at value");
  lua_pop(lua.L, 1);
}

TEST_CASE("encode reads any stack index and leaves the stack as it was") {
  Lua lua;
  lua.run("return {a = 1}, 'second', 3");
  REQUIRE(lua_gettop(lua.L) == 3);
  std::string out, error;
  CHECK(encode_json(lua.L, 1, out, error));
  CHECK(out == R"({"a":1})");
  CHECK(encode_json(lua.L, -2, out, error));
  CHECK(out == R"("second")");
  CHECK(encode_json(lua.L, -1, out, error));
  CHECK(out == "3");
  CHECK(lua_gettop(lua.L) == 3);
  CHECK(lua_isinteger(lua.L, 3));
}

TEST_CASE("a failing encode after a successful one clears the output") {
  Lua lua;
  std::string out, error;
  lua_pushinteger(lua.L, 5);
  CHECK(encode_json(lua.L, -1, out, error));
  CHECK(out == "5");
  lua.run("return {1, 2, print}");
  CHECK_FALSE(encode_json(lua.L, -1, out, error));
  CHECK(out.empty());
  CHECK(error == "cannot encode a function at value[3]");
}

namespace {

// Lets a test make the n-th allocation from now fail, to reach Lua's memory errors.
struct FailingAllocator {
  long allocations_left = -1;  // negative: never fail

  static void* allocate(void* self, void* block, std::size_t, std::size_t size) {
    auto& allocator = *static_cast<FailingAllocator*>(self);
    if (size == 0) {
      std::free(block);
      return nullptr;
    }
    if (allocator.allocations_left == 0) return nullptr;
    if (allocator.allocations_left > 0) --allocator.allocations_left;
    return std::realloc(block, size);
  }
};

}  // namespace

TEST_CASE("running out of Lua memory is an error value, never a crash or a leak") {
  FailingAllocator allocator;
  lua_State* L = lua_newstate(&FailingAllocator::allocate, &allocator);
  luaL_openlibs(L);
  const std::string text =
      R"({"name": "a long enough string to need its own allocation, not a short one",)"
      R"( "a key longer than forty bytes, which Lua copies anew": 1,)"
      R"( "list": [1, 2.5, "x\u00e9\ud83d\ude00", [], {"deep": [null, true]}], "k2": {}})";
  std::string error;
  bool decoded = false;
  for (long budget = 0; !decoded; ++budget) {
    CAPTURE(budget);
    const int top = lua_gettop(L);
    allocator.allocations_left = budget;
    decoded = push_json(L, text, error);
    allocator.allocations_left = -1;
    if (!decoded) {
      CHECK(error == "out of memory");
      CHECK(lua_gettop(L) == top);
    }
  }
  lua_setglobal(L, "doc");

  bool encoded = false;
  std::string out;
  for (long budget = 0; !encoded; ++budget) {
    CAPTURE(budget);
    lua_getglobal(L, "doc");
    const int top = lua_gettop(L);
    allocator.allocations_left = budget;
    encoded = encode_json(L, -1, out, error);
    allocator.allocations_left = -1;
    if (!encoded) {
      CHECK(error == "out of memory");
      CHECK(out.empty());
    }
    CHECK(lua_gettop(L) == top);
    lua_pop(L, 1);
  }
  CHECK(nlohmann::json::parse(out) == nlohmann::json::parse(text));
  CHECK(luaL_dostring(L, "assert(doc.list[5].deep[2] == true)") == LUA_OK);
  lua_close(L);
}
