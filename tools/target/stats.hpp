// strain-target's own count of what it served: per-worker counters and their sum.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace strain::target {

// --phases at most (phases.hpp).
inline constexpr std::size_t kMaxPhases = 16;

// What one --phases phase did, counted by the worker that answered; a request belongs to the
// phase its head was read in, however late it ends. Same rules as WorkerCounters.
struct PhaseCounters {
  std::atomic<std::uint64_t> requests{0};         // heads read (not /__strain/stats nor /metrics)
  std::atomic<std::uint64_t> served{0};           // of those, responses fully written
  std::atomic<std::uint64_t> errors_injected{0};  // served with a status from the error rates
  std::atomic<std::uint64_t> hung{0};             // read in full, never to be answered
  std::atomic<std::uint64_t> reset{0};            // part of a head, then a TCP reset
  std::atomic<std::uint64_t> garbage{0};          // non-HTTP answers written whole
  std::atomic<std::uint64_t> trickled{0};         // served with a trickled body
};

// What the demo API (/api/...) did, counted by the worker that answered. Same rules as
// WorkerCounters: written only by the owning thread, read by any.
struct ApiCounters {
  // /api requests the API answered, any status (not a 413 for a body over 1 MiB, nor a 400 for
  // a bad ?delay=: the connection answers those)
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> logins_ok{0};      // POST /api/login answered 200
  std::atomic<std::uint64_t> logins_failed{0};  // POST /api/login answered 401
  std::atomic<std::uint64_t> unauthorized{0};   // 401 for a missing or bad bearer token
  std::atomic<std::uint64_t> items_created{0};  // POST /api/items answered 201
  std::atomic<std::uint64_t> items_updated{0};  // PUT /api/items/{id} answered 200
  std::atomic<std::uint64_t> items_deleted{0};  // DELETE /api/items/{id} answered 204
  std::atomic<std::uint64_t> items_read{0};     // GET /api/items/{id} or a page, answered 200
  std::atomic<std::uint64_t> carts_created{0};  // POST /api/cart answered 201
  std::atomic<std::uint64_t> cart_adds{0};      // POST /api/cart/{id}/items answered 200
  std::atomic<std::uint64_t> orders{0};         // POST /api/cart/{id}/checkout answered 200

  // Owner thread only, like WorkerCounters::count.
  static void bump(std::atomic<std::uint64_t>& counter) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
};

// One worker's counters. Written only by the owning worker's thread; any thread may read them
// (relaxed atomics: a reader sees each counter exactly, the set of them only roughly at once).
struct alignas(64) WorkerCounters {
  std::atomic<std::uint64_t> served{0};                     // responses fully written
  std::array<std::atomic<std::uint64_t>, 600> by_status{};  // served, by status code

  // The harness shapes, each also counted in served/by_status only if it says so.
  std::atomic<std::uint64_t> hung{0};     // requests read in full that were never to be answered
  std::atomic<std::uint64_t> reset{0};    // part of a head written, then a TCP reset (not served)
  std::atomic<std::uint64_t> garbage{0};  // non-HTTP answers written whole (not served)
  std::atomic<std::uint64_t> errors_injected{0};    // served with a status from the error rates
  std::atomic<std::uint64_t> trickled{0};           // served with a trickled body
  std::atomic<std::uint64_t> churn_blocks{0};       // --churn: allocated (all freed soon after)
  std::atomic<std::uint64_t> churn_bytes{0};        // --churn: their sizes summed
  std::atomic<std::uint64_t> cpu_work_requests{0};  // requests that burnt CPU (--cpu-work)
  std::atomic<std::uint64_t> cpu_work_ns{0};        // their thread CPU time burnt, measured

  // Owner thread only: a plain load and store, no locked instruction on the hot path.
  static void bump(std::atomic<std::uint64_t>& counter) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // Owner thread only, as bump: adds `n`.
  static void bump_by(std::atomic<std::uint64_t>& counter, std::uint64_t n) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // Owner thread only: a plain load and store, no locked instruction on the hot path.
  void count(int status) noexcept {
    served.store(served.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    auto& slot = by_status[static_cast<std::size_t>(status) % by_status.size()];
    slot.store(slot.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  ApiCounters api;                                 // the demo API's share of what this worker did
  std::array<PhaseCounters, kMaxPhases> phases{};  // --phases: this worker's share, per phase
};

// The demo API's counters summed over the workers, plus the size of its item store.
struct ApiStats {
  std::uint64_t requests = 0;       // /api requests the API answered, any status
  std::uint64_t logins_ok = 0;      // POST /api/login answered 200
  std::uint64_t logins_failed = 0;  // POST /api/login answered 401
  std::uint64_t unauthorized = 0;   // 401 for a missing or bad bearer token
  std::uint64_t items_created = 0;  // POST /api/items answered 201
  std::uint64_t items_updated = 0;  // PUT /api/items/{id} answered 200
  std::uint64_t items_deleted = 0;  // DELETE /api/items/{id} answered 204
  std::uint64_t items_read = 0;     // GET /api/items/{id} or a page, answered 200
  std::uint64_t carts_created = 0;  // POST /api/cart answered 201
  std::uint64_t cart_adds = 0;      // POST /api/cart/{id}/items answered 200
  std::uint64_t orders = 0;         // POST /api/cart/{id}/checkout answered 200
  std::uint64_t item_count = 0;     // items in the store at the moment of the snapshot

  // Adds one worker's API counters (item_count is set by whoever owns the store).
  void add(const ApiCounters& counters);
};

// --workers: how busy the W servers got.
struct CapacityStats {
  std::uint64_t in_service_max = 0;  // most requests in service at once (<= --workers)
  std::uint64_t queued_max = 0;      // longest the FIFO queue got
  std::uint64_t rejected = 0;        // answered 503: the queue was at --queue-limit
};

// --stall-every: the windows applied so far, in ms since the server started listening.
struct StallStats {
  std::uint64_t start_epoch_ms = 0;  // wall clock (Unix ms) when the server started listening
  std::uint64_t every_ms = 0;        // --stall-every
  std::uint64_t for_ms = 0;          // --stall-for
  std::vector<std::pair<std::uint64_t, std::uint64_t>> windows;  // [start_ms, end_ms), latest
};

// --leak: memory kept on purpose.
struct LeakStats {
  std::uint64_t leaked_bytes = 0;  // kept so far
  bool limit_reached = false;      // --leak-limit stopped the growth
};

// --churn: allocation churn, summed over the workers.
struct ChurnStats {
  std::uint64_t blocks = 0;  // blocks allocated (all freed within a few requests)
  std::uint64_t bytes = 0;   // their sizes summed
};

// --cpu-work, ?cpu_work=: CPU time burnt on purpose, summed over the workers.
struct CpuWorkStats {
  std::uint64_t requests = 0;  // requests that burnt CPU time
  std::uint64_t cpu_ns = 0;    // thread CPU time they burnt, as measured (a little over asked)
};

// --transient: the RSS sawtooth.
struct TransientStats {
  std::uint64_t bytes = 0;       // --transient SIZE
  std::uint64_t every_ms = 0;    // --transient PERIOD
  std::uint64_t hold_ms = 0;     // how long each buffer is held
  std::uint64_t cycles = 0;      // buffers taken so far
  std::uint64_t held_bytes = 0;  // held at the moment of the snapshot (bytes or 0)
};

// --fd-leak: descriptors kept open on purpose.
struct FdLeakStats {
  std::uint64_t leaked_fds = 0;  // held now
  std::uint64_t limit = 0;       // --fd-leak-limit
  bool limit_reached = false;    // the limit or the open-file limit stopped the growth
};

// The harness shapes' counts, summed over the workers.
struct FaultStats {
  std::uint64_t hung = 0;             // requests read in full and never answered (?hang)
  std::uint64_t reset = 0;            // cut by a TCP reset after part of a head (?reset)
  std::uint64_t garbage = 0;          // answered with non-HTTP bytes (?garbage)
  std::uint64_t errors_injected = 0;  // served with a status from --error-rate / ?error_rate
  std::uint64_t trickled = 0;         // served with a trickled body (--trickle / ?trickle)

  bool any() const noexcept { return (hung | reset | garbage | errors_injected | trickled) != 0; }
};

// --phases: one phase's schedule and what it did, summed over the workers.
struct PhaseStats {
  std::string name;                   // its label
  std::string query;                  // its parameters as given; "" for the flags' defaults
  std::uint64_t offset_ms = 0;        // where it begins in each cycle
  std::uint64_t for_ms = 0;           // how long it lasts
  std::uint64_t entered = 0;          // times it has begun so far
  std::uint64_t requests = 0;         // heads read in it (not /__strain/stats nor /metrics)
  std::uint64_t served = 0;           // of those, responses fully written
  std::uint64_t errors_injected = 0;  // served with a status from the error rates
  std::uint64_t hung = 0;             // read in full and never answered
  std::uint64_t reset = 0;            // cut by a TCP reset after part of a head
  std::uint64_t garbage = 0;          // answered with non-HTTP bytes
  std::uint64_t trickled = 0;         // served with a trickled body
};

// --phases: the cycle and each phase's count.
struct PhasesStats {
  std::uint64_t start_epoch_ms = 0;  // wall clock (Unix ms) when the server started listening
  std::uint64_t cycle_ms = 0;        // the phases' lengths summed
  std::uint64_t current = 0;         // index of the phase in force at the snapshot
  std::vector<PhaseStats> list;      // in --phases order
};

// The server-wide count, as printed on exit and returned by GET /__strain/stats.
struct StatsSnapshot {
  std::uint64_t served = 0;                 // responses fully written (stats, metrics excluded)
  std::map<int, std::uint64_t> by_status;   // served, by status code; zero counts left out
  std::uint64_t connections = 0;            // connections accepted and served (rejected excluded)
  std::uint64_t open_connections = 0;       // connections open at the moment of the snapshot
  std::uint64_t rejected_connections = 0;   // accepted and closed at once: over --max-connections
  std::uint64_t uptime_ms = 0;              // since the server started listening
  ApiStats api;                             // the demo API under /api/
  std::optional<CapacityStats> capacity;    // set with --workers
  std::optional<StallStats> stalls;         // set with --stall-every
  std::optional<LeakStats> leak;            // set with --leak
  std::optional<ChurnStats> churn;          // set with --churn
  std::optional<TransientStats> transient;  // set with --transient
  std::optional<FdLeakStats> fd_leak;       // set with --fd-leak
  std::optional<CpuWorkStats> cpu_work;     // set with --cpu-work or once a ?cpu_work= burnt
  std::optional<PhasesStats> phases;        // set with --phases
  FaultStats faults;                        // hangs, resets, garbage, injected errors, trickles
  bool faults_enabled = false;              // a fault or trickle flag is on: the line shows them

  // Adds one worker's counters (the churn's only when `churn` is set; the CPU work's when
  // `cpu_work` is set or this worker burnt some, which sets it; the first phases.list.size()
  // phases' when `phases` is set).
  void add(const WorkerCounters& counters);
};

// "strain-target served=12345 by_status=200:12340,503:5 connections=50" (no newline). Once any
// /api request was answered, " api_requests=N api_logins_ok=N ... api_item_count=N" follows;
// then " in_service_max=N queued_max=N queue_rejected=N" with --workers and
// " leaked_bytes=N leak_limit_reached=0|1" with --leak; then, once any was counted or with a
// fault or trickle flag on, " hung=N reset=N garbage=N errors_injected=N trickled=N"; then
// " churn_blocks=N churn_bytes=N" with --churn, " transient_cycles=N" with --transient and
// " leaked_fds=N fd_leak_limit_reached=0|1" with --fd-leak; last, with --cpu-work or once a
// ?cpu_work= burnt, " cpu_work_requests=N cpu_work_ns=N".
std::string format_stats_line(const StatsSnapshot& stats);

// {"served":12345,"by_status":{"200":12340,"503":5},"connections":50,"open_connections":3,
//  "rejected_connections":0,"uptime_ms":5123,"api":{"requests":0,"logins_ok":0,...,
//  "item_count":0},"faults":{"hung":0,"reset":0,"garbage":0,"errors_injected":0,"trickled":0}}
//  on one line, no newline. With the shapes on, before the closing brace:
//  ,"capacity":{"in_service_max":N,"queued_max":N,"rejected":N}
//  ,"stalls":{"start_epoch_ms":T,"every_ms":E,"for_ms":F,"windows":[[S,E],...]}
//  ,"leak":{"leaked_bytes":N,"limit_reached":false}
//  ,"churn":{"blocks":N,"bytes":N}
//  ,"transient":{"bytes":N,"every_ms":E,"hold_ms":H,"cycles":N,"held_bytes":N}
//  ,"fd_leak":{"leaked_fds":N,"limit":N,"limit_reached":false}
//  ,"cpu_work":{"requests":N,"cpu_ns":N}
//  ,"phases":{"start_epoch_ms":T,"cycle_ms":C,"current":I,"list":[{"name":"slow",
//   "query":"latency=250ms","offset_ms":O,"for_ms":F,"entered":N,"requests":N,"served":N,
//   "errors_injected":N,"hung":N,"reset":N,"garbage":N,"trickled":N},...]}
std::string format_stats_json(const StatsSnapshot& stats);

// --phases, one line per phase for the exit log (no newline): "strain-target phase index=I
// name=N offset_ms=O for_ms=F entered=N requests=N served=N errors_injected=N hung=N reset=N
// garbage=N trickled=N query=Q" (the query last: it may hold '=').
std::string format_phase_line(const PhasesStats& phases, std::size_t index);

}  // namespace strain::target
