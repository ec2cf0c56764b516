// A scripted HTTP/1.1 server on 127.0.0.1 for transport tests, and the client-side helpers
// that drive a transport against it: the server's own counts are the truth tests check against.
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/core/outcome.hpp"
#include "engine/transport/endpoint.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/request_template.hpp"
#include "engine/transport/url.hpp"

namespace strain::test {

using namespace std::chrono_literals;

// The scripted server: one thread, blocking POSIX sockets multiplexed with poll(), 127.0.0.1:0.

// What the server does once a reply has been sent.
enum class Then : std::uint8_t {
  keep_open,  // wait for the next request on the connection
  close,      // close(): the client sees FIN
  reset,      // SO_LINGER 0, then close(): the client sees RST
};

struct Reply {
  std::string bytes;                      // sent as-is; empty: never answer
  Then then = Then::keep_open;            // what follows the bytes
  std::chrono::milliseconds delay = 0ms;  // the server thread waits this long first
};

// One complete request as the server read it off the wire.
struct SeenRequest {
  int connection = 0;  // accept order, from 0
  std::string raw;     // head and Content-Length body, byte for byte
};

// The request a script is asked to answer.
struct Incoming {
  int connection;          // accept order, from 0
  int on_connection;       // index of this request on its connection, from 0
  int index;               // index among all requests, from 0
  const std::string& raw;  // the request's bytes
};

// Chooses the reply to one request. Runs on the server thread.
using Script = std::function<Reply(const Incoming&)>;

// What the server saw and did; copied out under its lock.
struct ServerRecord {
  int accepts = 0;                    // connections accepted
  int replies = 0;                    // non-empty replies sent in full
  int server_closes = 0;              // connections the server closed (Then::close or reset)
  int peer_closes = 0;                // connections that ended from the client's side
  std::vector<SeenRequest> requests;  // every complete request, in arrival order
};

inline Script always(const Reply& reply) {
  return [reply](const Incoming&) { return reply; };
}

// Content-Length of a request head (lower-cased search), 0 when absent.
inline std::size_t content_length(std::string_view head) {
  std::string lower(head);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; });
  const auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  std::size_t value = 0;
  for (std::size_t i = at + 17; i < lower.size(); ++i) {
    const char c = lower[i];
    if (c == ' ' || c == '\t') continue;
    if (c < '0' || c > '9') break;
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value;
}

class ScriptedServer {
 public:
  explicit ScriptedServer(Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("server socket");
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(listen_fd_);
      throw std::runtime_error("server bind");
    }
    listen_and_run();
  }

  // Listens on `bound_fd`, a socket already bound (and refusing until now); takes ownership.
  ScriptedServer(Script script, int bound_fd) : script_(std::move(script)), listen_fd_(bound_fd) {
    ::fcntl(listen_fd_, F_SETFL, ::fcntl(listen_fd_, F_GETFL) | O_NONBLOCK);
    listen_and_run();
  }

  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  std::uint16_t port() const { return port_; }

  // Asks the server thread to close every open connection, as a server's keep-alive timeout
  // does (`how`: Then::close for FIN, Then::reset for RST); each counts in server_closes.
  void close_connections(Then how = Then::close) {
    close_how_ = how;
    close_all_ = true;
  }

  ServerRecord record() const {
    std::lock_guard lock(mutex_);
    return record_;
  }

  // Waits (at most `limit`) until `done` holds for the record; returns whether it does.
  bool wait_for(const std::function<bool(const ServerRecord&)>& done,
                std::chrono::milliseconds limit = 2000ms) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return done(record_); });
  }

 private:
  void listen_and_run() {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    if (::listen(listen_fd_, 1024) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ::close(listen_fd_);
      throw std::runtime_error("server listen");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
  }

  struct Connection {
    int fd = -1;
    int index = 0;     // accept order
    int requests = 0;  // requests answered so far
    std::string buffer;
  };

  void run() {
    std::vector<Connection> connections;
    std::vector<pollfd> fds;
    std::vector<char> chunk(64 * 1024);
    // Never outlive a broken test, whatever happens.
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (!stop_ && std::chrono::steady_clock::now() < give_up) {
      fds.clear();
      fds.push_back({listen_fd_, POLLIN, 0});
      for (const auto& c : connections)
        fds.push_back({c.fd, POLLIN, 0});
      if (close_all_.exchange(false)) {
        for (auto& c : connections) {
          if (close_how_ == Then::reset) abort_on_close(c.fd);
          ::close(c.fd);
          c.fd = -1;
          update([](ServerRecord& r) { ++r.server_closes; });
        }
        connections.clear();
        continue;
      }
      if (::poll(fds.data(), fds.size(), 5) <= 0) continue;
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        Connection& c = connections[i - 1];
        const ssize_t n = ::recv(c.fd, chunk.data(), chunk.size(), 0);
        if (n <= 0) {
          ::close(c.fd);
          c.fd = -1;
          update([](ServerRecord& r) { ++r.peer_closes; });
          continue;
        }
        c.buffer.append(chunk.data(), static_cast<std::size_t>(n));
        serve(c);
      }
      std::erase_if(connections, [](const Connection& c) { return c.fd < 0; });
      if ((fds[0].revents & POLLIN) != 0) accept_all(connections);
    }
    for (const auto& c : connections)
      ::close(c.fd);
  }

  void accept_all(std::vector<Connection>& connections) {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      // Blocking sockets, read only when poll() says so; sends give up after a second.
      const timeval limit{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
      Connection c;
      c.fd = fd;
      c.index = next_connection_++;
      connections.push_back(std::move(c));
      update([](ServerRecord& r) { ++r.accepts; });
    }
  }

  // Answers every complete request in the buffer.
  void serve(Connection& c) {
    for (;;) {
      const auto head_end = c.buffer.find("\r\n\r\n");
      if (head_end == std::string::npos) return;
      const std::size_t size = head_end + 4 + content_length(c.buffer.substr(0, head_end + 2));
      if (c.buffer.size() < size) return;
      const std::string raw = c.buffer.substr(0, size);
      c.buffer.erase(0, size);
      const int index = next_request_++;
      update([&](ServerRecord& r) { r.requests.push_back({c.index, raw}); });
      const Reply reply = script_(Incoming{c.index, c.requests++, index, raw});
      if (reply.delay > 0ms) std::this_thread::sleep_for(reply.delay);
      if (!reply.bytes.empty()) {
        if (!send_all(c.fd, reply.bytes)) return;
        update([](ServerRecord& r) { ++r.replies; });
      }
      if (reply.then == Then::keep_open) continue;
      if (reply.then == Then::reset) abort_on_close(c.fd);
      ::close(c.fd);
      c.fd = -1;
      update([](ServerRecord& r) { ++r.server_closes; });
      return;
    }
  }

  // SO_LINGER 0: close() sends RST.
  static void abort_on_close(int fd) {
    const linger now{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
  }

  static bool send_all(int fd, std::string_view bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  template <class Change>
  void update(Change change) {
    {
      std::lock_guard lock(mutex_);
      change(record_);
    }
    changed_.notify_all();
  }

  Script script_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  int next_connection_ = 0;  // server thread only
  int next_request_ = 0;     // server thread only
  std::atomic<bool> stop_{false};
  std::atomic<bool> close_all_{false};
  std::atomic<Then> close_how_{Then::close};
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  ServerRecord record_;  // guarded by mutex_
  std::thread thread_;
};

// A port with a bound socket that does not listen: a connect to it is refused, and nobody else
// can take the port while the holder lives.
class RefusingPort {
 public:
  // On 127.0.0.1, a port of the kernel's choice.
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("refusing port");
    }
    port_ = ntohs(address.sin_port);
  }
  // On [::1]:port; held() is false when that cannot be bound (no IPv6): a connect there fails
  // anyway then, only not necessarily as refused.
  explicit RefusingPort(std::uint16_t port) : port_(port) {
    fd_ = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(port);
    address.sin6_addr = in6addr_loopback;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RefusingPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  std::uint16_t port() const { return port_; }
  bool held() const { return fd_ >= 0; }
  // Hands the bound socket over (to a ScriptedServer that starts listening on it).
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A listener on 127.0.0.1 whose accept queue is full: listen(0) admits one unaccepted
// connection, so after two fillers the kernel drops further SYNs and a connect stays in
// SYN_SENT until its timeout.
class BlackHole {
 public:
  BlackHole() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener_ < 0 ||
        ::bind(listener_, reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
        ::listen(listener_, 0) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("black hole");
    }
    for (int i = 0; i < 2; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      ::connect(fd, reinterpret_cast<const sockaddr*>(&address), length);
      fillers_.push_back(fd);
    }
    port_ = ntohs(address.sin_port);
  }
  ~BlackHole() {
    for (int fd : fillers_)
      ::close(fd);
    ::close(listener_);
  }
  BlackHole(const BlackHole&) = delete;
  BlackHole& operator=(const BlackHole&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  std::vector<int> fillers_;
  std::uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The client side.

// 127.0.0.1:port.
inline strain::Endpoint loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return strain::Endpoint::of(reinterpret_cast<const sockaddr*>(&address), sizeof address);
}

inline strain::http::RequestTemplate make_request(
    std::uint16_t port, std::string_view method = "GET", std::string_view path = "/",
    const std::vector<strain::http::Header>& headers = {}, std::string_view body = {}) {
  const auto url =
      strain::http::parse_url("http://127.0.0.1:" + std::to_string(port) + std::string(path));
  return strain::http::RequestTemplate(method, url, headers, body);
}

// Records every exchange; `then` runs after each and may start the next one.
class Recorder final : public strain::ExchangeObserver {
 public:
  void on_exchange(const Exchange& exchange) override {
    ++depth_;
    max_depth = std::max(max_depth, depth_);
    seen.push_back(exchange);
    if (then) then(exchange);
    --depth_;
  }

  std::vector<Exchange> seen;                 // in the order reported
  std::function<void(const Exchange&)> then;  // optional follow-up
  int max_depth = 0;                          // deepest nesting of on_exchange calls

 private:
  int depth_ = 0;
};

// Runs `io` until `done()` or until `limit` has passed; returns done(). Never an unbounded wait.
template <class Done>
inline bool run_until(boost::asio::io_context& io, Done done,
                      std::chrono::milliseconds limit = 3000ms) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= give_up) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(10ms);
  }
  return true;
}

inline void run_for(boost::asio::io_context& io, std::chrono::milliseconds duration) {
  run_until(
      io, [] { return false; }, duration);
}

inline std::size_t count(int n) {
  return static_cast<std::size_t>(n);
}

inline std::int64_t ms(std::int64_t nanoseconds) {
  return nanoseconds / 1'000'000;
}

inline std::string describe(const Exchange& e) {
  return "status " + std::to_string(e.status) + ", error " +
         std::string(strain::to_string(e.error)) + ", bytes_in " + std::to_string(e.bytes_in) +
         ", took " + std::to_string(ms(e.done_ns - e.sent_ns)) + " ms";
}

inline const std::string ok_hello = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

// ---------------------------------------------------------------------------------------------
// Isolation: every client test runs in a child process, so that an abort (a failed STRAIN_ASSERT,
// a sanitizer report), a crash or a hang fails that test alone, and its time limit holds even if
// the client never returns to its loop.

inline int failed_assertions = 0;  // failed doctest assertions in this process

// Counts failed assertions, so that a child process can tell its parent it saw one.
class FailureCounter final : public doctest::IReporter {
 public:
  explicit FailureCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData& data) override {
    if (data.m_failed) ++failed_assertions;
  }
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

// Registered once per test binary that includes this header (doctest keys listeners by name).
DOCTEST_REGISTER_LISTENER("failure_counter", 1, FailureCounter);

// Runs `body` in a child process and waits at most `limit` for it. The child prints its own
// failed assertions (doctest's console output is shared) and ends with 0 only when it had none.
// Returns "" when the child was sound, else how it failed. STRAIN_TEST_INLINE=1 runs `body` in
// this process instead, for a debugger.
inline std::string run_in_child(const std::function<void()>& body,
                                std::chrono::milliseconds limit) {
  if (const char* inline_run = std::getenv("STRAIN_TEST_INLINE");
      inline_run != nullptr && inline_run[0] == '1') {
    body();
    return "";
  }
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    // The parent reports how the child ended; doctest's own crash handlers would only add a
    // second, bogus summary. Unbuffered, so that nothing is lost to an abort.
    for (int signal_number : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) {
      ::signal(signal_number, SIG_DFL);
    }
    std::cout << std::unitbuf;
    int code = 0;
    const int failed_before = failed_assertions;
    try {
      body();
    } catch (const std::exception& e) {
      std::cout << "uncaught exception in the child: " << e.what() << std::endl;
      code = 3;
    } catch (...) {
      // A failed REQUIRE: already reported and counted.
    }
    if (code == 0 && failed_assertions > failed_before) code = 2;
    std::cout.flush();
    ::_exit(code);
  }
  const auto give_up = std::chrono::steady_clock::now() + limit;
  int status = 0;
  pid_t ended = 0;
  while ((ended = ::waitpid(pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(2ms);
  }
  if (ended == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return "the child hung and was killed after " + std::to_string(limit.count()) + " ms";
  }
  if (WIFSIGNALED(status)) {
    return "the child was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           ::strsignal(WTERMSIG(status)) + "): see its stderr above";
  }
  switch (WEXITSTATUS(status)) {
    case 0:
      return "";
    case 2:
      return "the child's assertions failed: see above";
    case 3:
      return "the child threw: see above";
    default:
      return "the child exited with " + std::to_string(WEXITSTATUS(status)) + ": see above";
  }
}

// The body of a test case, run in a child process (see run_in_child); doctest assertions allowed.
inline void isolated(const std::function<void()>& body, std::chrono::milliseconds limit = 15000ms) {
  const std::string failure = run_in_child(body, limit);
  CHECK_MESSAGE(failure.empty(), failure);
}

}  // namespace strain::test
