// What every fuzz target shares: a check that aborts with a message (libFuzzer then keeps the
// input as a crash), and the rule that a strain::Error is an answer, not a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

namespace strain::fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A refusal must say something, on one line (a user reads it after "strain: ").
inline void check_message(const char* what) {
  const std::string_view m(what);
  FUZZ_CHECK(!m.empty());
  FUZZ_CHECK(m.find('\n') == std::string_view::npos);
}

}  // namespace strain::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
