// strain-target's own count of what it served: per-worker counters and their sum.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>

namespace strain::target {

// One worker's counters. Written only by the owning worker's thread; any thread may read them
// (relaxed atomics: a reader sees each counter exactly, the set of them only roughly at once).
struct alignas(64) WorkerCounters {
  std::atomic<std::uint64_t> served{0};                     // responses fully written
  std::array<std::atomic<std::uint64_t>, 600> by_status{};  // served, by status code

  // Owner thread only: a plain load and store, no locked instruction on the hot path.
  void count(int status) noexcept {
    served.store(served.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    auto& slot = by_status[static_cast<std::size_t>(status) % by_status.size()];
    slot.store(slot.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
};

// The server-wide count, as printed on exit and returned by GET /__strain/stats.
struct StatsSnapshot {
  std::uint64_t served = 0;                // responses fully written (stats requests excluded)
  std::map<int, std::uint64_t> by_status;  // served, by status code; zero counts left out
  std::uint64_t connections = 0;           // connections accepted and served (rejected excluded)
  std::uint64_t open_connections = 0;      // connections open at the moment of the snapshot
  std::uint64_t rejected_connections = 0;  // accepted and closed at once: over --max-connections
  std::uint64_t uptime_ms = 0;             // since the server started listening

  // Adds one worker's counters.
  void add(const WorkerCounters& counters);
};

// "strain-target served=12345 by_status=200:12340,503:5 connections=50" (no newline).
std::string format_stats_line(const StatsSnapshot& stats);

// {"served":12345,"by_status":{"200":12340,"503":5},"connections":50,"open_connections":3,
//  "rejected_connections":0,"uptime_ms":5123} on one line, no newline.
std::string format_stats_json(const StatsSnapshot& stats);

}  // namespace strain::target
