// Read-only data files for scripts: bounded whole-file reads and RFC 4180 CSV, parsed once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct lua_State;

namespace strain::script {

// A CSV file parsed once: the header row's names and the data rows.
struct CsvTable {
  std::vector<std::string> columns;            // header names, in file order, unique, non-empty
  std::vector<std::vector<std::string>> rows;  // data rows, each exactly columns.size() wide
};

// RFC 4180 with LF or CRLF line ends, a leading UTF-8 BOM skipped and empty lines skipped; the
// first row is the header. Throws UsageError "<source>:<line>: <what>" on malformed input.
CsvTable parse_csv(std::string_view text, std::string_view source);

// Reads a whole regular file of at most max_bytes without blocking on FIFOs or devices.
// Throws UsageError "<path>: <reason>" when missing, not a regular file, unreadable or too big.
std::string read_data_file(const std::string& path, std::uint64_t max_bytes);

// Pushes a sequence of rows, each a table keyed by column name with string values. Returns
// false with `error` set and nothing pushed when Lua runs out of memory or stack; never throws.
bool push_csv(lua_State* L, const CsvTable& table, std::string& error) noexcept;

}  // namespace strain::script
