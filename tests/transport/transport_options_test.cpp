// The pure pieces of the transport choice: which client serves a URL, which flags are refused,
// how libcurl's and OpenSSL's failures become error kinds, and the structured request view.
#include "engine/transport/transport_options.hpp"

#include <doctest/doctest.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <string>
#include <vector>

#include "engine/transport/curl/curl_errors.hpp"
#include "engine/transport/curl/curl_library.hpp"
#include "engine/transport/request_template.hpp"
#include "engine/transport/tls/tls_stream.hpp"
#include "engine/transport/url.hpp"

using strain::ErrorKind;
using strain::TransportKind;
using strain::TransportOptions;

TEST_CASE("automatic transport: native for HTTP/1.1 and HTTP/2, libcurl for what only it has") {
  const auto http = strain::http::parse_url("http://127.0.0.1:8080/");
  const auto https = strain::http::parse_url("https://127.0.0.1:8443/");
  TransportOptions o;
  CHECK(choose_transport(o, http) == TransportKind::native);
  CHECK(choose_transport(o, https) == TransportKind::native);
  o.http2 = true;
  CHECK(choose_transport(o, http) == TransportKind::native);
  CHECK(choose_transport(o, https) == TransportKind::native);
  o.kind = TransportKind::native;
  CHECK(check_transport(o, https).empty());
  o = {};
  for (int which = 1; which < 4; ++which) {
    TransportOptions c;
    if (which == 1) c.proxy = "http://127.0.0.1:3128";
    if (which == 2) c.follow = true;
    if (which == 3) c.resolve = {"localhost:8443:127.0.0.1"};
    CAPTURE(which);
    CHECK(choose_transport(c, https) == TransportKind::curl);
    CHECK(check_transport(c, https).empty());
    c.kind = TransportKind::native;  // forced: refused with the reason
    CHECK(check_transport(c, https).find("--transport native") != std::string::npos);
  }
  o.kind = TransportKind::curl;
  CHECK(choose_transport(o, http) == TransportKind::curl);
  // libcurl before 8.0.0 breaks h2c on a reused connection (curl#10634): refused up front.
  o.http2 = true;
  CHECK(check_transport(o, http).empty() == strain::curl_reuses_prior_knowledge());
  CHECK(check_transport(o, https).empty());
}

TEST_CASE("transport flags are checked before any traffic") {
  const auto url = strain::http::parse_url("https://localhost/");
  TransportOptions o;
  o.tls.cacert = "/nonexistent/ca.pem";
  CHECK(check_transport(o, url).find("--cacert") != std::string::npos);
  o = {};
  o.tls.key = "/nonexistent/key.pem";
  CHECK(check_transport(o, url).find("--key") != std::string::npos);
  o = {};
  o.max_streams = 0;
  CHECK(check_transport(o, url).find("--max-streams") != std::string::npos);
  for (const std::string bad : {"localhost", "localhost:443", ":443:127.0.0.1", "localhost::1"}) {
    CAPTURE(bad);
    o = {};
    o.resolve = {bad};
    CHECK(check_transport(o, url).find("--resolve") != std::string::npos);
  }
  o = {};
  o.resolve = {"localhost:443:127.0.0.1", "localhost:443:[::1]"};
  CHECK(check_transport(o, url).empty());
}

TEST_CASE("OpenSSL verify results name the TLS failure") {
  CHECK(strain::tls_verify_failure(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) ==
        ErrorKind::tls_unknown_ca);
  CHECK(strain::tls_verify_failure(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) ==
        ErrorKind::tls_unknown_ca);
  CHECK(strain::tls_verify_failure(X509_V_ERR_CERT_HAS_EXPIRED) == ErrorKind::tls_expired);
  CHECK(strain::tls_verify_failure(X509_V_ERR_CERT_NOT_YET_VALID) == ErrorKind::tls_expired);
  CHECK(strain::tls_verify_failure(X509_V_ERR_HOSTNAME_MISMATCH) == ErrorKind::tls_wrong_host);
  CHECK(strain::tls_verify_failure(X509_V_ERR_IP_ADDRESS_MISMATCH) == ErrorKind::tls_wrong_host);
  CHECK(strain::tls_verify_failure(X509_V_ERR_CERT_REVOKED) == ErrorKind::tls_handshake);
  CHECK(strain::is_tls_error(ErrorKind::tls_expired));
  CHECK_FALSE(strain::is_tls_error(ErrorKind::dns));
}

TEST_CASE("libcurl results become error kinds") {
  using strain::CurlFailure;
  auto kind = [](CURLcode code, long os_errno = 0, long verify = 0, bool connected = false) {
    return strain::error_kind_of(CurlFailure{code, os_errno, verify, connected});
  };
  CHECK(kind(CURLE_OK) == ErrorKind::none);
  CHECK(kind(CURLE_COULDNT_RESOLVE_HOST) == ErrorKind::dns);
  CHECK(kind(CURLE_COULDNT_CONNECT, ECONNREFUSED) == ErrorKind::connect_refused);
  CHECK(kind(CURLE_COULDNT_CONNECT, EMFILE) == ErrorKind::local_limit);
  CHECK(kind(CURLE_COULDNT_CONNECT, EHOSTUNREACH) == ErrorKind::connect_error);
  CHECK(kind(CURLE_OPERATION_TIMEDOUT, 0, 0, false) == ErrorKind::connect_timeout);
  CHECK(kind(CURLE_OPERATION_TIMEDOUT, 0, 0, true) == ErrorKind::timeout);
  CHECK(kind(CURLE_PEER_FAILED_VERIFICATION, 0, X509_V_ERR_CERT_HAS_EXPIRED) ==
        ErrorKind::tls_expired);
  CHECK(kind(CURLE_PEER_FAILED_VERIFICATION, 0, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) ==
        ErrorKind::tls_unknown_ca);
  // libcurl's own host name check: the chain verified (0) or "unspecified" (1).
  CHECK(kind(CURLE_PEER_FAILED_VERIFICATION, 0, 0) == ErrorKind::tls_wrong_host);
  CHECK(kind(CURLE_PEER_FAILED_VERIFICATION, 0, 1) == ErrorKind::tls_wrong_host);
  CHECK(kind(CURLE_SSL_CONNECT_ERROR) == ErrorKind::tls_handshake);
  CHECK(kind(CURLE_SSL_CERTPROBLEM) == ErrorKind::tls_handshake);
  CHECK(kind(CURLE_RECV_ERROR) == ErrorKind::reset);
  CHECK(kind(CURLE_GOT_NOTHING) == ErrorKind::closed);
  CHECK(kind(CURLE_PARTIAL_FILE) == ErrorKind::closed);
  CHECK(kind(CURLE_HTTP2) == ErrorKind::protocol);
  CHECK(kind(CURLE_TOO_MANY_REDIRECTS) == ErrorKind::protocol);
  CHECK(kind(CURLE_WEIRD_SERVER_REPLY) == ErrorKind::bad_response);
  CHECK(kind(CURLE_ABORTED_BY_CALLBACK) == ErrorKind::other);
}

TEST_CASE("the request view: method, target, header fields and body point into the bytes") {
  const auto url = strain::http::parse_url("http://localhost:8080/a?b=1");
  const std::vector<strain::http::Header> headers = {{"X-One", "1"}, {"Accept", " a/b "}};
  const strain::http::RequestTemplate t("PUT", url, headers, "body!");
  const auto v = t.view();
  CHECK(v.method == "PUT");
  CHECK(v.target == "/a?b=1");
  CHECK(v.body == "body!");
  CHECK(v.bytes.substr(v.bytes.size() - 5) == "body!");
  std::vector<std::string> seen;
  strain::http::for_each_header(v.header_lines, [&](const strain::http::HeaderView& h) {
    seen.push_back(std::string(h.name) + "=" + std::string(h.value));
  });
  const std::vector<std::string> expected = {"Host=localhost:8080", "User-Agent=strain/0.1",
                                             "X-One=1", "Accept=a/b", "Content-Length=5"};
  CHECK(seen == expected);
  // Views of a copy point into the copy.
  const strain::http::RequestTemplate copy = t;
  CHECK(copy.view().method.data() == copy.bytes().data());
  CHECK(copy.view().target == "/a?b=1");
}
