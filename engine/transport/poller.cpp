#include "engine/transport/poller.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <system_error>

namespace strain {

Poller::Poller(boost::asio::io_context& io)
    : io_(io), epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)), watcher_(io) {
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  watcher_.assign(epoll_fd_);
}

Poller::~Poller() {
  stop();
  boost::system::error_code ignored;
  watcher_.close(ignored);  // closes epoll_fd_
}

bool Poller::watch(int fd, std::uint32_t events, PollHandler& handler, bool modify) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &handler;
  if (::epoll_ctl(epoll_fd_, modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  if (!armed_ && !stopped_) arm();
  return true;
}

void Poller::remove(int fd) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void Poller::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  watcher_.cancel(ignored);
}

void Poller::arm() {
  armed_ = true;
  watcher_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                      [this, alive = std::weak_ptr(alive_)](const boost::system::error_code& ec) {
                        if (alive.expired()) return;
                        if (ec || stopped_) {
                          armed_ = false;
                          return;
                        }
                        drain();
                      });
}

// While the set keeps producing events we come back through post() (no syscall) rather than
// re-arming the watcher (an epoll_ctl); timers and posted work still get their turn between.
// armed_ stays true from the wait or post that called us until we re-arm or re-post, so a
// socket added by a handler during the batch does not start a second driver.
void Poller::drain() {
  const int n = ::epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), 0);
  for (int i = 0; i < n; ++i) {
    auto& ev = events_[static_cast<std::size_t>(i)];
    static_cast<PollHandler*>(ev.data.ptr)->on_poll(ev.events);
  }
  if (n > 0 && batch_listener_ != nullptr) batch_listener_->on_batch_end();
  if (stopped_) {
    armed_ = false;
    return;
  }
  if (n > 0) {
    // The io_context itself, not the watcher's type-erased executor: that one allocates per post.
    boost::asio::post(io_, [this, alive = std::weak_ptr(alive_)] {
      if (alive.expired()) return;
      if (stopped_) {
        armed_ = false;
        return;
      }
      drain();
    });
  } else {
    arm();
  }
}

}  // namespace strain
