// Which part of a test this process runs (--segment, STRAIN_SEGMENT, JOB_COMPLETION_INDEX) and
// from which instant (--start-at): checked before any traffic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/schedule/share.hpp"

namespace strain {

// Where a segment may come from, as found; the first given wins, in this order.
struct SegmentSources {
  std::string flag;                          // --segment I/N ("" when not given)
  std::optional<std::string> strain_env;     // STRAIN_SEGMENT=I/N, when set
  std::optional<std::string> job_index_env;  // JOB_COMPLETION_INDEX (0-based), when set
  std::uint32_t segments = 0;                // --segments N (0: not given); pairs with the index
};

inline constexpr std::uint32_t kMaxSegments = 10'000;

// "I/N" (1-based, 1 <= I <= N <= kMaxSegments) → Share{I-1, N}. Throws UsageError naming
// `what` (the flag or variable) and the text.
Share parse_segment(std::string_view text, std::string_view what);
// The segment this process runs: the flag, else STRAIN_SEGMENT, else JOB_COMPLETION_INDEX with
// --segments; none of them: the whole test. Throws UsageError when the one chosen is bad, when
// JOB_COMPLETION_INDEX is set without --segments (or --segments without a segment), or when
// --segments disagrees with the N of the segment chosen.
Share choose_segment(const SegmentSources& sources);

// --start-at: RFC 3339 ("2026-12-06T04:00:00Z", "...T05:00:00.250+01:00") or "+30s" (from
// `now_unix_ms`) → ms since 1970. Throws UsageError naming the text for anything else, for an
// instant more than 1 s before now (it has passed) or more than 24 h after.
double parse_start_at(std::string_view text, double now_unix_ms);
// The instant as RFC 3339 UTC with milliseconds: "2026-12-06T04:00:00.000Z".
std::string format_unix_ms(double unix_ms);

}  // namespace strain
