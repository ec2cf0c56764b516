// A one-thread HTTP/1.1 server on 127.0.0.1 for scrape tests: canned answers, or none at all.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

namespace strain::watch::test {

class TinyHttpServer {
 public:
  enum class Mode { answer, silent };  // silent: accept, read the request, never reply

  // Answers every request with `status` and `body`; closes after each response.
  TinyHttpServer(int status, std::string body, Mode mode = Mode::answer, bool length = true)
      : status_(status), body_(std::move(body)), mode_(mode), length_(length) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    REQUIRE(::pipe2(wake_, O_CLOEXEC) == 0);
    thread_ = std::thread([this] { run(); });
  }
  ~TinyHttpServer() {
    const char c = 'x';
    (void)!::write(wake_[1], &c, 1);
    thread_.join();
    ::close(listener_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  TinyHttpServer(const TinyHttpServer&) = delete;
  TinyHttpServer& operator=(const TinyHttpServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/metrics") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int requests() const { return requests_.load(); }
  // The request line and headers of the last request.
  std::string last_request() const {
    std::lock_guard lock(mutex_);
    return last_request_;
  }

 private:
  // Waits for `fd` readable or the wake pipe; false on wake.
  bool wait_for(int fd) const {
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0) {
    }
    return (fds[1].revents & POLLIN) == 0;
  }

  void run() {
    while (wait_for(listener_)) {
      const int c = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos && wait_for(c)) {
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      ++requests_;
      {
        std::lock_guard lock(mutex_);
        last_request_ = request;
      }
      if (mode_ == Mode::silent) {
        wait_for(-1);  // hold the connection open until the server stops
        ::close(c);
        return;
      }
      std::string head = "HTTP/1.1 " + std::to_string(status_) + " Canned\r\n" +
                         "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n" +
                         "Connection: close\r\n";
      if (length_) head += "Content-Length: " + std::to_string(body_.size()) + "\r\n";
      head += "\r\n";
      send_all(c, head);
      send_all(c, body_);
      ::close(c);
    }
  }

  static void send_all(int fd, const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;  // the client gave up (oversized bodies): fine
      off += static_cast<std::size_t>(n);
    }
  }

  int status_;
  std::string body_;
  Mode mode_;
  bool length_;
  int listener_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};
  std::atomic<int> requests_{0};
  mutable std::mutex mutex_;
  std::string last_request_;  // guarded by mutex_
  std::thread thread_;
};

// A loopback port nothing listens on: bound, then closed.
inline int refused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace strain::watch::test
