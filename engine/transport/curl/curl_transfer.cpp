#include "engine/transport/curl/curl_transfer.hpp"

#include <algorithm>

#include "engine/transport/curl/curl_errors.hpp"

namespace strain {
namespace {

// libcurl 7.88 sends a POST body shorter than this with the head (http.c, MAX_INITIAL_POST_SIZE).
constexpr std::size_t kBodyWithHeadBytes = 64 * 1024;

std::int64_t us_to_ns(curl_off_t us) {
  return static_cast<std::int64_t>(us) * 1000;
}

}  // namespace

bool read_transfer(CURL* easy, CURLcode code, const TransferMarks& marks, Exchange& ex) {
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t dns_us = 0, connect_us = 0, tls_us = 0;
  curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &dns_us);
  curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &tls_us);
  long new_connections = 0;
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &new_connections);
  curl_off_t down = 0, up = 0;
  long header_bytes = 0, request_bytes = 0;
  curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
  curl_easy_getinfo(easy, CURLINFO_SIZE_UPLOAD_T, &up);
  curl_easy_getinfo(easy, CURLINFO_HEADER_SIZE, &header_bytes);
  curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_bytes);

  ex.done_ns = marks.done_ns;
  // The pre-request callback ran: the request went out on a connection that was up (a new
  // one, or a reused or multiplexed one, whose connect time libcurl reports as 0).
  const bool sent = ex.sent_ns != 0;
  if (!sent) ex.sent_ns = marks.done_ns;  // failed before sending
  if (new_connections > 0 && marks.socket_opened_ns != 0) {
    ex.dns_ns = us_to_ns(dns_us);
    const std::int64_t setup_ns = std::max<std::int64_t>(0, ex.sent_ns - marks.socket_opened_ns);
    const std::int64_t tcp_ns = us_to_ns(std::max<curl_off_t>(0, connect_us - dns_us));
    const std::int64_t tls_ns =
        tls_us > 0 ? us_to_ns(std::max<curl_off_t>(0, tls_us - connect_us)) : 0;
    // Split the measured set-up in libcurl's proportions.
    const std::int64_t both = tcp_ns + tls_ns;
    ex.tls_ns = both > 0 ? static_cast<std::int64_t>(static_cast<double>(setup_ns) *
                                                     static_cast<double>(tls_ns) /
                                                     static_cast<double>(both))
                         : 0;
    ex.connect_ns = setup_ns - ex.tls_ns;
  }
  ex.bytes_in = static_cast<std::uint64_t>(down) + static_cast<std::uint64_t>(header_bytes);
  // libcurl sends a body under 64 KiB in the same write as the head and counts it in both
  // the request size and the upload; a larger one only in the upload.
  const bool body_in_head = marks.has_body && marks.body_bytes < kBodyWithHeadBytes &&
                            request_bytes >= static_cast<long>(up);
  ex.bytes_out = static_cast<std::uint64_t>(request_bytes) +
                 (body_in_head ? 0 : static_cast<std::uint64_t>(up));

  if (code == CURLE_OK && status > 0) {
    long version = 0;
    curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
    if (marks.require_h2 && version != CURL_HTTP_VERSION_2_0) {
      // libcurl falls back to HTTP/1.1 when the server's ALPN does not choose h2; the native
      // client fails that handshake, and so does this one: --http2 measures HTTP/2 or nothing.
      ex.error = ErrorKind::tls_handshake;
      ex.status = 0;
      return true;  // as a failed handshake, the next attempt backs off
    }
    ex.status = static_cast<int>(status);
    return false;
  }
  CurlFailure f;
  f.code = code == CURLE_OK ? CURLE_WEIRD_SERVER_REPLY : code;
  curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &f.os_errno);
  curl_easy_getinfo(easy, CURLINFO_SSL_VERIFYRESULT, &f.ssl_verify_result);
  f.connected = connect_us > 0 || sent;
  f.message = marks.error_text;
  ex.error = error_kind_of(f);
  ex.status = 0;
  return !sent;
}

}  // namespace strain
