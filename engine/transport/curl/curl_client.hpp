// The libcurl transport: one multi handle per worker, driven by the worker's event loop with
// curl_multi_socket_action (sockets on the worker's Poller, one Asio timer), one easy handle per
// session. HTTPS, HTTP/2 multiplexing, proxies, client certificates, redirects, --resolve.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "engine/transport/http_client.hpp"
#include "engine/transport/native_client.hpp"
#include "engine/transport/transport_options.hpp"
#include "engine/transport/url.hpp"

namespace strain {

// A client for `origin` (scheme, host and port; the target is ignored) on `io`'s thread.
// Timeouts: connect_timeout covers connecting and the TLS handshake, request_timeout the whole
// exchange, idle_timeout a stalled transfer (to the second). Throws strain::Error when libcurl
// cannot be set up.
std::unique_ptr<HttpClient> make_curl_client(boost::asio::io_context& io, const http::Url& origin,
                                             const NativeClientOptions& timeouts,
                                             const TransportOptions& options);

}  // namespace strain
