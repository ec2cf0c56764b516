// What a soak is asked to judge: sampling, warm-up, growth budgets and known limits.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strain::soak {

// One --max-growth or --limit entry: a resource key and a value in the resource's unit.
struct ResourceValue {
  std::string key;   // as typed: "rss", "fds", "disk", "threads", "memory.current", ...
  double value = 0;  // bytes, or a count (per hour for budgets)
};

struct SoakOptions {
  bool judged = false;  // verdicts are computed (strain soak; strain run with --max-growth)
  std::chrono::nanoseconds sample_every{std::chrono::seconds(1)};  // --sample-every
  // --warmup: a duration, or a share of the planned load ("10%"); unset: 10% of the run, at
  // most 10 minutes.
  std::optional<std::chrono::nanoseconds> warmup;
  std::optional<double> warmup_fraction;
  std::vector<ResourceValue> budgets;  // --max-growth rss=20MiB/h,...: value per hour
  std::vector<ResourceValue> limits;   // --limit rss=2GiB,...
};

// "rss=20MiB/h,fds=10/h,disk=1GiB/h": sizes or counts per hour ("/min" and "/s" convert).
// Throws UsageError naming `flag` and the entry: an unknown key, a value that is not a size or
// count, a missing "/h".
std::vector<ResourceValue> parse_budgets(std::string_view text, std::string_view flag);
// "rss=2GiB,fds=1000". Throws UsageError as parse_budgets.
std::vector<ResourceValue> parse_limits(std::string_view text, std::string_view flag);
// "10%" (0 < x < 100) or a duration; Throws UsageError naming `flag`.
void parse_warmup(std::string_view text, std::string_view flag, SoakOptions& out);
// The warm-up in seconds for a load planned to last `planned_s` (0: unknown).
double warmup_seconds(const SoakOptions& options, double planned_s);

// Does a budget or limit key name this resource? "rss" and "memory" cover rss and
// memory.current, "disk" covers disk_bytes, "pids" pids.current; other keys match exactly.
bool key_matches(std::string_view key, std::string_view resource);

}  // namespace strain::soak
