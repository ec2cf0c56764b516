// One HTTP/2 connection of the native client: a socket on the worker's Poller, TLS with ALPN
// "h2" (or cleartext h2 with prior knowledge), and an nghttp2 session that frames the streams.
// nghttp2 only serialises and parses: the connection reads and writes itself, so every stream
// of a batch of events leaves in one write (DESIGN.md §6: the client's one-write rhythm).
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/transport/connect_backoff.hpp"
#include "engine/transport/deadline_list.hpp"
#include "engine/transport/endpoint.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/poller.hpp"
#include "engine/transport/tls/tls_stream.hpp"

namespace strain {

class H2Connection;

// One request on its way through a connection: owned by the session that started it, plain
// data the connection fills in as frames arrive.
struct H2Exchange {
  http::RequestView request;
  http::ResponseObserver* response_observer = nullptr;  // fields and body, when asked for
  Exchange result;
  std::int64_t started_ns = 0;  // when the session started it
  std::size_t body_sent = 0;    // bytes of request.body handed to nghttp2
  std::int32_t stream_id = -1;  // on `connection`; -1 when not submitted
  H2Connection* connection = nullptr;
  std::size_t active_index = 0;        // position in the connection's active list
  bool interim = false;                // reading a 1xx response's fields (not reported)
  bool retried = false;                // resent once after the server refused its stream
  bool refused = false;                // the server refused the stream: safe to send elsewhere
  DeadlineNode deadline;               // the request timeout; `owner` is the session
  H2Exchange* next_waiting = nullptr;  // the client's queue of exchanges waiting for a stream
};

// Told about a connection's exchanges as they end, and when it can take more.
class H2ConnectionListener {
 public:
  // `x` ended (result.error says how, or it was refused): it is off the connection. Called
  // while the connection works; the listener delivers it later, outside nghttp2's callbacks.
  virtual void on_exchange_end(H2Exchange& x) = 0;
  // The connection finished a round of I/O: streams may have freed up, or it went down.
  virtual void on_connection_io(H2Connection& c) = 0;

 protected:
  ~H2ConnectionListener() = default;
};

struct H2ConnectionOptions {
  std::uint32_t max_streams = 100;  // this side's cap on concurrent streams
  std::string scheme = "https";     // :scheme of every request
  std::string authority;            // :authority when a request has no Host field
  BackoffSchedule backoff;          // waits between failed connects (connect_backoff.hpp)
};

class H2Connection final : private PollHandler {
 public:
  H2Connection(Poller& poller, const Endpoint& endpoint, const TlsContext* tls,
               const H2ConnectionOptions& options, H2ConnectionListener& listener,
               DeadlineList& connect_deadlines, std::vector<char>& read_buffer);
  ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // Whether a new stream may open here now (connecting counts: the stream waits inside). Not
  // while the server is closing it, nor while a back-off after failed connects lasts.
  bool can_take(std::int64_t now_ns) const;
  std::size_t active() const { return active_.size(); }
  bool idle_closed() const { return state_ == State::closed; }

  // Submits `x` as a new stream, connecting first if closed. `closed` when this connection is
  // going away (try another; `x` is untouched), another error when no connect could start;
  // none when submitted. Frames leave at the next flush().
  ErrorKind submit(H2Exchange& x, std::int64_t now_ns);
  // Resets `x`'s stream (CANCEL); `x` is off the connection, not reported.
  void cancel(H2Exchange& x);
  // Writes what nghttp2 has queued, as far as the socket takes it.
  void flush(std::int64_t now_ns);
  bool wants_flush() const { return dirty_; }
  // The connect (and TLS handshake) took too long: every stream fails with connect_timeout.
  void expire_connect(std::int64_t now_ns);
  // Fails every stream with `kind` and closes (shutdown, or the run stops).
  void fail(ErrorKind kind, std::int64_t now_ns);

  DeadlineNode connect_node;           // armed while connecting; `owner` is this connection
  std::uint64_t connects = 0;          // sockets opened to connect, every address tried
  std::uint64_t connect_backoffs = 0;  // connects that first waited out a back-off

 private:
  enum class State : unsigned char { closed, connecting, handshaking, open, going_away };

  void on_poll(std::uint32_t events) override;
  ErrorKind connect(std::int64_t now_ns);
  void note_failed_connect(std::int64_t now_ns);
  ErrorKind try_next_address(std::int64_t now_ns);
  void on_ready();
  void read_all();
  bool new_session();
  void close_fd();
  void close_socket();
  void detach(H2Exchange& x);
  void end(H2Exchange& x, ErrorKind error, std::int64_t now_ns);

  friend struct H2Callbacks;  // nghttp2's callbacks (user_data is the connection)

  Poller& poller_;
  const Endpoint& endpoint_;
  const TlsContext* tls_;
  const H2ConnectionOptions& options_;
  H2ConnectionListener& listener_;
  DeadlineList& connect_deadlines_;
  std::vector<char>& read_buffer_;  // the client's, shared by its connections
  nghttp2_session* session_ = nullptr;
  TlsStream tls_stream_;
  State state_ = State::closed;
  int fd_ = -1;
  std::size_t address_ = 0;  // endpoint index being tried
  std::size_t addresses_tried_ = 0;
  std::int64_t connect_started_ns_ = 0;  // socket() of the first address
  std::int64_t tls_started_ns_ = 0;
  std::int64_t connect_ns_ = 0;  // what the first streams' exchanges are charged
  std::int64_t tls_ns_ = 0;
  std::int64_t now_ns_ = 0;  // the time of the I/O round in progress
  std::string out_;          // serialised frames not yet written
  std::size_t out_pos_ = 0;
  bool dirty_ = false;                      // nghttp2 may have frames to send
  bool writable_ = false;                   // the socket took everything last time
  bool broken_framing_ = false;             // nghttp2 sent a GOAWAY with an error: see fail()
  std::vector<H2Exchange*> active_;         // streams open here
  H2Exchange* opener_ = nullptr;            // the stream that made it connect, until it is ready
  std::string scratch_;                     // a request's field names, lowered
  std::vector<nghttp2_nv> fields_;          // a request's fields as nghttp2 takes them
  std::uint32_t remote_max_streams_ = 100;  // the server's SETTINGS_MAX_CONCURRENT_STREAMS
  std::uint32_t failed_connects_ = 0;       // in a row, each a connect or handshake that failed
  std::int64_t not_before_ns_ = 0;          // no connect before this (a back-off)
  std::uint64_t jitter_ = 0;                // next_random() state for the back-off's jitter
};

}  // namespace strain
