// What strain-target does for one request: defaults from flags, overridden by query parameters.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace strain::target {

// Everything that shapes one response. Plain data: later behaviours (stalls, faults) add fields
// here, a flag in options.cpp and a query parameter in behaviour.cpp.
struct Behaviour {
  std::chrono::nanoseconds delay{0};  // wait after the request is read, before responding
  std::uint64_t body_bytes = 13;      // response body size ("hello, strain" by default)
  int status = 200;                   // response status code
  // Time a --workers server is busy with the request (queued first if all are busy); unused
  // without --workers.
  std::chrono::nanoseconds service{0};
  // Connection: close on every Nth such response of a connection; 0: never.
  std::uint32_t close_every = 0;

  friend bool operator==(const Behaviour&, const Behaviour&) = default;
};

// Bounds on what one request (or a flag) may ask for, so a stray query cannot wedge the server.
inline constexpr std::chrono::nanoseconds kMaxDelay = std::chrono::hours(1);
inline constexpr std::uint64_t kMaxBodyBytes = 1ull << 30;  // 1 GiB, streamed from a pattern
inline constexpr int kMinStatus = 200;
inline constexpr int kMaxStatus = 599;

// The outcome of resolve_behaviour: a behaviour, or a one-line reason for a 400.
struct Resolved {
  Behaviour behaviour;  // valid when error is empty
  std::string error;    // e.g. "delay: 'x' is not a duration (...)"
  bool ok() const noexcept { return error.empty(); }
};

// Applies the query parameters delay=DURATION, size=SIZE, status=N, service=DURATION and
// close_every=N (any order, last one wins)
// over `defaults`. `query` is the text after '?', without it. Unknown parameters are ignored, so
// cache-busters like ?id=7 work. Never throws; allocates only on error.
Resolved resolve_behaviour(const Behaviour& defaults, std::string_view query);

// Checks one field the way both flags and query parameters need; throw UsageError naming `what`.
std::chrono::nanoseconds parse_delay(std::string_view text, std::string_view what);
std::uint64_t parse_body_size(std::string_view text, std::string_view what);
int parse_status(std::string_view text, std::string_view what);
std::uint32_t parse_close_every(std::string_view text, std::string_view what);

}  // namespace strain::target
