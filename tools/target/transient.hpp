// --transient SIZE/PERIOD: a large buffer taken and given back each period, an RSS sawtooth.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace strain::target {

// How long each buffer is held: about a second, and never more than half the period, so RSS is
// back at its floor for at least half of every period.
std::chrono::nanoseconds transient_hold(std::chrono::nanoseconds every) noexcept;

// The buffer. Its memory is mapped straight from the kernel and unmapped on release, so it
// really returns whatever the allocator's thresholds are. take/release from one thread (the
// server's); held_bytes and cycles from any.
class Transient {
 public:
  explicit Transient(std::uint64_t bytes) noexcept : bytes_(bytes) {}
  ~Transient();
  Transient(const Transient&) = delete;
  Transient& operator=(const Transient&) = delete;

  // Maps the buffer and writes a byte in each page, so all of it becomes resident. False (and
  // nothing held) if the kernel refused the mapping; no-op if already held.
  bool take() noexcept;
  // Unmaps it: every page goes back to the kernel at once. No-op if nothing is held.
  void release() noexcept;

  std::uint64_t bytes() const noexcept { return bytes_; }
  // The buffer's size while held, else 0.
  std::uint64_t held_bytes() const noexcept { return held_.load(std::memory_order_relaxed); }
  // Buffers taken so far.
  std::uint64_t cycles() const noexcept { return cycles_.load(std::memory_order_relaxed); }

 private:
  std::uint64_t bytes_;
  void* buffer_ = nullptr;
  std::atomic<std::uint64_t> held_{0};
  std::atomic<std::uint64_t> cycles_{0};
};

}  // namespace strain::target
