// CSV data files (data.csv): a table whose rows all have the header's width and whose column
// names are unique and non-empty, or a UsageError naming the file and line.
#include <cstdint>
#include <set>
#include <string>

#include "engine/core/error.hpp"
#include "engine/script/data_files.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 256 * 1024) return 0;
  try {
    const strain::script::CsvTable t =
        strain::script::parse_csv(strain::fuzz::text_of(data, size), "users.csv");
    FUZZ_CHECK(!t.columns.empty());
    std::set<std::string> names;
    for (const std::string& c : t.columns) {
      FUZZ_CHECK(!c.empty());
      FUZZ_CHECK(names.insert(c).second);
    }
    for (const auto& row : t.rows)
      FUZZ_CHECK(row.size() == t.columns.size());
  } catch (const strain::UsageError& e) {
    strain::fuzz::check_message(e.what());
    FUZZ_CHECK(std::string_view(e.what()).rfind("users.csv", 0) == 0);  // names the file
  }
  return 0;
}
