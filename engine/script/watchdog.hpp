// The endless-loop guard: a VU that runs too long without yielding is stopped with an error.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

struct lua_State;
struct lua_Debug;

namespace strain {

// One per Lua state, on that state's thread. A worker's is checked from the controller's
// thread (running_for_ns), which then signals the worker thread; the handler makes the running
// coroutine fail at its next instruction. One-shot runs (setup, teardown) have no controller
// watching: a sparse count hook checks the clock instead.
class Watchdog {
 public:
  // `polled`: check with a count hook on `L` (one-shot runs) rather than wait for a signal.
  Watchdog(lua_State* L, std::chrono::nanoseconds limit, bool polled);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // A coroutine starts (or stops) running Lua code on this thread.
  void enter(lua_State* co) noexcept;
  void leave() noexcept;
  // Thread-safe: how long the coroutine now running has run, 0 if none.
  std::int64_t running_for_ns() const noexcept;

  // The signal a controller sends to a stuck worker thread; installs the handler once.
  static int signal_number() noexcept;
  // Async-signal-safe; called by the handler on the worker's thread.
  static void on_signal() noexcept;

 private:
  static void hook(lua_State* L, lua_Debug* ar);

  std::atomic<std::int64_t> running_since_ns_{0};
  std::atomic<lua_State*> running_co_{nullptr};
  std::int64_t limit_ns_;
  bool polled_;
  Watchdog* previous_ = nullptr;  // the thread's watchdog before this one (nested states)
  char limit_text_[32] = {};
};

}  // namespace strain
