// --watch-path: the bytes and files under a directory (logs, caches, spools), walked each sample.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "engine/watch/watcher.hpp"

namespace strain::watch {

// Readings: "disk_bytes" (sum of regular files' sizes, bytes, gauge) and "files" (regular files,
// count, gauge) under the directory, recursively, symlinks never followed. A walk past
// `max_entries` entries or `budget` of time is a gap, as is the directory gone. No limits.
class PathWatcher final : public Watcher {
 public:
  // Throws UsageError when `dir` is not a directory.
  PathWatcher(std::string dir, std::string component, std::uint64_t max_entries = 1'000'000,
              std::chrono::milliseconds budget = std::chrono::milliseconds(500));

  const std::string& component() const override { return component_; }
  const std::string& source() const override { return source_; }
  Sample sample() override;
  std::vector<Limit> limits() override { return {}; }

 private:
  std::string dir_;
  std::string component_;
  std::string source_ = "path";
  std::uint64_t max_entries_;
  std::chrono::milliseconds budget_;
};

}  // namespace strain::watch
