#include "engine/transport/curl/curl_errors.hpp"

#include <cerrno>
#include <cstring>

#include "engine/transport/tls/tls_stream.hpp"

namespace strain {
namespace {

// libcurl 7.88 checks the host name itself after the chain verified, and then reports
// X509_V_OK (0) or X509_V_ERR_UNSPECIFIED (1): the host was wrong.
ErrorKind verify_failure(long verify_result) {
  if (verify_result == 0 || verify_result == 1) return ErrorKind::tls_wrong_host;
  return tls_verify_failure(verify_result);
}

bool is_local_limit(long os_errno) {
  return os_errno == EMFILE || os_errno == ENFILE || os_errno == EADDRNOTAVAIL ||
         os_errno == ENOBUFS || os_errno == ENOMEM;
}

// libcurl's own message says so: some failures share a code with unrelated ones.
bool says(const CurlFailure& f, const char* text) {
  return f.message != nullptr && std::strstr(f.message, text) != nullptr;
}

}  // namespace

ErrorKind error_kind_of(const CurlFailure& f) {
  switch (f.code) {
    case CURLE_OK:
      return ErrorKind::none;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return ErrorKind::dns;
    case CURLE_COULDNT_CONNECT:
      if (f.os_errno == ECONNREFUSED) return ErrorKind::connect_refused;
      if (is_local_limit(f.os_errno)) return ErrorKind::local_limit;
      return ErrorKind::connect_error;
    case CURLE_OPERATION_TIMEDOUT:
      return f.connected ? ErrorKind::timeout : ErrorKind::connect_timeout;
    case CURLE_PEER_FAILED_VERIFICATION:
      return verify_failure(f.ssl_verify_result);
    case CURLE_SSL_CONNECT_ERROR:
      // A failed chain can surface here too, with the verify result set. libcurl 7.88 sets it
      // to 1 (not X509_V_OK) as a handshake begins, so 1 here means no certificate was ever
      // verified (a server that does not speak TLS, no shared protocol): not a wrong host.
      return f.ssl_verify_result > 1 ? verify_failure(f.ssl_verify_result)
                                     : ErrorKind::tls_handshake;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
      return ErrorKind::tls_handshake;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      // libcurl 7.88 refuses a response head over 300 KiB as a receive error.
      if (says(f, "Too large response headers")) return ErrorKind::bad_response;
      return ErrorKind::reset;
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return ErrorKind::closed;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_FILESIZE_EXCEEDED:
      return ErrorKind::bad_response;
    case CURLE_UNSUPPORTED_PROTOCOL:
      // "Received HTTP/0.9 when not allowed": the answer was not HTTP (a status line).
      if (says(f, "HTTP/0.9")) return ErrorKind::bad_response;
      return ErrorKind::protocol;
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_TOO_MANY_REDIRECTS:
      return ErrorKind::protocol;
    case CURLE_OUT_OF_MEMORY:
      // "Avoided giant realloc for header": one header line over libcurl's 100 KiB.
      if (says(f, "giant realloc")) return ErrorKind::bad_response;
      return ErrorKind::local_limit;
    default:
      return ErrorKind::other;
  }
}

}  // namespace strain
