// Endpoint's address list and resolve_endpoint: order kept, repeats dropped, bounded, literals
// without a lookup. Names resolved are loopback only.
#include "engine/transport/endpoint.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <chrono>
#include <string>

#include "engine/transport/resolve.hpp"

using strain::Endpoint;
using strain::SocketAddress;

namespace {

sockaddr_in v4(const char* ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

sockaddr_in6 v6(const char* ip, std::uint16_t port) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  ::inet_pton(AF_INET6, ip, &a.sin6_addr);
  return a;
}

template <class Address>
bool add(Endpoint& e, const Address& a) {
  return e.add(reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

std::uint16_t port_of(const SocketAddress& a) {
  return a.storage.ss_family == AF_INET
             ? ntohs(reinterpret_cast<const sockaddr_in&>(a.storage).sin_port)
             : ntohs(reinterpret_cast<const sockaddr_in6&>(a.storage).sin6_port);
}

bool is_loopback(const SocketAddress& a) {
  if (a.storage.ss_family == AF_INET) {
    return ntohl(reinterpret_cast<const sockaddr_in&>(a.storage).sin_addr.s_addr) >> 24 == 127;
  }
  const auto& six = reinterpret_cast<const sockaddr_in6&>(a.storage);
  return a.storage.ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&six.sin6_addr);
}

}  // namespace

TEST_CASE("endpoint: addresses kept in order, repeats dropped, at most 8") {
  Endpoint e;
  CHECK(add(e, v6("::1", 80)));
  CHECK(add(e, v4("127.0.0.1", 80)));
  CHECK_FALSE(add(e, v4("127.0.0.1", 80)));  // a repeat
  auto padded = v4("127.0.0.1", 80);
  padded.sin_zero[3] = 7;  // padding is not part of the address
  CHECK_FALSE(add(e, padded));
  CHECK_FALSE(add(e, v6("::1", 80)));
  CHECK(add(e, v4("127.0.0.1", 81)));  // another port is another address
  REQUIRE(e.count == 3);
  CHECK(e.addresses[0].storage.ss_family == AF_INET6);
  CHECK(e.addresses[1].storage.ss_family == AF_INET);
  CHECK(port_of(e.addresses[2]) == 81);
  for (int i = 2; i < 7; ++i) {
    CHECK(add(e, v4(("127.0.0." + std::to_string(i)).c_str(), 80)));
  }
  CHECK(e.count == Endpoint::max_addresses);
  CHECK_FALSE(add(e, v4("127.0.0.99", 80)));  // full
  CHECK(e.count == Endpoint::max_addresses);

  sockaddr unix_like{};
  unix_like.sa_family = AF_UNIX;
  Endpoint other;
  CHECK_FALSE(other.add(&unix_like, sizeof unix_like));
  CHECK(other.count == 0);
  const auto four = v4("127.0.0.1", 9);
  const Endpoint one = Endpoint::of(reinterpret_cast<const sockaddr*>(&four), sizeof four);
  CHECK(one.count == 1);
  CHECK(one.addresses[0].length == sizeof(sockaddr_in));
}

TEST_CASE("resolve_endpoint: an IP literal gives one address, a name all of its addresses") {
  using namespace std::chrono_literals;
  const Endpoint four = strain::resolve_endpoint("127.0.0.1", 8080, 2000ms);
  REQUIRE(four.count == 1);
  CHECK(four.addresses[0].storage.ss_family == AF_INET);
  CHECK(port_of(four.addresses[0]) == 8080);

  const Endpoint six = strain::resolve_endpoint("::1", 8081, 2000ms);
  REQUIRE(six.count == 1);
  CHECK(six.addresses[0].storage.ss_family == AF_INET6);
  CHECK(port_of(six.addresses[0]) == 8081);

  const Endpoint local = strain::resolve_endpoint("localhost", 8082, 2000ms);
  REQUIRE(local.count >= 1);
  REQUIRE(local.count <= Endpoint::max_addresses);
  for (std::size_t i = 0; i < local.count; ++i) {
    CAPTURE(i);
    CHECK(is_loopback(local.addresses[i]));
    CHECK(port_of(local.addresses[i]) == 8082);
    for (std::size_t j = 0; j < i; ++j)
      CHECK_FALSE(strain::same_address(local.addresses[i], local.addresses[j]));
  }
}
