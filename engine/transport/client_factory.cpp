#include "engine/transport/client_factory.hpp"

#include <chrono>

#include "engine/transport/resolve.hpp"

namespace strain {

ClientFactory native_client_factory(NativeClientOptions options) {
  return [options](boost::asio::io_context& io, const http::Url& url) {
    const Endpoint ep = resolve_endpoint(url.host, url.port, std::chrono::milliseconds(5000));
    return std::make_unique<NativeClient>(io, ep, options);
  };
}

}  // namespace strain
