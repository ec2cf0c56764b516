// The native HTTP/2 transport: a few multiplexed connections per worker on its Poller, framed
// by nghttp2, every virtual user a stream at a time. Over TLS the server must choose "h2" by
// ALPN; over cleartext (http://) it speaks h2 with prior knowledge.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/transport/endpoint.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/native_client.hpp"

namespace strain {

class TlsContext;

struct H2ClientOptions {
  // Most connections this client opens; 0: as many as the sessions need at max_streams each.
  std::uint32_t connections = 0;
  std::uint32_t max_streams = 100;  // concurrent streams per connection (the server may lower it)
  std::string scheme = "https";     // "https" (with `tls`) or "http" (cleartext h2)
  std::string authority;            // host[:port], for requests without a Host field
};

// Timeouts as the HTTP/1.1 client's: connect_timeout covers connecting and the TLS handshake,
// request_timeout each exchange from its start (the wait for a stream included). An exchange
// that finds every connection's streams taken waits, first come first served; its wait shows
// as `blocked`. Throws strain::Error when nghttp2 cannot be set up.
std::unique_ptr<HttpClient> make_h2_client(boost::asio::io_context& io, const Endpoint& endpoint,
                                           const NativeClientOptions& timeouts,
                                           H2ClientOptions options,
                                           std::shared_ptr<const TlsContext> tls);

}  // namespace strain
