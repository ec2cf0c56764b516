#include "engine/transport/resolve.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <future>
#include <thread>

#include "engine/core/error.hpp"

namespace strain {
namespace {

bool try_literal(const std::string& host, std::uint16_t port, Endpoint& out) {
  sockaddr_in v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    out = Endpoint::of(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
    return true;
  }
  sockaddr_in6 v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    out = Endpoint::of(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
    return true;
  }
  return false;
}

struct Lookup {
  int rc = 0;
  Endpoint endpoint;
};

Lookup lookup(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  Lookup out;
  out.rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  // In the resolver's order (RFC 6724: the one most likely to work first); add() drops repeats
  // and stops at Endpoint::max_addresses.
  for (const addrinfo* ai = out.rc == 0 ? res : nullptr; ai != nullptr; ai = ai->ai_next) {
    out.endpoint.add(ai->ai_addr, ai->ai_addrlen);
  }
  if (res != nullptr) ::freeaddrinfo(res);
  return out;
}

}  // namespace

Endpoint resolve_endpoint(const std::string& host, std::uint16_t port,
                          std::chrono::milliseconds timeout) {
  Endpoint ep;
  if (try_literal(host, port, ep)) return ep;
  // getaddrinfo has no timeout of its own: run it aside and stop waiting after `timeout`.
  // A lookup still hanging then is left to finish on its detached thread.
  auto task =
      std::make_shared<std::packaged_task<Lookup()>>([host, port] { return lookup(host, port); });
  auto result = task->get_future();
  std::thread([task] { (*task)(); }).detach();
  if (result.wait_for(timeout) != std::future_status::ready) {
    throw UsageError("cannot resolve host '" + host + "': no answer within " +
                     std::to_string(timeout.count()) + " ms");
  }
  Lookup found = result.get();
  if (found.rc != 0) {
    throw UsageError("cannot resolve host '" + host + "': " + ::gai_strerror(found.rc));
  }
  if (found.endpoint.count == 0) {
    throw UsageError("cannot resolve host '" + host + "': no IPv4 or IPv6 address");
  }
  return found.endpoint;
}

}  // namespace strain
