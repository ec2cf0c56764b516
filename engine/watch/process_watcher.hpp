// --watch-process: a process found by name, found again under its new pid after a restart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/watch/proc_watcher.hpp"
#include "engine/watch/watcher.hpp"

namespace strain::watch {

// Scans PROC_ROOT for processes named NAME: /proc/PID/comm equal to it, or, when NAME is longer
// than comm's 15 bytes and comm is its truncation, the basename of argv[0] equal to it. Of
// several, the oldest (lowest start time, then lowest pid). Bounded per step; resumable.
class ProcessScan {
 public:
  ProcessScan(std::string name, std::string proc_root);
  ~ProcessScan();
  ProcessScan(const ProcessScan&) = delete;
  ProcessScan& operator=(const ProcessScan&) = delete;

  // Reads at most `max_entries` entries of PROC_ROOT, continuing where the last step stopped.
  // Returns true when the directory is finished; result() then holds the match, if any, and the
  // next step starts a new scan.
  bool step(std::size_t max_entries);
  const std::optional<ProcIdentity>& result() const { return best_; }

 private:
  void consider(std::int64_t pid);

  std::string name_;
  std::string proc_root_;
  void* dir_ = nullptr;  // DIR* of PROC_ROOT while a scan is under way
  std::optional<ProcIdentity> best_;
  bool finished_ = false;
};

// ProcWatcher's readings and limits (source "process") for the process a name resolves to.
// While none is found: a gap "no process named NAME". After the tracked process exits, /proc is
// scanned again, at most `max_scan_entries` entries per sample; the first sample read from a
// different process carries `restarted_pid`.
class ProcessWatcher final : public Watcher {
 public:
  // Scans /proc to the end now. Never throws; tracked() says whether the name resolved.
  ProcessWatcher(std::string name, std::string component, std::string proc_root = "/proc",
                 std::size_t max_scan_entries = 4096);

  const std::string& component() const override { return component_; }
  const std::string& source() const override { return source_; }
  Sample sample() override;
  std::vector<Limit> limits() override;

  // The process being watched, if the name resolves now.
  std::optional<ProcIdentity> tracked() const;

 private:
  void adopt(const ProcIdentity& id);
  std::optional<Sample> read_current();  // nullopt when current_ gapped

  std::string name_;
  std::string component_;
  std::string source_ = "process";
  std::string proc_root_;
  std::size_t max_scan_entries_;
  ProcessScan scan_;
  std::unique_ptr<ProcWatcher> current_;  // null while no process matches
  std::optional<ProcIdentity> last_;      // the process sampled before current_, if any
  bool announce_ = false;                 // current_ is new: tell the sampler on its first reading
};

}  // namespace strain::watch
