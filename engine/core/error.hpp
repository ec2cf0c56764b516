// Start-up errors: one base type the CLI catches once and maps to an exit code.
#pragma once

#include <stdexcept>
#include <string>

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

// Base of every start-up error. what() is one line a user can act on.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ExitCode code = ExitCode::run_failed)
      : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

// Bad options, URL, duration, size, or script: exit 2, and no traffic was sent.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message, ExitCode::bad_usage) {}
};

}  // namespace strain
