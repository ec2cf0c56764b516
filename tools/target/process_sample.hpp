// What strain-target's own process uses right now, read from /proc/self for GET /metrics.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace strain::target {

// One reading, taken afresh at each scrape.
struct ProcessSample {
  std::uint64_t resident_bytes = 0;  // RSS: /proc/self/stat rss (as statm's resident) x page size
  std::uint64_t virtual_bytes = 0;   // /proc/self/stat vsize
  std::uint64_t open_fds = 0;        // entries of /proc/self/fd, the one listing them excluded
  std::uint64_t max_fds = 0;         // RLIMIT_NOFILE soft limit
  double cpu_seconds = 0;            // user + system CPU time
  double start_time_s = 0;           // process start, Unix seconds: boot time + start ticks
};

// Reads /proc/self/stat, /proc/stat, /proc/self/fd and the fd limit. nullopt when /proc cannot
// be read (not Linux). Any thread; a few syscalls and one directory listing.
std::optional<ProcessSample> read_process_sample();

// The fields of /proc/<pid>/stat that ProcessSample needs, in the kernel's units.
struct ProcStat {
  std::uint64_t utime_ticks = 0;  // field 14, clock ticks
  std::uint64_t stime_ticks = 0;  // field 15, clock ticks
  std::uint64_t start_ticks = 0;  // field 22, clock ticks after boot
  std::uint64_t vsize_bytes = 0;  // field 23
  std::uint64_t rss_pages = 0;    // field 24
};
// Parses the text of /proc/<pid>/stat (the command name may hold spaces and parentheses).
std::optional<ProcStat> parse_proc_stat(std::string_view text);
// The "btime N" line of /proc/stat: boot time in Unix seconds.
std::optional<std::uint64_t> parse_boot_time(std::string_view text);

}  // namespace strain::target
