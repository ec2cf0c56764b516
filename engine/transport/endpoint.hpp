// Where a client connects: every address one host name resolved to, in the resolver's order.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>

namespace strain {

// One IPv4 or IPv6 socket address, port included. Plain data; copyable.
struct SocketAddress {
  sockaddr_storage storage{};  // the address, port included
  socklen_t length = 0;        // meaningful bytes of `storage`

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// True when both name the same family, address, port (and IPv6 scope); padding is ignored.
bool same_address(const SocketAddress& a, const SocketAddress& b);

// The addresses to try, in order, duplicates removed. Plain data; copyable (about 1 KiB).
struct Endpoint {
  // A name with more addresses than this is a round-robin pool: the first few are plenty to
  // get past a family the target does not listen on, and the bound keeps the struct fixed-size.
  static constexpr std::size_t max_addresses = 8;

  std::array<SocketAddress, max_addresses> addresses{};  // the first `count` are meaningful
  std::size_t count = 0;                                 // addresses held, 0..max_addresses

  // Appends an IPv4 or IPv6 address of `length` bytes. Returns false, leaving the list as it
  // was, when it is already held, the list is full, or it is neither IPv4 nor IPv6.
  bool add(const sockaddr* address, socklen_t length);
  // An endpoint of the one address `address` (IPv4 or IPv6); empty if it is neither.
  static Endpoint of(const sockaddr* address, socklen_t length);
};

}  // namespace strain
