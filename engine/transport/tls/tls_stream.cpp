#include "engine/transport/tls/tls_stream.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <pthread.h>

#include <cerrno>
#include <csignal>
#include <limits>

#include "engine/core/error.hpp"

namespace strain {
namespace {

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

// OpenSSL writes to the socket with write(), not send(MSG_NOSIGNAL): a write to a connection
// the peer has reset raises SIGPIPE, which kills the process. Blocked once on every thread
// that speaks TLS, the write fails with EPIPE instead: a reset, counted as one.
void block_sigpipe_on_this_thread() {
  thread_local const bool blocked = [] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    return pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0;
  }();
  (void)blocked;
}

}  // namespace

ErrorKind tls_verify_failure(long verify_result) {
  switch (verify_result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return ErrorKind::tls_unknown_ca;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return ErrorKind::tls_expired;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return ErrorKind::tls_wrong_host;
    default:
      return ErrorKind::tls_handshake;
  }
}

TlsContext::TlsContext(const TlsOptions& options, std::string host, std::string_view alpn,
                       bool read_ahead)
    : host_(std::move(host)), host_is_ip_(is_ip_literal(host_)), verify_(!options.insecure) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) throw Error("TLS: cannot make a context: " + openssl_error());
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  // Partial writes: a request larger than a TLS record goes out as the socket takes it.
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (read_ahead) {
    SSL_CTX_set_read_ahead(ctx_, 1);
    SSL_CTX_set_default_read_buffer_len(ctx_, 64 * 1024);
  }
  // ALPN's wire form: one length-prefixed protocol name.
  std::string wire(1, static_cast<char>(alpn.size()));
  wire += alpn;
  SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned>(wire.size()));
  if (verify_) {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    const bool loaded = options.cacert.empty() ? SSL_CTX_set_default_verify_paths(ctx_) == 1
                                               : SSL_CTX_load_verify_locations(
                                                     ctx_, options.cacert.c_str(), nullptr) == 1;
    if (!loaded) {
      const std::string why = openssl_error();
      SSL_CTX_free(ctx_);
      throw Error("--cacert: cannot load '" + options.cacert + "': " + why);
    }
  } else {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  }
  if (!options.cert.empty()) {
    const std::string& key = options.key.empty() ? options.cert : options.key;
    if (SSL_CTX_use_certificate_chain_file(ctx_, options.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx_) != 1) {
      const std::string why = openssl_error();
      SSL_CTX_free(ctx_);
      throw Error("--cert/--key: cannot use '" + options.cert + "': " + why);
    }
  }
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

TlsStream::~TlsStream() {
  close();
}

bool TlsStream::open(const TlsContext& ctx, int fd) {
  close();
  block_sigpipe_on_this_thread();
  ssl_ = SSL_new(ctx.get());
  if (ssl_ == nullptr) return false;
  if (SSL_set_fd(ssl_, fd) != 1) {
    close();
    return false;
  }
  if (!ctx.host_is_ip()) SSL_set_tlsext_host_name(ssl_, ctx.host().c_str());
  if (ctx.verify()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    const int ok = ctx.host_is_ip() ? X509_VERIFY_PARAM_set1_ip_asc(param, ctx.host().c_str())
                                    : X509_VERIFY_PARAM_set1_host(param, ctx.host().c_str(), 0);
    if (ok != 1) {
      close();
      return false;
    }
  }
  SSL_set_connect_state(ssl_);
  failure_ = ErrorKind::tls_handshake;
  return true;
}

std::string_view TlsStream::alpn() const {
  const unsigned char* name = nullptr;
  unsigned len = 0;
  if (ssl_ != nullptr) SSL_get0_alpn_selected(ssl_, &name, &len);
  return name == nullptr ? std::string_view()
                         : std::string_view(reinterpret_cast<const char*>(name), len);
}

void TlsStream::close() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  ssl_ = nullptr;
  established_ = false;
}

TlsStream::Io TlsStream::result(int rc) {
  const int e = SSL_get_error(ssl_, rc);
  switch (e) {
    case SSL_ERROR_WANT_READ:
      return Io::want_read;
    case SSL_ERROR_WANT_WRITE:
      return Io::want_write;
    case SSL_ERROR_ZERO_RETURN:
      return Io::eof;
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (errno == ECONNRESET || errno == EPIPE) return Io::reset;
      return established_ ? Io::eof : Io::failed;
    default: {
      // A certificate that failed verification says why; anything else is the handshake's.
      const long verify = SSL_get_verify_result(ssl_);
      failure_ = verify != X509_V_OK ? tls_verify_failure(verify) : ErrorKind::tls_handshake;
      ERR_clear_error();
      // An unexpected EOF after the handshake is a close without close_notify: an EOF.
      return established_ ? Io::eof : Io::failed;
    }
  }
}

TlsStream::Io TlsStream::handshake() {
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    established_ = true;
    return Io::ok;
  }
  const Io io = result(rc);
  // The peer closed or reset during the handshake: the handshake failed.
  return io == Io::eof || io == Io::reset ? Io::failed : io;
}

TlsStream::Io TlsStream::read(char* out, std::size_t len, std::size_t& n) {
  const int rc = SSL_read_ex(ssl_, out, len, &n) == 1 ? 1 : 0;
  if (rc == 1) return Io::ok;
  return result(rc);
}

TlsStream::Io TlsStream::write(const char* data, std::size_t len, std::size_t& n) {
  const int rc = SSL_write_ex(ssl_, data, len, &n) == 1 ? 1 : 0;
  if (rc == 1) return Io::ok;
  return result(rc);
}

}  // namespace strain
