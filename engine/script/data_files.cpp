#include "engine/script/data_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <lua.hpp>
#include <system_error>
#include <unordered_set>

#include "engine/core/error.hpp"
#include "engine/core/read_file.hpp"

namespace strain::script {
namespace {

[[noreturn]] void fail_at(std::string_view source, std::size_t line, const std::string& what) {
  throw UsageError(std::string(source) + ':' + std::to_string(line) + ": " + what);
}

// A lone CR is data; CR counts as a line end only before LF or at the end of the input.
std::size_t line_end_size(std::string_view text, std::size_t i) {
  if (i >= text.size()) return 0;
  if (text[i] == '\n') return 1;
  if (text[i] == '\r') {
    if (i + 1 == text.size()) return 1;
    if (text[i + 1] == '\n') return 2;
  }
  return 0;
}

void check_header(const std::vector<std::string>& columns, std::string_view source,
                  std::size_t line) {
  std::unordered_set<std::string_view> seen;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].empty()) {
      fail_at(source, line, "header column " + std::to_string(i + 1) + " has an empty name");
    }
    if (!seen.insert(columns[i]).second) {
      fail_at(source, line, "header names column \"" + columns[i] + "\" twice");
    }
  }
}

// Plain data: a Lua memory error longjmps through push_protected, so nothing here owns memory.
struct CsvPush {
  const CsvTable* table;
  bool ok;
};

int push_protected(lua_State* L) {
  auto& push = *static_cast<CsvPush*>(lua_touserdata(L, 1));
  const CsvTable& table = *push.table;
  const auto hint = [](std::size_t n) {
    return static_cast<int>(std::min<std::size_t>(n, INT_MAX));
  };
  lua_createtable(L, hint(table.rows.size()), 0);
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const std::vector<std::string>& row = table.rows[r];
    lua_createtable(L, 0, hint(table.columns.size()));
    for (std::size_t c = 0; c < table.columns.size() && c < row.size(); ++c) {
      lua_pushlstring(L, table.columns[c].data(), table.columns[c].size());
      lua_pushlstring(L, row[c].data(), row[c].size());
      lua_rawset(L, -3);
    }
    lua_rawseti(L, -2, static_cast<lua_Integer>(r + 1));
  }
  push.ok = true;
  return 1;
}

}  // namespace

CsvTable parse_csv(std::string_view text, std::string_view source) {
  CsvTable table;
  bool have_header = false;
  std::size_t i = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  std::size_t line = 1;
  std::vector<std::string> row;
  while (i < text.size()) {
    if (const std::size_t blank = line_end_size(text, i); blank != 0) {
      i += blank;
      ++line;
      continue;
    }
    const std::size_t row_line = line;
    row.clear();
    while (true) {
      std::string field;
      if (i < text.size() && text[i] == '"') {
        const std::size_t quote_line = line;
        ++i;
        while (true) {
          if (i >= text.size()) fail_at(source, quote_line, "unterminated quoted field");
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        if (i < text.size() && text[i] != ',' && line_end_size(text, i) == 0) {
          fail_at(source, line, "unexpected character after a closing quote");
        }
      } else {
        const std::size_t start = i;
        while (i < text.size() && text[i] != ',' && line_end_size(text, i) == 0) {
          if (text[i] == '"') fail_at(source, line, "quote inside an unquoted field");
          ++i;
        }
        field.assign(text.substr(start, i - start));
      }
      row.push_back(std::move(field));
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      if (const std::size_t end = line_end_size(text, i); end != 0) {
        i += end;
        ++line;
      }
      break;
    }
    if (!have_header) {
      check_header(row, source, row_line);
      table.columns = std::move(row);
      row = {};
      have_header = true;
    } else if (row.size() != table.columns.size()) {
      fail_at(source, row_line,
              "expected " + std::to_string(table.columns.size()) +
                  " fields as in the header, found " + std::to_string(row.size()));
    } else {
      table.rows.push_back(std::move(row));
      row = {};
    }
  }
  if (!have_header) fail_at(source, 1, "no header row (the file is empty)");
  return table;
}

std::string read_data_file(const std::string& path, std::uint64_t max_bytes) {
  return read_regular_file(path, max_bytes);
}

bool push_csv(lua_State* L, const CsvTable& table, std::string& error) noexcept {
  CsvPush push{&table, false};
  if (!lua_checkstack(L, 3)) {
    error.assign("out of stack");  // short enough not to allocate
    return false;
  }
  lua_pushcfunction(L, push_protected);
  lua_pushlightuserdata(L, &push);
  const int status = lua_pcall(L, 1, 1, 0);
  if (status == LUA_OK && push.ok) return true;
  // The only errors raised in push_protected are memory errors; the message is preallocated.
  lua_pop(L, 1);
  error.assign("out of memory");  // short enough not to allocate
  return false;
}

}  // namespace strain::script
