#include "tools/target/behaviour.hpp"

#include <charconv>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"

namespace strain::target {

std::chrono::nanoseconds parse_delay(std::string_view text, std::string_view what) {
  const auto delay = parse_duration(text, what);
  if (delay > kMaxDelay) {
    throw UsageError(std::string(what) + ": '" + std::string(text) + "' is longer than 1h");
  }
  return delay;
}

std::uint64_t parse_body_size(std::string_view text, std::string_view what) {
  const auto bytes = parse_size_bytes(text, what);
  if (bytes > kMaxBodyBytes) {
    throw UsageError(std::string(what) + ": '" + std::string(text) + "' is larger than 1GiB");
  }
  return bytes;
}

int parse_status(std::string_view text, std::string_view what) {
  int status = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), status);
  if (ec != std::errc() || end != text.data() + text.size() || status < kMinStatus ||
      status > kMaxStatus) {
    throw UsageError(std::string(what) + ": '" + std::string(text) +
                     "' is not a status code (200-599)");
  }
  return status;
}

std::uint32_t parse_close_every(std::string_view text, std::string_view what) {
  std::uint32_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n > 1'000'000'000) {
    throw UsageError(std::string(what) + ": '" + std::string(text) +
                     "' is not a whole number from 0 to 1000000000");
  }
  return n;
}

Resolved resolve_behaviour(const Behaviour& defaults, std::string_view query) {
  Resolved out{defaults, {}};
  // The common case: no query at all costs nothing.
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = param.find('=');
    const auto name = param.substr(0, eq);
    const auto value = eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    // The units parser reports bad input by throwing UsageError; here it becomes a 400, which is
    // a runtime outcome, so the exception never leaves this function.
    try {
      if (name == "delay")
        out.behaviour.delay = parse_delay(value, "delay");
      else if (name == "size")
        out.behaviour.body_bytes = parse_body_size(value, "size");
      else if (name == "status")
        out.behaviour.status = parse_status(value, "status");
      else if (name == "service")
        out.behaviour.service = parse_delay(value, "service");
      else if (name == "close_every")
        out.behaviour.close_every = parse_close_every(value, "close_every");
    } catch (const UsageError& e) {
      out.error = e.what();
      return out;
    }
  }
  return out;
}

}  // namespace strain::target
