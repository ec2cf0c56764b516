// How many sockets strain's transports hold open right now, over the whole process.
//
// A soak judges descriptors for leaks, and both strain's and the target's descriptor counts
// include the connections strain holds: an open-model run that meets a slow spell adds
// connections and keeps them, a staircase that can look like a leak. The soak samples this
// count beside the descriptors and judges them net of it (engine/soak/soak_recorder.cpp).
// Process-wide on purpose: it answers for the process's descriptor table, which is one.
#pragma once

#include <atomic>
#include <cstdint>

namespace strain {

namespace detail {
inline std::atomic<std::int64_t> g_open_sockets{0};
}  // namespace detail

// A transport opened a connection's socket (counted whether or not it connects).
inline void socket_opened() noexcept {
  detail::g_open_sockets.fetch_add(1, std::memory_order_relaxed);
}
// … and closed it.
inline void socket_closed() noexcept {
  detail::g_open_sockets.fetch_sub(1, std::memory_order_relaxed);
}
inline std::int64_t open_sockets() noexcept {
  return detail::g_open_sockets.load(std::memory_order_relaxed);
}

}  // namespace strain
