#include "engine/transport/transport_options.hpp"

#include <curl/curl.h>

#include <filesystem>
#include <system_error>

#include "engine/transport/curl/curl_library.hpp"

namespace strain {
namespace {

bool needs_curl(const TransportOptions& o, const http::Url& url) {
  return (url.scheme != "http" && url.scheme != "https") || !o.proxy.empty() || o.follow ||
         !o.resolve.empty();
}

// Empty when `path` is a readable regular file, else why not, naming the flag.
std::string check_file(const char* flag, const std::string& path) {
  if (path.empty()) return {};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return std::string(flag) + ": '" + path + "' is not a readable file";
  }
  return {};
}

}  // namespace

TransportKind choose_transport(const TransportOptions& o, const http::Url& url) {
  if (o.kind != TransportKind::automatic) return o.kind;
  return needs_curl(o, url) ? TransportKind::curl : TransportKind::native;
}

std::string check_transport(const TransportOptions& o, const http::Url& url) {
  if (o.kind == TransportKind::native && needs_curl(o, url)) {
    return "--transport native speaks HTTP/1.1 and HTTP/2 (http:// and https://) without "
           "--proxy, --follow or --resolve; leave --transport out or use curl";
  }
  for (const auto& [flag, path] :
       {std::pair{"--cacert", &o.tls.cacert}, std::pair{"--cert", &o.tls.cert},
        std::pair{"--key", &o.tls.key}}) {
    if (auto why = check_file(flag, *path); !why.empty()) return why;
  }
  if (!o.tls.key.empty() && o.tls.cert.empty()) return "--key needs --cert";
  if (o.http2 && url.scheme == "http" && choose_transport(o, url) == TransportKind::curl &&
      !curl_reuses_prior_knowledge()) {
    return std::string("--transport curl --http2 over http:// (prior knowledge): libcurl ") +
           curl_version_info(CURLVERSION_NOW)->version +
           " fails every request after the first on a connection (curl#10634, fixed in 8.0.0); "
           "leave --transport out (the native client speaks it)";
  }
  if (o.max_streams == 0) return "--max-streams: must be 1 or more";
  for (const auto& r : o.resolve) {
    // host:port:address, address possibly a bracketed IPv6 literal.
    const auto first = r.find(':');
    const auto second = first == std::string::npos ? first : r.find(':', first + 1);
    if (first == 0 || second == std::string::npos || second == first + 1 ||
        second + 1 >= r.size()) {
      return "--resolve: '" + r + "' is not host:port:address";
    }
  }
  return {};
}

const char* to_string(TransportKind kind) {
  switch (kind) {
    case TransportKind::automatic:
      return "automatic";
    case TransportKind::native:
      return "native";
    case TransportKind::curl:
      return "curl";
  }
  return "?";
}

}  // namespace strain
