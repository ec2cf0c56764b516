#include "engine/transport/client_factory.hpp"

#include <chrono>
#include <utility>

#include "engine/core/error.hpp"
#include "engine/transport/curl/curl_client.hpp"
#include "engine/transport/resolve.hpp"
#include "engine/transport/tls/tls_stream.hpp"

namespace strain {
namespace {

// The native client's TLS context for an https:// origin (one per client: per worker and host).
std::shared_ptr<const TlsContext> tls_of(const TransportOptions& options, const http::Url& url) {
  if (url.scheme != "https") return nullptr;
  return std::make_shared<const TlsContext>(options.tls, url.host);
}

}  // namespace

ClientFactory client_factory(NativeClientOptions timeouts, TransportOptions options) {
  return [timeouts, options = std::move(options)](
             boost::asio::io_context& io, const http::Url& url) -> std::unique_ptr<HttpClient> {
    if (auto why = check_transport(options, url); !why.empty()) throw UsageError(why);
    if (choose_transport(options, url) == TransportKind::curl)
      return make_curl_client(io, url, timeouts, options);
    const Endpoint ep = resolve_endpoint(url.host, url.port, std::chrono::milliseconds(5000));
    return std::make_unique<NativeClient>(io, ep, timeouts, tls_of(options, url));
  };
}

ClientFactory client_factory(NativeClientOptions timeouts, TransportOptions options,
                             Endpoint resolved) {
  return [timeouts, options = std::move(options), resolved](
             boost::asio::io_context& io, const http::Url& url) -> std::unique_ptr<HttpClient> {
    if (auto why = check_transport(options, url); !why.empty()) throw UsageError(why);
    if (choose_transport(options, url) == TransportKind::curl)
      return make_curl_client(io, url, timeouts, options);
    return std::make_unique<NativeClient>(io, resolved, timeouts, tls_of(options, url));
  };
}

}  // namespace strain
