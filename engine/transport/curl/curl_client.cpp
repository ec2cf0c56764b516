#include "engine/transport/curl/curl_client.hpp"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

#include "engine/core/clock.hpp"
#include "engine/core/error.hpp"
#include "engine/core/open_sockets.hpp"
#include "engine/transport/curl/curl_library.hpp"
#include "engine/transport/curl/curl_multi.hpp"
#include "engine/transport/curl/curl_session.hpp"

namespace strain {
namespace curl_internal {

CurlClient::CurlClient(boost::asio::io_context& io, const http::Url& origin,
                       const NativeClientOptions& timeouts, const TransportOptions& options)
    : io_(io),
      poller_(io),
      timer_(io),
      timeouts_(timeouts),
      options_(options),
      backoff_{timeouts.connect_backoff_first.count(), timeouts.connect_backoff_cap.count()},
      jitter_state_(static_cast<std::uint64_t>(now_ns()) ^ reinterpret_cast<std::uintptr_t>(this)) {
  curl_global_once();
  base_url_ = origin.scheme + "://" +
              (origin.is_ipv6_literal ? "[" + origin.host + "]" : origin.host) + ":" +
              std::to_string(origin.port);
  default_host_ = origin.host_header;
  for (const auto& r : options_.resolve)
    resolve_ = curl_slist_append(resolve_, r.c_str());
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw Error("libcurl: curl_multi_init failed");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlClient::socket_callback);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlClient::timer_callback);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  if (options_.http2) {
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi_, CURLMOPT_MAX_CONCURRENT_STREAMS,
                      static_cast<long>(options_.max_streams));
    if (options_.connections > 0) {
      curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                        static_cast<long>(options_.connections));
    }
  } else {
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
  }
  poller_.set_batch_listener(this);
}

void SocketWatch::on_poll(std::uint32_t ready) {
  if (!dead) client->on_socket(fd, ready);
}

CurlClient::~CurlClient() {
  shutdown();
  // Cached connections close now, through close_socket and the Poller.
  curl_multi_cleanup(multi_);
  multi_ = nullptr;
  curl_slist_free_all(resolve_);
}

std::unique_ptr<Session> CurlClient::open_session() {
  auto session = std::make_unique<CurlSession>(*this);
  sessions_.push_back(session.get());
  // libcurl keeps 4 idle connections per handle *in the multi*; a session between exchanges is
  // not, so the default cache would close a connection per round. One per session, plus some.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(sessions_.size() + 4));
  return session;
}

void CurlClient::forget(CurlSession* session, CURL* easy) {
  sessions_.erase(std::remove(sessions_.begin(), sessions_.end(), session), sessions_.end());
  // Gone while reap() walks its list (an observer ended its VU): skip its entry there.
  for (auto& entry : done_)
    if (entry.first == easy) entry.first = nullptr;
}

void CurlClient::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (CurlSession* s : sessions_)
    s->detach();
  sessions_.clear();
  // The worker's loop ends when nothing is left to wait for: no timer, no socket watch.
  timer_.cancel();
  poller_.stop();
}

curl_socket_t CurlClient::open_socket(curlsocktype purpose, const curl_sockaddr* address) {
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  ++connects_;
  const curl_socket_t fd =
      ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd != CURL_SOCKET_BAD) socket_opened();
  return fd;
}

void CurlClient::close_socket(curl_socket_t fd) {
  drop_watch(fd);
  ::close(fd);
  socket_closed();
}

void CurlClient::drop_watch(curl_socket_t fd) {
  const auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  poller_.remove(fd);
  it->second->dead = true;
  graveyard_.push_back(std::move(it->second));
  watches_.erase(it);
}

int CurlClient::socket_callback(CURL*, curl_socket_t fd, int what, void* client_ptr, void*) {
  auto* self = static_cast<CurlClient*>(client_ptr);
  if (what == CURL_POLL_REMOVE) {
    self->drop_watch(fd);
    return 0;
  }
  std::uint32_t events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= EPOLLIN | EPOLLRDHUP;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= EPOLLOUT;
  auto& watch = self->watches_[fd];
  if (!watch) {
    watch = std::make_unique<SocketWatch>();
    watch->client = self;
    watch->fd = fd;
    watch->events = events;
    if (!self->poller_.add_level(fd, events, *watch)) return -1;
  } else if (watch->events != events) {
    watch->events = events;
    if (!self->poller_.modify_level(fd, events, *watch)) return -1;
  }
  return 0;
}

// libcurl moves its timer on nearly every call into it. Re-arming the Asio timer each time is a
// timerfd_settime() system call (16% of the HTTP/2 path's CPU when it did), so "now" is a post
// and a deadline within a millisecond of the armed one keeps the armed one.
int CurlClient::timer_callback(CURLM*, long timeout_ms, void* client_ptr) {
  auto* self = static_cast<CurlClient*>(client_ptr);
  if (self->shut_down_) return 0;
  if (timeout_ms < 0) {
    self->timer_due_ = {};  // a wait already armed fires harmlessly
    return 0;
  }
  // Never call back into libcurl from here: even "now" runs from the event loop.
  if (timeout_ms == 0) {
    if (!self->timeout_posted_) {
      self->timeout_posted_ = true;
      boost::asio::post(self->io_, [self, alive = std::weak_ptr(self->alive_)] {
        if (alive.expired()) return;
        self->timeout_posted_ = false;
        self->on_timer();
      });
    }
    return 0;
  }
  const auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const auto armed = self->timer_due_;
  if (armed != std::chrono::steady_clock::time_point{} && armed <= due &&
      due - armed < std::chrono::milliseconds(1)) {
    return 0;
  }
  self->timer_due_ = due;
  self->timer_.expires_at(due);
  self->timer_.async_wait(
      [self, alive = std::weak_ptr(self->alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        self->timer_due_ = {};
        self->on_timer();
      });
  return 0;
}

void CurlClient::on_timer() {
  if (shut_down_) return;
  int running = 0;
  curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  reap();
  graveyard_.clear();  // no batch of socket events is being walked now
}

void CurlClient::on_socket(curl_socket_t fd, std::uint32_t ready) {
  if (shut_down_) return;
  int mask = 0;
  if ((ready & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) mask |= CURL_CSELECT_IN;
  if ((ready & EPOLLOUT) != 0) mask |= CURL_CSELECT_OUT;
  if ((ready & EPOLLERR) != 0) mask |= CURL_CSELECT_ERR;
  int running = 0;
  curl_multi_socket_action(multi_, fd, mask, &running);
  reap();
}

void CurlClient::reap() {
  if (reaping_) return;
  reaping_ = true;
  int left = 0;
  for (;;) {
    done_.clear();
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg == CURLMSG_DONE) done_.emplace_back(m->easy_handle, m->data.result);
    }
    if (done_.empty()) break;
    const std::int64_t now = now_ns();
    // Copied first: finishing removes handles, and the messages die with them.
    for (std::size_t i = 0; i < done_.size(); ++i) {
      const auto [easy, code] = done_[i];
      if (easy == nullptr) continue;
      CurlSession* session = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &session);
      if (session != nullptr) session->finish(code, now);
    }
  }
  reaping_ = false;
}

}  // namespace curl_internal

std::unique_ptr<HttpClient> make_curl_client(boost::asio::io_context& io, const http::Url& origin,
                                             const NativeClientOptions& timeouts,
                                             const TransportOptions& options) {
  return std::make_unique<curl_internal::CurlClient>(io, origin, timeouts, options);
}

}  // namespace strain
