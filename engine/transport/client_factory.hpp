// Makes the transport for one origin: the one place that names a concrete client, so workers,
// Lua bindings and the CLI never do.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

#include "engine/transport/http_client.hpp"
#include "engine/transport/native_client.hpp"
#include "engine/transport/url.hpp"

namespace strain {

// Makes the client for `url`'s origin (scheme, host, port) on a worker's io_context. Throws
// strain::Error when it cannot (the host does not resolve). Tests pass a fake.
using ClientFactory =
    std::function<std::unique_ptr<HttpClient>(boost::asio::io_context&, const http::Url&)>;

// The native HTTP/1.1 transport, resolving the host (with a timeout) when a client is made.
ClientFactory native_client_factory(NativeClientOptions options);

}  // namespace strain
