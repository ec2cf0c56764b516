#include "engine/transport/endpoint.hpp"

#include <netinet/in.h>

#include <cstring>

namespace strain {

bool same_address(const SocketAddress& a, const SocketAddress& b) {
  if (a.storage.ss_family != b.storage.ss_family) return false;
  if (a.storage.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(a.storage);
    const auto& y = reinterpret_cast<const sockaddr_in&>(b.storage);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  if (a.storage.ss_family == AF_INET6) {
    const auto& x = reinterpret_cast<const sockaddr_in6&>(a.storage);
    const auto& y = reinterpret_cast<const sockaddr_in6&>(b.storage);
    return x.sin6_port == y.sin6_port && x.sin6_scope_id == y.sin6_scope_id &&
           std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
  }
  return a.length == b.length && std::memcmp(&a.storage, &b.storage, a.length) == 0;
}

bool Endpoint::add(const sockaddr* address, socklen_t length) {
  if (count == max_addresses || address == nullptr) return false;
  const bool v4 = address->sa_family == AF_INET && length >= sizeof(sockaddr_in);
  const bool v6 = address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6);
  if (!v4 && !v6) return false;
  SocketAddress candidate;
  candidate.length = v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  std::memcpy(&candidate.storage, address, candidate.length);
  for (std::size_t i = 0; i < count; ++i) {
    if (same_address(addresses[i], candidate)) return false;
  }
  addresses[count++] = candidate;
  return true;
}

Endpoint Endpoint::of(const sockaddr* address, socklen_t length) {
  Endpoint endpoint;
  endpoint.add(address, length);
  return endpoint;
}

}  // namespace strain
