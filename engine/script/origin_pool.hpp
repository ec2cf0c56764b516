// The transports of a scripted run on one worker: one client per origin the script reaches.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/transport/client_factory.hpp"
#include "engine/transport/http_client.hpp"

namespace strain {

// Worker thread only. Bounded: a script that builds hosts from data gets an error past
// kMaxOrigins, not a connection pool per host.
class OriginPool {
 public:
  static constexpr std::size_t kMaxOrigins = 32;  // distinct scheme://host:port per run

  OriginPool(boost::asio::io_context& io, ClientFactory clients)
      : io_(io), clients_(std::move(clients)) {}

  // The origin of `url`, whose first `prefix_len` bytes are "scheme://host[:port]": found, or
  // parsed and made (the host resolved) on first use. nullopt with `error` set otherwise.
  std::optional<std::uint32_t> find_or_add(std::string_view url, std::size_t prefix_len,
                                           std::string& error);
  HttpClient& client(std::uint32_t origin) { return *origins_[origin].client; }
  const std::string& host_header(std::uint32_t origin) const {
    return origins_[origin].host_header;
  }

  // Sums over every client.
  std::uint64_t in_flight() const;
  std::uint64_t connects() const;
  std::uint64_t stale_retries() const;
  std::uint64_t connect_backoffs() const;
  void shutdown();

 private:
  struct Origin {
    std::string prefix;       // "http://host:port" as the script wrote it
    std::string host_header;  // Host value
    std::unique_ptr<HttpClient> client;
  };
  boost::asio::io_context& io_;
  ClientFactory clients_;
  std::vector<Origin> origins_;
};

}  // namespace strain
