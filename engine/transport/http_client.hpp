// The transport seam: one HttpClient per worker, one Session per virtual user.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/core/outcome.hpp"
#include "engine/transport/request_template.hpp"
#include "engine/transport/request_view.hpp"
#include "engine/transport/response_observer.hpp"

namespace strain {

// What one request/response exchange produced. Plain data; times are monotonic ns (now_ns()).
struct Exchange {
  int status = 0;                     // HTTP status; 0 when error != none
  ErrorKind error = ErrorKind::none;  // transport failure, if any
  std::int64_t sent_ns = 0;           // when the first request byte was written
  std::int64_t done_ns = 0;           // when the response completed (or the error was seen)
  std::int64_t connect_ns = 0;     // connecting, every address tried (no back-off); 0 when reused
  std::int64_t dns_ns = 0;         // resolving the host for this exchange; 0 when not looked up
  std::int64_t tls_ns = 0;         // the TLS handshake; 0 when reused or plain
  std::int64_t first_byte_ns = 0;  // when the first response byte arrived; 0 when none did
  std::uint64_t bytes_in = 0;      // response bytes read (head + body)
  std::uint64_t bytes_out = 0;     // request bytes written
};

// The phases of one exchange in k6's names, in ns: waiting is time to first byte after the
// send, receiving the rest. Phases that did not happen are 0.
struct ExchangePhases {
  std::int64_t blocked_ns = 0;  // queued for a connection or stream (and name lookup)
  std::int64_t connecting_ns = 0;
  std::int64_t tls_handshaking_ns = 0;
  std::int64_t waiting_ns = 0;
  std::int64_t receiving_ns = 0;
};

// Splits a completed exchange into its phases; `started_ns` is when start() was called.
inline ExchangePhases phases_of(const Exchange& ex, std::int64_t started_ns) {
  ExchangePhases p;
  p.connecting_ns = ex.connect_ns;
  p.tls_handshaking_ns = ex.tls_ns;
  if (ex.sent_ns > 0 && ex.first_byte_ns >= ex.sent_ns) {
    p.waiting_ns = ex.first_byte_ns - ex.sent_ns;
    p.receiving_ns = ex.done_ns - ex.first_byte_ns;
  }
  const std::int64_t before_send = ex.sent_ns - started_ns - ex.connect_ns - ex.tls_ns;
  p.blocked_ns = before_send > 0 ? before_send : 0;
  return p;
}

// Receives the outcome of a started exchange. Called on the worker's thread, exactly once per
// start(); it may call Session::start() again from inside the callback.
class ExchangeObserver {
 public:
  virtual void on_exchange(const Exchange& exchange) = 0;

 protected:
  ~ExchangeObserver() = default;
};

// Receives the raw bytes of each response as they are read, framing included: one append per
// read, so keeping a response costs a copy, and parsing its fields waits until someone asks.
class ResponseCapture {
 public:
  virtual void on_response_bytes(std::string_view bytes) = 0;
  // The exchange is being retried on a new connection: forget the bytes so far.
  virtual void on_response_restart() = 0;

 protected:
  ~ResponseCapture() = default;
};

// A virtual user's connection(s). Owned by the VU; used on the worker's thread only.
class Session {
 public:
  virtual ~Session() = default;
  // Starts one exchange; the request's bytes and `observer` must outlive it. One at a time.
  // now_ns is the caller's current time (now_ns()): one clock read shared along the path.
  virtual void start(const http::RequestView& request, ExchangeObserver& observer,
                     std::int64_t now_ns) = 0;
  void start(const http::RequestTemplate& request, ExchangeObserver& observer,
             std::int64_t now_ns) {
    start(request.view(), observer, now_ns);
  }
  // Reports the fields and body of every later response to `observer` (not owned; null stops).
  // Call between exchanges. Without one, responses are parsed and their bytes never kept.
  virtual void set_response_observer(http::ResponseObserver* observer) = 0;
  // Hands every later response's raw bytes to `capture` (not owned; null stops). Returns false
  // when this transport cannot, and the caller uses set_response_observer instead.
  virtual bool set_response_capture(ResponseCapture* capture) {
    (void)capture;
    return false;
  }
  // True while an exchange is in flight.
  virtual bool busy() const = 0;
  // The run gives up on the exchange in flight: it ends now as ErrorKind::abandoned, reported to
  // its observer (done_ns = now_ns, so its wait is a lower bound), and the connection closes.
  // One that had already failed, its report still pending, is reported now as it failed.
  // No-op when nothing is in flight.
  virtual void abandon(std::int64_t now_ns) = 0;
  // Aborts any exchange in flight without calling the observer and closes the connection.
  virtual void close() = 0;
};

// One per worker: owns sockets, buffers and timers for all of that worker's sessions.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual std::unique_ptr<Session> open_session() = 0;
  // Number of exchanges in flight across all sessions.
  virtual std::uint64_t in_flight() const = 0;
  // Connect attempts so far (first connects, reconnects, each address tried).
  virtual std::uint64_t connects() const { return 0; }
  // Requests resent once, or reconnected before sending, because the server had closed their
  // keep-alive connection before it could have read them.
  virtual std::uint64_t stale_retries() const { return 0; }
  // Connects that first waited out a back-off after a failed connect.
  virtual std::uint64_t connect_backoffs() const { return 0; }
  // Closes every session's connection and stops timers; in-flight exchanges are abandoned.
  virtual void shutdown() {}
};

}  // namespace strain
