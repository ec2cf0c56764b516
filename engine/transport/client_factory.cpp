#include "engine/transport/client_factory.hpp"

#include <chrono>
#include <utility>

#include "engine/core/error.hpp"
#include "engine/transport/curl/curl_client.hpp"
#include "engine/transport/h2/h2_client.hpp"
#include "engine/transport/resolve.hpp"
#include "engine/transport/tls/tls_stream.hpp"

namespace strain {
namespace {

// The native client's TLS context for an https:// origin (one per client: per worker and host).
std::shared_ptr<const TlsContext> tls_of(const TransportOptions& options, const http::Url& url) {
  if (url.scheme != "https") return nullptr;
  // HTTP/2 drains every read to want_read, so it may let OpenSSL read ahead.
  return std::make_shared<const TlsContext>(options.tls, url.host,
                                            options.http2 ? "h2" : "http/1.1", options.http2);
}

// The native client for `url` at `ep`: HTTP/2 when asked for, HTTP/1.1 otherwise.
std::unique_ptr<HttpClient> native_client(boost::asio::io_context& io, const http::Url& url,
                                          const Endpoint& ep, const NativeClientOptions& timeouts,
                                          const TransportOptions& options) {
  if (!options.http2) return std::make_unique<NativeClient>(io, ep, timeouts, tls_of(options, url));
  H2ClientOptions h2;
  h2.connections = options.connections;
  h2.max_streams = options.max_streams;
  h2.scheme = url.scheme;
  h2.authority = url.host_header;
  return make_h2_client(io, ep, timeouts, std::move(h2), tls_of(options, url));
}

}  // namespace

ClientFactory client_factory(NativeClientOptions timeouts, TransportOptions options) {
  return [timeouts, options = std::move(options)](
             boost::asio::io_context& io, const http::Url& url) -> std::unique_ptr<HttpClient> {
    if (auto why = check_transport(options, url); !why.empty()) throw UsageError(why);
    if (choose_transport(options, url) == TransportKind::curl)
      return make_curl_client(io, url, timeouts, options);
    const Endpoint ep = resolve_endpoint(url.host, url.port, std::chrono::milliseconds(5000));
    return native_client(io, url, ep, timeouts, options);
  };
}

ClientFactory client_factory(NativeClientOptions timeouts, TransportOptions options,
                             Endpoint resolved) {
  return [timeouts, options = std::move(options), resolved](
             boost::asio::io_context& io, const http::Url& url) -> std::unique_ptr<HttpClient> {
    if (auto why = check_transport(options, url); !why.empty()) throw UsageError(why);
    if (choose_transport(options, url) == TransportKind::curl)
      return make_curl_client(io, url, timeouts, options);
    return native_client(io, url, resolved, timeouts, options);
  };
}

}  // namespace strain
