// Makes the transport for one origin: the one place that names a concrete client, so workers,
// Lua bindings and the CLI never do.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

#include "engine/transport/endpoint.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/native_client.hpp"
#include "engine/transport/transport_options.hpp"
#include "engine/transport/url.hpp"

namespace strain {

// Makes the client for `url`'s origin (scheme, host, port) on a worker's io_context. Throws
// strain::Error when it cannot (the host does not resolve). Tests pass a fake.
using ClientFactory =
    std::function<std::unique_ptr<HttpClient>(boost::asio::io_context&, const http::Url&)>;

// The transport choose_transport() picks for each origin: native ones resolve the host (with a
// timeout) when a client is made; libcurl resolves per connection (failures count as dns).
ClientFactory client_factory(NativeClientOptions timeouts, TransportOptions options);

// As client_factory, with the native client's addresses resolved already (a --url run).
ClientFactory client_factory(NativeClientOptions timeouts, TransportOptions options,
                             Endpoint resolved);

}  // namespace strain
