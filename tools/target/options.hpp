// strain-target's command line: flags into one validated TargetOptions.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "tools/target/behaviour.hpp"

namespace strain::target {

struct TargetOptions {
  std::string host = "127.0.0.1";  // loopback address to listen on
  std::uint16_t port = 8080;       // 0: an ephemeral port
  unsigned threads = 1;            // workers, each with its own io_context
  Behaviour defaults;              // per-request behaviour without a query
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(60);  // close silent connections
  std::uint32_t max_connections = 20000;               // beyond: accept and close at once
  std::optional<std::chrono::nanoseconds> exit_after;  // stop after this long
  std::optional<std::uint64_t> exit_after_requests;    // stop once this many were served
};

// Parses argv. Returns nullopt after printing --help or --version to `out`. Throws UsageError
// with one line naming the flag on anything it cannot use, including a non-loopback --host.
std::optional<TargetOptions> parse_options(int argc, const char* const* argv, std::ostream& out);

}  // namespace strain::target
