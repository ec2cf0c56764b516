// How requests travel: which transport, HTTP version, TLS, proxy, redirects and name overrides.
// Plain data from the command line (or a script's options) to the client factory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/transport/url.hpp"

namespace strain {

enum class TransportKind : std::uint8_t {
  automatic,  // native for HTTP/1.1 (http://, https://) without curl-only options, else curl
  native,     // strain's own HTTP/1.1 client, TLS by OpenSSL: the fast path
  curl,       // libcurl's multi interface: HTTPS, HTTP/2, proxies, redirects, client certificates
};

struct TlsOptions {
  std::string cacert;     // --cacert: PEM file of CAs to trust instead of the system's
  std::string cert;       // --cert: client certificate (PEM)
  std::string key;        // --key: the client certificate's private key (PEM)
  bool insecure = false;  // --insecure: no certificate or host name check
};

struct TransportOptions {
  TransportKind kind = TransportKind::automatic;
  bool http2 = false;  // --http2: HTTP/2 (ALPN over TLS, prior knowledge over plain http://)
  // HTTP/2: most connections per origin, shared by the VUs; 0: as many as the streams need.
  std::uint32_t connections = 0;
  std::uint32_t max_streams = 100;  // HTTP/2: most concurrent streams per connection
  std::string proxy;                // --proxy URL; environment proxies are never used
  TlsOptions tls;
  bool follow = false;               // --follow: follow redirects
  std::uint32_t max_redirects = 10;  // with --follow
  std::vector<std::string> resolve;  // --resolve host:port:addr, as curl takes it
};

// Which transport serves `url` under `options`. Automatic picks native for HTTP/1.1 unless an
// option only libcurl has is asked for (HTTP/2, a proxy, redirects, --resolve).
TransportKind choose_transport(const TransportOptions& options, const http::Url& url);

// Empty when `options` can serve `url`, else one line saying what is wrong (e.g. native with
// https://, a missing --cacert file, --key without --cert). Reads the files' existence only.
std::string check_transport(const TransportOptions& options, const http::Url& url);

// "native" or "curl" (automatic is resolved by choose_transport first).
const char* to_string(TransportKind kind);

}  // namespace strain
