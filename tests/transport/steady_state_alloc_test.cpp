// The native client allocates nothing per request once warm: counted with a replaced global
// operator new, on the client's thread only (the test's server thread allocates as it likes).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>

#include "engine/core/clock.hpp"
#include "engine/transport/native_client.hpp"
#include "engine/transport/request_template.hpp"
#include "engine/transport/url.hpp"

namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
}  // namespace

// noinline: GCC otherwise sees malloc meet free through inlining and warns of a mismatch.
[[gnu::noinline]] void* operator new(std::size_t size) {
  if (counting) ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

using namespace strain;

// Answers every request on one connection with a fixed keep-alive response, until closed.
struct KeepAliveServer {
  int listen_fd = -1;
  std::uint16_t port = 0;
  std::thread thread;

  KeepAliveServer() {
    listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd, 4) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    thread = std::thread([this] { serve(); });
  }
  ~KeepAliveServer() {
    ::shutdown(listen_fd, SHUT_RDWR);
    ::close(listen_fd);
    thread.join();
  }
  void serve() {
    const int fd = ::accept(listen_fd, nullptr, nullptr);
    if (fd < 0) return;
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    static const char response[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nhello, strain";
    std::string pending;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      pending.append(buf, static_cast<std::size_t>(n));
      for (auto end = pending.find("\r\n\r\n"); end != std::string::npos;
           end = pending.find("\r\n\r\n")) {
        pending.erase(0, end + 4);
        if (::send(fd, response, sizeof response - 1, MSG_NOSIGNAL) < 0) break;
      }
    }
    ::close(fd);
  }
};

struct Loop final : ExchangeObserver {
  Session* session = nullptr;
  const http::RequestTemplate* request = nullptr;
  int remaining = 0;
  int ok = 0;
  void on_exchange(const Exchange& ex) override {
    if (ex.error == ErrorKind::none && ex.status == 200) ++ok;
    if (--remaining > 0) session->start(*request, *this, ex.done_ns);
  }
};

}  // namespace

TEST_CASE("no allocation per request in steady state") {
  KeepAliveServer server;
  boost::asio::io_context io{1};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const Endpoint ep = Endpoint::of(reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  NativeClient client(io, ep, NativeClientOptions{});
  const auto url = http::parse_url("http://127.0.0.1:" + std::to_string(server.port) + "/");
  const http::RequestTemplate request("GET", url);
  auto session = client.open_session();
  Loop loop;
  loop.session = session.get();
  loop.request = &request;

  auto run = [&](int n) {
    loop.remaining = n;
    session->start(request, loop, now_ns());
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (loop.remaining > 0 && Clock::now() < deadline)
      io.run_one_for(std::chrono::milliseconds(50));
  };
  run(200);  // warm-up: connect, first buffers, Asio's handler memory
  REQUIRE(loop.ok == 200);

  counting = true;
  run(5000);
  counting = false;
  CHECK(loop.ok == 5200);
  // A few allocations may come from Asio's timer and handler bookkeeping, never one per request.
  CHECK(allocations < 10);
  MESSAGE("allocations during 5000 requests: " << allocations);
  client.shutdown();
  session.reset();
}
