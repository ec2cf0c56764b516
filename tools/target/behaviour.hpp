// What strain-target does for one request: defaults from flags, overridden by query parameters.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "tools/target/latency.hpp"
#include "tools/target/rng.hpp"

namespace strain::target {

// Bounds on what one request (or a flag) may ask for, so a stray query cannot wedge the server.
inline constexpr std::chrono::nanoseconds kMaxDelay = std::chrono::hours(1);
inline constexpr std::uint64_t kMaxBodyBytes = 1ull << 30;  // 1 GiB, streamed from a pattern
inline constexpr int kMinStatus = 200;
inline constexpr int kMaxStatus = 599;
// A hang holds its connection at most this long (also the length of a bare ?hang).
inline constexpr std::chrono::nanoseconds kMaxHang = std::chrono::minutes(10);
// A trickled body takes at most this long from its head to its last piece.
inline constexpr std::chrono::nanoseconds kMaxTrickle = std::chrono::minutes(10);
// A trickle piece is at most this big, so each fits one write.
inline constexpr std::uint64_t kMaxTrickleBytes = 64 * 1024;
// ?header_bytes= at most.
inline constexpr std::uint64_t kMaxHeaderBytes = 1 << 20;
// --cpu-work and ?cpu_work= at most: one request holds its worker thread no longer than this.
inline constexpr std::chrono::nanoseconds kMaxCpuWork = std::chrono::seconds(1);
// --error-rate entries at most.
inline constexpr std::size_t kMaxErrorRates = 8;

// What a request gets instead of a response.
enum class Fault : std::uint8_t {
  none,
  hang,     // read, never answered; the connection is closed after hang_for
  reset,    // part of a head, then a TCP reset (SO_LINGER 0)
  garbage,  // bytes that are not HTTP, then a close
};

// --error-rate 503:5%,500:1%: statuses given at random, each with its own probability.
struct ErrorRates {
  struct Entry {
    int status = 0;
    double fraction = 0;  // 0..1
    friend bool operator==(const Entry&, const Entry&) = default;
  };
  std::array<Entry, kMaxErrorRates> entries{};
  std::uint8_t count = 0;

  double total() const noexcept;
  friend bool operator==(const ErrorRates&, const ErrorRates&) = default;
};

// --trickle 100/10ms: the body in pieces of `bytes`, one every `every`, after the head.
struct Trickle {
  std::uint64_t bytes = 0;  // piece size; 0: the body goes out at once
  std::chrono::nanoseconds every{0};
  bool on() const noexcept { return bytes > 0; }
  friend bool operator==(const Trickle&, const Trickle&) = default;
};

// Everything that shapes one response. Plain data: later behaviours add fields here, a flag in
// options.cpp and a query parameter in behaviour.cpp.
struct Behaviour {
  Latency latency;                // waited after the request is read, before responding
  std::uint64_t body_bytes = 13;  // response body size ("hello, strain" by default)
  int status = 200;               // response status code
  // Time a --workers server is busy with the request (queued first if all are busy); unused
  // without --workers.
  std::chrono::nanoseconds service{0};
  // Thread CPU time burnt once the request is read, before any delay (cpu_work.hpp); 0: none.
  std::chrono::nanoseconds cpu_work{0};
  // Connection: close on every Nth such response of a connection; 0: never.
  std::uint32_t close_every = 0;
  ErrorRates error_rates;  // statuses injected at random instead of `status`
  Trickle trickle;         // a slow body
  // Fault probabilities, 0..1; with error_rates they add up to at most 1 (one draw decides).
  double hang_rate = 0;
  double reset_rate = 0;
  double garbage_rate = 0;
  std::chrono::nanoseconds hang_for = kMaxHang;  // a hang closes the connection after this
  Fault forced = Fault::none;                    // ?hang, ?reset=1, ?garbage=1: no draw
  std::uint64_t header_bytes = 0;                // padding header fields, about this many bytes

  friend bool operator==(const Behaviour&, const Behaviour&) = default;
};

// The outcome of resolve_behaviour: a behaviour, or a one-line reason for a 400.
struct Resolved {
  Behaviour behaviour;  // valid when error is empty
  std::string error;    // e.g. "delay: 'x' is not a duration (...)"
  bool ok() const noexcept { return error.empty(); }
};

// Applies the query parameters (any order, last one wins) over `defaults`:
//   delay=D latency=SPEC size=N status=N service=D cpu_work=D close_every=N error_rate=S:P%,...
//   trickle=B/D hang[=D|1|0] hang_rate=P% hang_for=D reset=1|0 reset_rate=P% garbage=1|0
//   garbage_rate=P% header_bytes=N
// `query` is the text after '?', without it; values may be percent-encoded. Unknown parameters
// are ignored, so cache-busters like ?id=7 work. Never throws; allocates only on error.
Resolved resolve_behaviour(const Behaviour& defaults, std::string_view query);

// The parameters resolve_behaviour reads, for messages; and whether `name` is one of them.
inline constexpr std::string_view kBehaviourParameters =
    "delay, latency, size, status, service, cpu_work, close_every, error_rate, trickle, hang, "
    "hang_rate, hang_for, reset, reset_rate, garbage, garbage_rate, header_bytes";
bool is_behaviour_parameter(std::string_view name) noexcept;

// Checks what the fields allow together: the fault rates add up to at most 100%, and a trickle
// of body_bytes ends within kMaxTrickle. Throws UsageError starting with `rates_what` or
// `trickle_what`.
void check_behaviour(const Behaviour& b, std::string_view rates_what,
                     std::string_view trickle_what);

// What happens to one request: a fault, an injected status (0: none), or neither.
struct Outcome {
  Fault fault = Fault::none;
  int injected_status = 0;
};
// Decides with one draw from `rng`, taken only when some rate is set and nothing is forced.
// The draw's unit interval is cut in order: hang, reset, garbage, then each error rate.
Outcome decide(const Behaviour& b, Rng& rng) noexcept;

// Checks one field the way both flags and query parameters need; throw UsageError naming `what`.
std::chrono::nanoseconds parse_delay(std::string_view text, std::string_view what);
std::uint64_t parse_body_size(std::string_view text, std::string_view what);
int parse_status(std::string_view text, std::string_view what);
// A duration from 0 (none) to kMaxCpuWork.
std::chrono::nanoseconds parse_cpu_work(std::string_view text, std::string_view what);
std::uint32_t parse_close_every(std::string_view text, std::string_view what);
// "5%", "0.5%", "100%", or a bare "0": a fraction 0..1.
double parse_percent(std::string_view text, std::string_view what);
// "503:5%,500:1%": up to kMaxErrorRates entries, statuses 200-599, adding up to at most 100%.
ErrorRates parse_error_rates(std::string_view text, std::string_view what);
// "100/10ms" (a size and a duration, both above 0), or "0" for none.
Trickle parse_trickle(std::string_view text, std::string_view what);
// A hang's length: a duration from 0 (no hang) to 10m; "", "1" mean kMaxHang.
std::chrono::nanoseconds parse_hang(std::string_view text, std::string_view what);
// A size up to kMaxHeaderBytes.
std::uint64_t parse_header_bytes(std::string_view text, std::string_view what);

}  // namespace strain::target
