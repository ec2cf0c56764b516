// --watch-pid and strain itself: one process's memory, descriptors, threads, CPU and I/O from
// /proc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/watch/watcher.hpp"

namespace strain::watch {

// The fields of /proc/PID/stat a watcher needs.
struct ProcStat {
  std::string comm;               // command name, as the kernel keeps it (≤ 15 bytes)
  char state = '?';               // 'R', 'S', 'D', 'Z' (zombie), 'X' (dead)...
  std::uint64_t utime_ticks = 0;  // field 14: user CPU, clock ticks
  std::uint64_t stime_ticks = 0;  // field 15: system CPU, clock ticks
  std::uint64_t threads = 0;      // field 20: num_threads
  std::uint64_t start_ticks = 0;  // field 22: start time after boot, clock ticks
};

// Parses the text of /proc/PID/stat; comm may hold spaces and ')' (the last ')' ends it).
std::optional<ProcStat> parse_proc_stat(std::string_view text);

// Reads and parses PROC_ROOT/PID/stat; nullopt when it is gone or unreadable.
std::optional<ProcStat> read_proc_stat(const std::string& proc_root, std::int64_t pid);

// One process, told apart from a later process that reuses its pid by its start time.
struct ProcIdentity {
  std::int64_t pid = 0;           // as in /proc
  std::uint64_t start_ticks = 0;  // /proc/PID/stat field 22
};

// Readings: "rss" (bytes, gauge), "fds" (count, gauge), "threads" (count, gauge), "cpu" (user +
// system seconds, counter), "read_bytes" and "write_bytes" (storage I/O bytes, counters).
// Another user's process hides fd/ and io: "fds", "read_bytes" and "write_bytes" are then left
// out, which is not a gap. Limit: "fds" by the soft RLIMIT_NOFILE.
// A gap "pid N exited" once the process is gone, a zombie, or its pid names a newer process.
class ProcWatcher final : public Watcher {
 public:
  // Watches `pid` as it is now. Throws UsageError "no such process" when it does not exist.
  ProcWatcher(std::int64_t pid, std::string component, std::string source = "pid",
              std::string proc_root = "/proc");
  // Watches the process `id` names, as found by a scan (no check: a gap if it is gone).
  ProcWatcher(ProcIdentity id, std::string component, std::string source, std::string proc_root);

  const std::string& component() const override { return component_; }
  const std::string& source() const override { return source_; }
  Sample sample() override;
  std::vector<Limit> limits() override;

  const ProcIdentity& identity() const { return id_; }
  // "rss" as the private (anonymous) resident bytes rather than all resident bytes: what strain
  // reads of itself (engine/watch/watch_spec.cpp).
  void read_private_rss() { private_rss_ = true; }

 private:
  std::string path(std::string_view file) const;

  ProcIdentity id_;
  std::string component_;
  std::string source_;
  std::string proc_root_;
  std::string dir_;             // PROC_ROOT/PID/
  bool counts_itself_ = false;  // watching strain: the fd/ listing sees its own descriptor
  bool private_rss_ = false;    // see read_private_rss()
};

// "0-3,6,8-9" (a /proc Cpus_allowed_list) -> 7; 0 when it does not parse.
std::size_t count_cpu_list(std::string_view list);

}  // namespace strain::watch
