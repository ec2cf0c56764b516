// TLS for the native client: OpenSSL over a non-blocking socket the client already polls.
// The client keeps its one-write, one-read rhythm; OpenSSL only encrypts and decrypts.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "engine/core/outcome.hpp"
#include "engine/transport/transport_options.hpp"

struct ssl_ctx_st;
struct ssl_st;

namespace strain {

// The trust and identity of every TLS connection one client makes (an SSL_CTX): the system's
// CAs or --cacert, a client certificate, verification unless --insecure. Shared by sessions.
class TlsContext {
 public:
  // Throws strain::Error naming the file when a certificate or key cannot be loaded.
  // `alpn`: the one application protocol offered ("http/1.1", or "h2" for HTTP/2).
  // `read_ahead`: OpenSSL reads all the socket has (up to 64 KiB) in one call, not a record
  // header then its body: half the read() calls. Only for a reader that calls read() until it
  // says want_read every time (HTTP/2): bytes left in OpenSSL's buffer bring no epoll edge.
  TlsContext(const TlsOptions& options, std::string host, std::string_view alpn = "http/1.1",
             bool read_ahead = false);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* get() const { return ctx_; }
  const std::string& host() const { return host_; }  // checked against the certificate
  bool host_is_ip() const { return host_is_ip_; }
  bool verify() const { return verify_; }

 private:
  ssl_ctx_st* ctx_ = nullptr;
  std::string host_;
  bool host_is_ip_ = false;
  bool verify_ = true;
};

// One TLS connection's state over a socket owned by the caller.
class TlsStream {
 public:
  enum class Io : unsigned char {
    ok,          // bytes moved (or the handshake is done)
    want_read,   // wait for the socket to be readable, then call again
    want_write,  // wait for it to be writable, then call again
    eof,         // the peer closed (close_notify or a plain FIN)
    reset,       // the connection broke (ECONNRESET, EPIPE)
    failed,      // a TLS failure: see failure()
  };

  TlsStream() = default;
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Starts a client connection on `fd`: SNI and the host check from `ctx`. False on failure.
  bool open(const TlsContext& ctx, int fd);
  bool is_open() const { return ssl_ != nullptr; }
  // The protocol the server chose by ALPN after the handshake; empty when it chose none.
  std::string_view alpn() const;
  // Frees the connection's TLS state (the socket is the caller's to close).
  void close();

  Io handshake();
  // Reads up to `len` decrypted bytes into `out`; `n` gets how many when ok.
  Io read(char* out, std::size_t len, std::size_t& n);
  // Writes from `data`; `n` gets how many were taken when ok (possibly fewer than `len`).
  Io write(const char* data, std::size_t len, std::size_t& n);
  // Why the last call failed: tls_unknown_ca, tls_expired, tls_wrong_host or tls_handshake.
  ErrorKind failure() const { return failure_; }

 private:
  Io result(int rc);

  ssl_st* ssl_ = nullptr;
  ErrorKind failure_ = ErrorKind::tls_handshake;
  // The handshake finished. Kept here: after a fatal error (an EOF without close_notify is
  // one in OpenSSL 3) SSL_is_init_finished() is false again, and the close would pass for a
  // failed handshake.
  bool established_ = false;
};

// The TLS kind of an OpenSSL X509_V_* verify result (0: no certificate problem, so the
// failure was elsewhere: tls_handshake). Shared with the libcurl transport's mapping.
ErrorKind tls_verify_failure(long verify_result);

}  // namespace strain
