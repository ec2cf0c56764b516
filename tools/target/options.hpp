// strain-target's command line: flags into one validated TargetOptions.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "tools/target/behaviour.hpp"
#include "tools/target/phases.hpp"

namespace strain::target {

struct TargetOptions {
  std::string host = "127.0.0.1";  // loopback address to listen on
  std::uint16_t port = 8080;       // 0: an ephemeral port
  unsigned threads = 1;            // workers, each with its own io_context
  Behaviour defaults;              // per-request behaviour without a query
  PhaseSchedule phases;            // --phases: defaults that take turns; empty: `defaults` only
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(60);  // close silent connections
  std::uint32_t max_connections = 20000;               // beyond: accept and close at once
  std::optional<std::chrono::nanoseconds> exit_after;  // stop after this long
  std::optional<std::uint64_t> exit_after_requests;    // stop once this many were served
  std::uint32_t workers = 0;                // requests in service at once, server-wide; 0: no limit
  std::uint64_t queue_limit = 10000;        // requests waiting for a --workers slot; beyond: 503
  std::chrono::nanoseconds stall_every{0};  // stall period; 0: no stalls
  std::chrono::nanoseconds stall_for{0};    // length of each stall, < stall_every
  double rate_limit_per_s = 0;              // token bucket refill; 0: no limit
  double burst = 0;                         // token bucket size (default: 1 s worth)
  std::uint64_t leak_bytes = 0;             // kept per served request; 0: no leak
  std::uint64_t leak_limit_bytes = 1ull << 30;  // the leak stops growing here
  bool churn = false;                           // allocate and free blocks per served request
  std::uint64_t transient_bytes = 0;            // taken and given back each period; 0: off
  std::chrono::nanoseconds transient_every{0};  // the --transient period
  std::uint64_t fd_leak_every = 0;              // one descriptor kept per this many; 0: no leak
  std::uint64_t fd_leak_limit = 10000;          // the fd leak stops growing here
  std::uint64_t seed = 1;  // random shapes: worker i draws from Rng(seed, i), run after run
};

// Parses argv. Returns nullopt after printing --help or --version to `out`. Throws UsageError
// with one line naming the flag on anything it cannot use, including a non-loopback --host.
std::optional<TargetOptions> parse_options(int argc, const char* const* argv, std::ostream& out);

}  // namespace strain::target
