// Turns a URL's host into an address before any traffic, with a timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "engine/transport/endpoint.hpp"

namespace strain {

// Resolves host:port to every address the name has (up to Endpoint::max_addresses, in the
// resolver's order, repeats removed; an IP literal gives one, without a lookup). Throws
// UsageError naming the host when it does not resolve or the lookup takes longer than `timeout`.
Endpoint resolve_endpoint(const std::string& host, std::uint16_t port,
                          std::chrono::milliseconds timeout);

}  // namespace strain
