// Saved results (strain report, compare, merge read them): a RunResult, or a strain::Error
// naming what is wrong. A result that parses writes out and reads back to the same text.
#include <cstdint>
#include <string>

#include "engine/core/error.hpp"
#include "engine/results/json.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 1024 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const strain::RunResult r = strain::run_result_from_json(text);
    const std::string once = strain::to_json(r, -1);
    const std::string twice = strain::to_json(strain::run_result_from_json(once), -1);
    FUZZ_CHECK(once == twice);
  } catch (const strain::Error& e) {
    strain::fuzz::check_message(e.what());
  }
  return 0;
}
