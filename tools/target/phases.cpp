#include "tools/target/phases.hpp"

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"
#include "tools/target/request_parser.hpp"

namespace strain::target {
namespace {

bool name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// The query goes verbatim into the exit log and the stats JSON: printable ASCII, no quote,
// backslash or space, as in a URL.
bool query_char(char c) noexcept {
  return c > ' ' && c < 0x7f && c != '"' && c != '\\';
}

}  // namespace

std::size_t PhaseSchedule::at(std::chrono::nanoseconds since_start) const noexcept {
  if (phases.size() < 2 || since_start.count() <= 0) return 0;
  const auto in_cycle = since_start % cycle;
  // At most kMaxPhases steps: cheaper than a search, and only with --phases.
  for (std::size_t i = phases.size(); i-- > 1;) {
    if (in_cycle >= phases[i].offset) return i;
  }
  return 0;
}

std::uint64_t PhaseSchedule::entered(std::size_t i,
                                     std::chrono::nanoseconds uptime) const noexcept {
  if (i >= phases.size() || uptime < phases[i].offset) return 0;
  // Phase i begins at offset, offset + cycle, offset + 2 cycle, ...
  return static_cast<std::uint64_t>((uptime - phases[i].offset) / cycle) + 1;
}

bool PhaseSchedule::any_faults() const noexcept {
  for (const auto& p : phases) {
    const auto& b = p.behaviour;
    if (b.hang_rate > 0 || b.reset_rate > 0 || b.garbage_rate > 0 || b.error_rates.count > 0 ||
        b.trickle.on() || b.forced != Fault::none) {
      return true;
    }
  }
  return false;
}

PhaseSchedule parse_phases(std::string_view text, const Behaviour& defaults,
                           std::string_view what) {
  const std::string flag(what);
  const auto fail = [&](std::size_t index, std::string_view spec, const std::string& why) {
    throw UsageError(flag + ": phase " + std::to_string(index + 1) + " '" + std::string(spec) +
                     "' " + why);
  };
  PhaseSchedule schedule;
  std::string_view rest = text;
  while (true) {
    const auto semi = rest.find(';');
    const auto spec = trim(rest.substr(0, semi));
    const auto index = schedule.phases.size();
    if (spec.empty()) {
      // A trailing ';' is forgiven; an empty phase anywhere else is a mistake.
      if (semi == std::string_view::npos && index > 0) break;
      throw UsageError(flag + ": '" + std::string(text) +
                       "' has an empty phase (expected DURATION:NAME[?QUERY]; ... e.g. "
                       "\"60s:healthy; 60s:slow?latency=250ms\")");
    }
    if (index == kMaxPhases) {
      throw UsageError(flag + ": '" + std::string(text) + "' has more than " +
                       std::to_string(kMaxPhases) + " phases");
    }
    const auto colon = spec.find(':');
    const auto question = spec.find('?');
    if (colon == std::string_view::npos ||
        (question != std::string_view::npos && question < colon)) {
      fail(index, spec, "is not DURATION:NAME[?QUERY] (e.g. 60s:slow?latency=250ms)");
    }
    Phase phase;
    try {
      phase.length = parse_duration(spec.substr(0, colon), flag);
    } catch (const UsageError&) {
      fail(index, spec, "does not start with a duration (e.g. 60s:slow?latency=250ms)");
    }
    if (phase.length < kMinPhase || phase.length > kMaxPhase) {
      fail(index, spec, "must last from 100ms to 24h");
    }
    const auto after = spec.substr(colon + 1);
    const auto q = after.find('?');
    phase.name = std::string(after.substr(0, q));
    if (phase.name.empty() || phase.name.size() > 32) {
      fail(index, spec, "needs a name of 1 to 32 letters, digits, '_', '-' or '.'");
    }
    for (const char c : phase.name) {
      if (!name_char(c))
        fail(index, spec, "needs a name of 1 to 32 letters, digits, '_', '-' or '.'");
    }
    phase.query = q == std::string_view::npos ? std::string() : std::string(after.substr(q + 1));
    for (const char c : phase.query) {
      if (!query_char(c)) fail(index, spec, "has a space, quote or backslash in its query");
    }
    std::string_view params = phase.query;
    while (!params.empty()) {
      const auto amp = params.find('&');
      const auto param = params.substr(0, amp);
      const auto name = param.substr(0, param.find('='));
      if (!name.empty() && !is_behaviour_parameter(name)) {
        fail(index, spec,
             "sets '" + std::string(name) + "', which is not a parameter (" +
                 std::string(kBehaviourParameters) + ")");
      }
      params = amp == std::string_view::npos ? std::string_view{} : params.substr(amp + 1);
    }
    // The very code that reads a request's query: a phase means what a URL would.
    auto resolved = resolve_behaviour(defaults, phase.query);
    if (!resolved.ok()) fail(index, spec, "is refused: " + resolved.error);
    phase.behaviour = resolved.behaviour;
    phase.offset = schedule.cycle;
    schedule.cycle += phase.length;
    schedule.phases.push_back(std::move(phase));
    if (semi == std::string_view::npos) break;
    rest = rest.substr(semi + 1);
  }
  return schedule;
}

}  // namespace strain::target
