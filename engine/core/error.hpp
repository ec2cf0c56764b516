// Start-up errors: one base type the CLI catches once and maps to an exit code.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace strain {

// Process exit codes (DESIGN.md §9). Stable: scripts and CI jobs depend on them.
enum class ExitCode : int {
  passed = 0,
  run_failed = 1,
  bad_usage = 2,
  thresholds_failed = 3,
  generator_bound = 4,
  interrupted = 130,
};

// Text as it can appear inside a one-line message: control bytes (a newline, a NUL, an
// escape sequence a user's input carried) written as \xNN; other bytes as they are.
std::string printable(std::string_view text);

// The message on one line: lines joined with "; " (their indentation dropped), tabs as
// spaces, other control bytes as printable() writes them.
std::string one_line(std::string_view message);

// Base of every start-up error. what() is one line a user can act on: the constructor keeps
// it so (one_line), whatever user text or library message it quotes.
class Error : public std::runtime_error {
 public:
  explicit Error(std::string_view message, ExitCode code = ExitCode::run_failed);
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

// Bad options, URL, duration, size, or script: exit 2, and no traffic was sent.
class UsageError : public Error {
 public:
  explicit UsageError(std::string_view message) : Error(message, ExitCode::bad_usage) {}
};

}  // namespace strain
