#include "engine/script/watchdog.hpp"

#include <signal.h>

#include <cstdio>
#include <lua.hpp>
#include <mutex>

#include "engine/core/clock.hpp"
#include "engine/core/units.hpp"

namespace strain {
namespace {

// The watchdog of the Lua state on this thread (a worker has one; the CLI thread has one at a
// time, for inspect and setup/teardown): how the signal handler and the hook find it.
thread_local Watchdog* tls_watchdog = nullptr;

void signal_handler(int) {
  Watchdog::on_signal();
}

}  // namespace

Watchdog::Watchdog(lua_State* L, std::chrono::nanoseconds limit, bool polled)
    : limit_ns_(limit.count()), polled_(polled) {
  const std::string text = format_duration(limit);
  std::snprintf(limit_text_, sizeof limit_text_, "%s", text.c_str());
  previous_ = tls_watchdog;
  tls_watchdog = this;
  // Coroutines inherit the hook of the state that creates them.
  if (polled_) lua_sethook(L, hook, LUA_MASKCOUNT, 100'000);
}

Watchdog::~Watchdog() {
  if (tls_watchdog == this) tls_watchdog = previous_;
}

void Watchdog::enter(lua_State* co) noexcept {
  running_co_.store(co, std::memory_order_relaxed);
  running_since_ns_.store(now_ns(), std::memory_order_relaxed);
}

void Watchdog::leave() noexcept {
  running_since_ns_.store(0, std::memory_order_relaxed);
  running_co_.store(nullptr, std::memory_order_relaxed);
}

std::int64_t Watchdog::running_for_ns() const noexcept {
  const std::int64_t since = running_since_ns_.load(std::memory_order_relaxed);
  return since == 0 ? 0 : now_ns() - since;
}

void Watchdog::hook(lua_State* L, lua_Debug* ar) {
  Watchdog* w = tls_watchdog;
  if (w == nullptr) return;
  const std::int64_t since = w->running_since_ns_.load(std::memory_order_relaxed);
  if (since == 0 || now_ns() - since < w->limit_ns_) return;
  if (!w->polled_) lua_sethook(L, nullptr, 0, 0);
  lua_getinfo(L, "Sl", ar);
  luaL_error(L, "%s:%d: ran for more than %s without yielding (an endless loop?): stopped",
             ar->short_src, ar->currentline, w->limit_text_);
}

void Watchdog::on_signal() noexcept {
  Watchdog* w = tls_watchdog;
  if (w == nullptr) return;
  lua_State* co = w->running_co_.load(std::memory_order_relaxed);
  const std::int64_t since = w->running_since_ns_.load(std::memory_order_relaxed);
  if (co == nullptr || since == 0 || now_ns() - since < w->limit_ns_) return;
  // lua_sethook is safe to call from a signal handler (Lua's own interpreter does so for
  // Ctrl-C): the running code stops at its next instruction, in hook().
  lua_sethook(co, hook, LUA_MASKCOUNT, 1);
}

int Watchdog::signal_number() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = signal_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGUSR2, &sa, nullptr);
  });
  return SIGUSR2;
}

}  // namespace strain
