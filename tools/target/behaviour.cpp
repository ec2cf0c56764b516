#include "tools/target/behaviour.hpp"

#include <charconv>
#include <cstdio>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"

namespace strain::target {
namespace {

[[noreturn]] void bad(std::string_view what, std::string_view text, std::string_view why) {
  throw UsageError(std::string(what) + ": '" + std::string(text) + "' " + std::string(why));
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Values like "503:5%25" arrive percent-encoded from careful clients and raw ("503:5%") from
// others: decode %XX escapes, keep any other '%'. Writes into `buf`; the value itself when
// there is nothing to decode, so the common case copies nothing.
std::string_view decode(std::string_view value, char* buf, std::size_t cap) noexcept {
  if (value.find('%') == std::string_view::npos || value.size() > cap) return value;
  std::size_t n = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const bool escape = value[i] == '%' && i + 2 < value.size() && hex_digit(value[i + 1]) >= 0 &&
                        hex_digit(value[i + 2]) >= 0;
    if (escape) {
      buf[n++] = static_cast<char>(hex_digit(value[i + 1]) * 16 + hex_digit(value[i + 2]));
      i += 2;
    } else {
      buf[n++] = value[i];
    }
  }
  return {buf, n};
}

// ?reset=1 / ?garbage=1 (or bare): on; =0: off.
bool parse_switch(std::string_view text, std::string_view what) {
  if (text.empty() || text == "1") return true;
  if (text == "0") return false;
  bad(what, text, "is not 1 or 0");
}

}  // namespace

double ErrorRates::total() const noexcept {
  double sum = 0;
  for (std::size_t i = 0; i < count; ++i)
    sum += entries[i].fraction;
  return sum;
}

std::chrono::nanoseconds parse_delay(std::string_view text, std::string_view what) {
  const auto delay = parse_duration(text, what);
  if (delay > kMaxDelay) bad(what, text, "is longer than 1h");
  return delay;
}

std::chrono::nanoseconds parse_cpu_work(std::string_view text, std::string_view what) {
  const auto work = parse_duration(text, what);
  if (work > kMaxCpuWork) bad(what, text, "is longer than 1s");
  return work;
}

std::uint64_t parse_body_size(std::string_view text, std::string_view what) {
  const auto bytes = parse_size_bytes(text, what);
  if (bytes > kMaxBodyBytes) bad(what, text, "is larger than 1GiB");
  return bytes;
}

int parse_status(std::string_view text, std::string_view what) {
  int status = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), status);
  if (ec != std::errc() || end != text.data() + text.size() || status < kMinStatus ||
      status > kMaxStatus) {
    bad(what, text, "is not a status code (200-599)");
  }
  return status;
}

std::uint32_t parse_close_every(std::string_view text, std::string_view what) {
  std::uint32_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n > 1'000'000'000) {
    bad(what, text, "is not a whole number from 0 to 1000000000");
  }
  return n;
}

double parse_percent(std::string_view text, std::string_view what) {
  constexpr std::string_view expected = "is not a percentage from 0% to 100% (e.g. 5% or 0.5%)";
  if (text == "0") return 0;
  if (text.size() < 2 || text.back() != '%') bad(what, text, expected);
  const auto digits = text.substr(0, text.size() - 1);
  if (digits.find_first_not_of("0123456789.") != std::string_view::npos) {
    bad(what, text, expected);
  }
  double percent = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), percent);
  if (ec != std::errc() || end != digits.data() + digits.size() || !(percent <= 100.0)) {
    bad(what, text, expected);
  }
  return percent / 100.0;
}

ErrorRates parse_error_rates(std::string_view text, std::string_view what) {
  constexpr std::string_view expected =
      "is not a list of STATUS:PERCENT (e.g. 503:5%,500:1%; statuses 200-599)";
  ErrorRates rates;
  if (text == "0") return rates;
  std::string_view rest = text;
  while (true) {
    const auto comma = rest.find(',');
    const auto entry = rest.substr(0, comma);
    const auto colon = entry.find(':');
    if (colon == std::string_view::npos) bad(what, text, expected);
    if (rates.count == kMaxErrorRates) bad(what, text, "has more than 8 entries");
    auto& e = rates.entries[rates.count++];
    try {
      e.status = parse_status(entry.substr(0, colon), what);
      e.fraction = parse_percent(entry.substr(colon + 1), what);
    } catch (const UsageError&) {
      bad(what, text, expected);
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  // A little slack: 33.3333%+33.3333%+33.3334% must not fail on rounding.
  if (rates.total() > 1.0 + 1e-9) bad(what, text, "adds up to more than 100%");
  return rates;
}

Trickle parse_trickle(std::string_view text, std::string_view what) {
  constexpr std::string_view expected =
      "is not BYTES/INTERVAL (e.g. 100/10ms; pieces of 1 byte to 64KiB, an interval above 0), "
      "or 0";
  Trickle t;
  if (text == "0") return t;
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) bad(what, text, expected);
  try {
    t.bytes = parse_size_bytes(text.substr(0, slash), what);
    t.every = parse_duration(text.substr(slash + 1), what);
  } catch (const UsageError&) {
    bad(what, text, expected);
  }
  if (t.bytes == 0 || t.bytes > kMaxTrickleBytes || t.every.count() <= 0) {
    bad(what, text, expected);
  }
  if (t.every > kMaxTrickle) bad(what, text, "has an interval longer than 10m");
  return t;
}

std::chrono::nanoseconds parse_hang(std::string_view text, std::string_view what) {
  if (text.empty() || text == "1") return kMaxHang;
  std::chrono::nanoseconds d{0};
  try {
    d = parse_duration(text, what);
  } catch (const UsageError&) {
    bad(what, text, "is not a duration up to 10m (e.g. 30s), 1 or empty for 10m, or 0 for none");
  }
  if (d > kMaxHang) bad(what, text, "is longer than 10m");
  return d;
}

std::uint64_t parse_header_bytes(std::string_view text, std::string_view what) {
  const auto bytes = parse_size_bytes(text, what);
  if (bytes > kMaxHeaderBytes) bad(what, text, "is larger than 1MiB");
  return bytes;
}

void check_behaviour(const Behaviour& b, std::string_view rates_what,
                     std::string_view trickle_what) {
  const double total = b.hang_rate + b.reset_rate + b.garbage_rate + b.error_rates.total();
  if (total > 1.0 + 1e-9) {
    char percent[32];
    std::snprintf(percent, sizeof percent, "%.4g%%", total * 100);
    throw UsageError(std::string(rates_what) +
                     ": the hang, reset, garbage and error rates add up to more than 100% (" +
                     percent + ")");
  }
  if (b.trickle.on() && b.body_bytes > 0) {
    // Pieces at most 64 KiB and bodies at most 1 GiB: no overflow below.
    const auto pieces = (b.body_bytes + b.trickle.bytes - 1) / b.trickle.bytes;
    if (b.trickle.every.count() > 0 &&
        pieces > static_cast<std::uint64_t>(kMaxTrickle / b.trickle.every)) {
      throw UsageError(std::string(trickle_what) + ": a trickle of " +
                       std::to_string(b.body_bytes) + " bytes in " +
                       std::to_string(b.trickle.bytes) + "-byte pieces every " +
                       format_duration(b.trickle.every) + " would take longer than 10m");
    }
  }
}

Outcome decide(const Behaviour& b, Rng& rng) noexcept {
  Outcome out;
  if (b.forced != Fault::none) {
    out.fault = b.forced;
    return out;
  }
  if (b.hang_rate + b.reset_rate + b.garbage_rate <= 0 && b.error_rates.count == 0) return out;
  // One draw, its unit interval cut into consecutive stretches, one per outcome: each outcome
  // happens with exactly its own probability, and never two at once.
  double u = rng.uniform();
  if ((u -= b.hang_rate) < 0) {
    out.fault = Fault::hang;
  } else if ((u -= b.reset_rate) < 0) {
    out.fault = Fault::reset;
  } else if ((u -= b.garbage_rate) < 0) {
    out.fault = Fault::garbage;
  } else {
    for (std::size_t i = 0; i < b.error_rates.count; ++i) {
      if ((u -= b.error_rates.entries[i].fraction) < 0) {
        out.injected_status = b.error_rates.entries[i].status;
        break;
      }
    }
  }
  return out;
}

bool is_behaviour_parameter(std::string_view name) noexcept {
  std::string_view rest = kBehaviourParameters;
  while (!rest.empty()) {
    const auto comma = rest.find(", ");
    if (rest.substr(0, comma) == name) return true;
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 2);
  }
  return false;
}

Resolved resolve_behaviour(const Behaviour& defaults, std::string_view query) {
  Resolved out{defaults, {}};
  auto& b = out.behaviour;
  bool check = false;  // a parameter that check_behaviour covers was given
  // The common case: no query at all costs nothing.
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = param.find('=');
    const auto name = param.substr(0, eq);
    char buf[256];
    const auto value = eq == std::string_view::npos ? std::string_view{}
                                                    : decode(param.substr(eq + 1), buf, sizeof buf);
    // The units parser reports bad input by throwing UsageError; here it becomes a 400, which is
    // a runtime outcome, so the exception never leaves this function.
    try {
      if (name == "delay") {
        b.latency = Latency::fixed(parse_delay(value, "delay"));
      } else if (name == "latency") {
        b.latency = parse_latency(value, "latency");
      } else if (name == "size") {
        b.body_bytes = parse_body_size(value, "size");
        check = true;
      } else if (name == "status") {
        b.status = parse_status(value, "status");
      } else if (name == "service") {
        b.service = parse_delay(value, "service");
      } else if (name == "cpu_work") {
        b.cpu_work = parse_cpu_work(value, "cpu_work");
      } else if (name == "close_every") {
        b.close_every = parse_close_every(value, "close_every");
      } else if (name == "error_rate") {
        b.error_rates = parse_error_rates(value, "error_rate");
        check = true;
      } else if (name == "trickle") {
        b.trickle = parse_trickle(value, "trickle");
        check = true;
      } else if (name == "hang") {
        const auto d = parse_hang(value, "hang");
        if (d.count() > 0) {
          b.forced = Fault::hang;
          b.hang_for = d;
        } else {
          if (b.forced == Fault::hang) b.forced = Fault::none;
          b.hang_rate = 0;
        }
      } else if (name == "hang_rate") {
        b.hang_rate = parse_percent(value, "hang_rate");
        check = true;
      } else if (name == "hang_for") {
        b.hang_for = parse_hang(value, "hang_for");
        if (b.hang_for.count() == 0) throw UsageError("hang_for: '0' must be longer than 0");
      } else if (name == "reset") {
        if (parse_switch(value, "reset")) {
          b.forced = Fault::reset;
        } else {
          if (b.forced == Fault::reset) b.forced = Fault::none;
          b.reset_rate = 0;
        }
      } else if (name == "reset_rate") {
        b.reset_rate = parse_percent(value, "reset_rate");
        check = true;
      } else if (name == "garbage") {
        if (parse_switch(value, "garbage")) {
          b.forced = Fault::garbage;
        } else {
          if (b.forced == Fault::garbage) b.forced = Fault::none;
          b.garbage_rate = 0;
        }
      } else if (name == "garbage_rate") {
        b.garbage_rate = parse_percent(value, "garbage_rate");
        check = true;
      } else if (name == "header_bytes") {
        b.header_bytes = parse_header_bytes(value, "header_bytes");
      }
    } catch (const UsageError& e) {
      out.error = e.what();
      return out;
    }
  }
  // The flags were checked together at start-up; only a query can break them.
  if (check) {
    try {
      check_behaviour(b, "error_rate", "trickle");
    } catch (const UsageError& e) {
      out.error = e.what();
    }
  }
  return out;
}

}  // namespace strain::target
