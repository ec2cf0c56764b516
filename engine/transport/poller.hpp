// An edge-triggered epoll set nested inside a worker's io_context: sockets registered once.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <memory>

namespace strain {

// Gets readiness events for one file descriptor. Called on the worker's thread.
class PollHandler {
 public:
  virtual void on_poll(std::uint32_t events) = 0;

 protected:
  ~PollHandler() = default;
};

// Told when every handler of one batch of events has run: a place to flush deferred work.
class BatchListener {
 public:
  virtual void on_batch_end() = 0;

 protected:
  ~BatchListener() = default;
};

// Why not Asio's own sockets: in Boost 1.74 every async read costs a speculative recv()
// that fails with EAGAIN, and every async_wait an epoll_ctl(); a fast client wants one write
// and one read per request with the socket registered once (DESIGN.md §6). So the sockets
// live in this private edge-triggered epoll set, and Asio watches only its descriptor: timers,
// posts from the controller and everything else still run on the io_context as usual.
class Poller {
 public:
  explicit Poller(boost::asio::io_context& io);
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Registers fd for edge-triggered `events`; `handler` must outlive the registration.
  // Returns false (errno set) on failure.
  bool add(int fd, std::uint32_t events, PollHandler& handler) {
    return watch(fd, events | EPOLLET, handler, false);
  }
  // Level-triggered: for a library (libcurl) that may stop reading before a socket is drained.
  // `modify` changes the events of an fd added this way. Returns false (errno set) on failure.
  bool add_level(int fd, std::uint32_t events, PollHandler& handler) {
    return watch(fd, events, handler, false);
  }
  bool modify_level(int fd, std::uint32_t events, PollHandler& handler) {
    return watch(fd, events, handler, true);
  }
  // `listener` gets on_batch_end() after each batch of events (optional, one listener).
  void set_batch_listener(BatchListener* listener) { batch_listener_ = listener; }
  // Removes fd. Closing the fd also removes it; call this first when the fd stays open.
  void remove(int fd);
  // Stops watching; pending events are dropped. Idempotent.
  void stop();

 private:
  bool watch(int fd, std::uint32_t events, PollHandler& handler, bool modify);
  void arm();
  void drain();

  boost::asio::io_context& io_;
  int epoll_fd_;
  boost::asio::posix::stream_descriptor watcher_;
  BatchListener* batch_listener_ = nullptr;
  bool stopped_ = false;
  bool armed_ = false;
  // Handlers still queued when the Poller is destroyed (the io_context may run on) see it expire.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::array<epoll_event, 256> events_{};
};

}  // namespace strain
