// libcurl's result codes in strain's vocabulary of failures (engine/core/outcome.hpp).
#pragma once

#include <curl/curl.h>

#include "engine/core/outcome.hpp"

namespace strain {

// What libcurl said about a failed transfer, read from the easy handle.
struct CurlFailure {
  CURLcode code = CURLE_OK;
  long os_errno = 0;           // CURLINFO_OS_ERRNO: the socket error behind a connect failure
  long ssl_verify_result = 0;  // CURLINFO_SSL_VERIFYRESULT: OpenSSL's X509_V_* code, 0 if none
  bool connected = false;      // a connection was up (a connect time, or the request was sent)
  const char* message = "";    // libcurl's error buffer (CURLOPT_ERRORBUFFER), never null
};

// The kind of failure; ErrorKind::none only for CURLE_OK. TLS failures say why (unknown CA,
// expired, wrong host, anything else as tls_handshake).
ErrorKind error_kind_of(const CurlFailure& failure);

}  // namespace strain
