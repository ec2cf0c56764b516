#include "engine/script/data_files.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <lua.hpp>
#include <string>

#include "engine/core/error.hpp"

using namespace strain;
using namespace strain::script;

namespace {

using Rows = std::vector<std::vector<std::string>>;

// The UsageError message parse_csv throws for `text`, or "" when it accepts it.
std::string csv_error(std::string_view text) {
  try {
    (void)parse_csv(text, "data.csv");
  } catch (const UsageError& e) {
    CHECK(e.code() == ExitCode::bad_usage);
    return e.what();
  }
  return "";
}

std::string read_error(const std::string& path, std::uint64_t max_bytes) {
  try {
    (void)read_data_file(path, max_bytes);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

// A fresh directory per test, removed afterwards.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "strain-data-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, std::string_view bytes) const {
    const std::string file = (path / name).string();
    std::ofstream(file, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return file;
  }
};

}  // namespace

TEST_CASE("csv: header and rows, LF or CRLF, final line end optional") {
  const Rows expected = {{"1", "ann", "x"}, {"2", "bob", ""}};
  for (std::string_view text : {
           "id,name,note\n1,ann,x\n2,bob,\n",
           "id,name,note\r\n1,ann,x\r\n2,bob,\r\n",
           "id,name,note\n1,ann,x\n2,bob,",
           "id,name,note\r\n1,ann,x\n2,bob,\r",
       }) {
    CAPTURE(text);
    const CsvTable table = parse_csv(text, "data.csv");
    CHECK(table.columns == std::vector<std::string>{"id", "name", "note"});
    CHECK(table.rows == expected);
  }
}

TEST_CASE("csv: a UTF-8 BOM is skipped and blank lines are ignored") {
  const CsvTable table = parse_csv("\xEF\xBB\xBF\n\nuser,pass\r\n\r\na,1\n\n\nb,2\n\n", "d.csv");
  CHECK(table.columns == std::vector<std::string>{"user", "pass"});
  CHECK(table.rows == Rows{{"a", "1"}, {"b", "2"}});
  // Only at the very start: a BOM later is data.
  CHECK(parse_csv("h\n\xEF\xBB\xBFx\n", "d.csv").rows == Rows{{"\xEF\xBB\xBFx"}});
}

TEST_CASE("csv: quoted fields hold commas, quotes, line ends and nothing at all") {
  const CsvTable table = parse_csv(
      "\"na,me\",\"say \"\"hi\"\"\",plain\n"
      "\"a,b\",\"\"\"\",\"\"\n"
      "\"line1\nline2\",\"crlf\r\nkept\",x\n"
      "\"\",,\n",
      "d.csv");
  CHECK(table.columns == std::vector<std::string>{"na,me", "say \"hi\"", "plain"});
  CHECK(table.rows == Rows{{"a,b", "\"", ""}, {"line1\nline2", "crlf\r\nkept", "x"}, {"", "", ""}});
  // Spaces are data, as is a lone CR inside a line.
  CHECK(parse_csv("a,b\n x , y\r z\n", "d.csv").rows == Rows{{" x ", " y\r z"}});
  CHECK(parse_csv("only\nvalue", "d.csv").rows == Rows{{"value"}});
}

TEST_CASE("csv: errors name the source and the line") {
  CHECK(csv_error("") == "data.csv:1: no header row (the file is empty)");
  CHECK(csv_error("\xEF\xBB\xBF\r\n\n") == "data.csv:1: no header row (the file is empty)");
  CHECK(csv_error("a,,c\n") == "data.csv:1: header column 2 has an empty name");
  CHECK(csv_error("\n\"\"\n") == "data.csv:2: header column 1 has an empty name");
  CHECK(csv_error("a,b,a\n") == "data.csv:1: header names column \"a\" twice");
  CHECK(csv_error("a,b\n1,2\n1,2,3\n") ==
        "data.csv:3: expected 2 fields as in the header, found 3");
  CHECK(csv_error("a,b\n1,2\n\n1\n") == "data.csv:4: expected 2 fields as in the header, found 1");
  CHECK(csv_error("a,b\n1,2,\n") == "data.csv:2: expected 2 fields as in the header, found 3");
  // Lines inside a quoted field count, and a row is reported where it starts.
  CHECK(csv_error("a,b\n\"x\ny\nz\",1\n1,2,3\n") ==
        "data.csv:5: expected 2 fields as in the header, found 3");
  CHECK(csv_error("a,b\n1,\"x\ny\",3\n") ==
        "data.csv:2: expected 2 fields as in the header, found 3");
  // An unterminated quote is reported where it opened, not at the end of the file.
  CHECK(csv_error("a,b\n1,\"abc\n2,3\n4,5\n") == "data.csv:2: unterminated quoted field");
  CHECK(csv_error("a,b\r\n1,2\r\n\"") == "data.csv:3: unterminated quoted field");
  CHECK(csv_error("a,b\n1,ab\"c\n") == "data.csv:2: quote inside an unquoted field");
  CHECK(csv_error("a,b\n1,2\nx \"y\",2\n") == "data.csv:3: quote inside an unquoted field");
  CHECK(csv_error("a,b\n\"x\"y,2\n") == "data.csv:2: unexpected character after a closing quote");
  CHECK(csv_error("a,b\n\"x\ny\" ,2\n") ==
        "data.csv:3: unexpected character after a closing quote");
  CHECK(csv_error("a,b\n1,2\n") == "");
}

TEST_CASE("read_data_file: whole regular files up to the limit") {
  const TempDir dir;
  const std::string bytes("a,b\r\n1,\0x\n\xff", 11);
  const std::string file = dir.write("data.csv", bytes);
  CHECK(read_data_file(file, 1 << 20) == bytes);
  CHECK(read_data_file(file, bytes.size()) == bytes);
  CHECK(read_error(file, bytes.size() - 1) == file + ": 11 bytes, more than the limit of 10 bytes");
  CHECK(read_data_file(dir.write("empty.csv", ""), 0).empty());

  const std::string big(300000, 'x');
  CHECK(read_data_file(dir.write("big.txt", big), big.size()) == big);

  const TempDir other;
  const std::string users = other.write("users.csv", "user,pass\nann,secret\n\"b,ob\",pw\n");
  const CsvTable table = parse_csv(read_data_file(users, 4096), users);
  CHECK(table.rows == Rows{{"ann", "secret"}, {"b,ob", "pw"}});
}

TEST_CASE("read_data_file: missing files, directories, devices and FIFOs are rejected at once") {
  const TempDir dir;
  const std::string missing = (dir.path / "missing.csv").string();
  CHECK(read_error(missing, 100) == missing + ": cannot open: No such file or directory");
  CHECK(read_error(dir.path.string(), 100) == dir.path.string() + ": not a regular file");
  CHECK(read_error("/dev/zero", 100) == "/dev/zero: not a regular file");
  CHECK(read_error("/dev/null", 100) == "/dev/null: not a regular file");
  const std::string fifo = (dir.path / "fifo").string();
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(read_error(fifo, 100) == fifo + ": not a regular file");  // a blocking open would hang
  CHECK(read_error("", 100) == ": cannot open: No such file or directory");
}

TEST_CASE("push_csv: rows read from Lua as tables keyed by column name") {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  const CsvTable table =
      parse_csv("user,pass,note\nann,secret,\n\"b,ob\",pw,\"multi\nline\"\n", "u");
  std::string error;
  lua_pushinteger(L, 7);
  REQUIRE(push_csv(L, table, error));
  CHECK(lua_gettop(L) == 2);
  lua_setglobal(L, "rows");
  const char* check = R"(
    assert(#rows == 2)
    assert(rows[1].user == "ann" and rows[1].pass == "secret" and rows[1].note == "")
    assert(rows[2].user == "b,ob" and rows[2].note == "multi\nline")
    assert(math.type(rows[1].pass) == nil and type(rows[1].pass) == "string")
    local n = 0
    for _ in pairs(rows[2]) do n = n + 1 end
    assert(n == 3)
  )";
  if (luaL_dostring(L, check) != LUA_OK) FAIL(lua_tostring(L, -1));
  CHECK(lua_tointeger(L, -1) == 7);

  REQUIRE(push_csv(L, parse_csv("only_header\n", "h"), error));
  CHECK(lua_rawlen(L, -1) == 0);
  lua_close(L);
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

TEST_CASE("push_csv: running out of Lua memory is an error value with nothing pushed") {
  FailingAllocator allocator;
  lua_State* L = lua_newstate(&FailingAllocator::allocate, &allocator);
  luaL_openlibs(L);
  const CsvTable table = parse_csv(
      "name,comment\nann,a comment long enough to need an allocation of its own\nbob,b\n", "m");
  std::string error;
  bool pushed = false;
  for (long budget = 0; !pushed; ++budget) {
    CAPTURE(budget);
    const int top = lua_gettop(L);
    allocator.allocations_left = budget;
    pushed = push_csv(L, table, error);
    allocator.allocations_left = -1;
    if (!pushed) {
      CHECK(error == "out of memory");
      CHECK(lua_gettop(L) == top);
    }
  }
  lua_setglobal(L, "rows");
  CHECK(luaL_dostring(L, "assert(#rows == 2 and rows[2].name == 'bob')") == LUA_OK);
  lua_close(L);
}
