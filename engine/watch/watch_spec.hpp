// The --watch-* flags turned into watchers, every one checked at start-up, before any traffic.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/watch/watcher.hpp"

namespace strain::watch {

// The --watch-* flag values as typed, each "[name=]value".
struct WatchSpecs {
  std::vector<std::string> pids;       // --watch-pid [name=]PID
  std::vector<std::string> processes;  // --watch-process [name=]NAME
  std::vector<std::string> cgroups;    // --watch-cgroup [name=]PATH (absolute or under the root)
  std::vector<std::string> metrics;    // --watch-metrics [name=]URL (http:// to loopback)
  std::vector<std::string> paths;      // --watch-path [name=]DIR
  std::vector<std::string> series;     // extra series selectors, read from every metrics URL:
                                       // `jvm_memory_used_bytes{area="heap"}`
  std::chrono::milliseconds scrape_timeout{2000};  // per scrape, connect included
  bool self = true;                                // also watch strain itself, first
  std::string proc_root = "/proc";                 // tests point these at fake trees
  std::string cgroup_root = "/sys/fs/cgroup";
};

// One "[name=]value". A name is letters, digits, '_', '-' and '.' before the first '='; anything
// else before it (a '/', a ':') means there is no name and the '=' belongs to the value.
struct NamedValue {
  std::string name;   // empty when none was given
  std::string value;  // what to watch
};
// Throws UsageError naming `flag` and `text` when the name or the value is empty.
NamedValue parse_named_value(std::string_view flag, std::string_view text);

// Builds every watcher the specs ask for, self first (component "strain"). Throws UsageError
// naming the flag and the value: no such pid, no such cgroup v2 directory, a URL that is not
// http:// to loopback or cannot be scraped now, not a directory, a bad selector, a name used
// twice. Scrapes each metrics URL once and scans /proc: may take up to the scrape timeout each.
std::vector<std::unique_ptr<Watcher>> make_watchers(const WatchSpecs& specs);

// The reading of the self watcher that counts the connections strain's transports hold open.
inline constexpr std::string_view kConnectionsReading = "connections";

// Strain's own process from /proc/self's pid: source "self", component "strain"; its readings
// are a pid watcher's plus kConnectionsReading.
std::unique_ptr<Watcher> make_self_watcher(const std::string& proc_root = "/proc");

}  // namespace strain::watch
