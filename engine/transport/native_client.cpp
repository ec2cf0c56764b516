#include "engine/transport/native_client.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>

#include "engine/core/assert.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/open_sockets.hpp"
#include "engine/transport/request_template.hpp"
#include "engine/transport/resend_rule.hpp"
#include "engine/transport/response_parser.hpp"
#include "engine/transport/tls/tls_stream.hpp"

namespace strain {

// One virtual user's keep-alive connection. Lives on the worker's thread.
class NativeSession final : public Session, private PollHandler {
 public:
  explicit NativeSession(NativeClient& client) : client_(client) {
    timeout_node_.owner = this;
    idle_node_.owner = this;
    wake_node_.owner = this;
    index_ = client_.sessions_.size();
    client_.sessions_.push_back(this);
  }

  ~NativeSession() override {
    close();
    // A session dropped mid-batch must not be flushed afterwards (rare: only at teardown).
    auto& deferred = client_.deferred_;
    deferred.erase(std::remove(deferred.begin(), deferred.end(), this), deferred.end());
    // Swap-remove keeps teardown O(1) per session even with 100,000 of them.
    auto& all = client_.sessions_;
    all[index_] = all.back();
    all[index_]->index_ = index_;
    all.pop_back();
  }

  using Session::start;
  void start(const http::RequestView& request, ExchangeObserver& observer,
             std::int64_t now) override {
    STRAIN_ASSERT(!busy());
    request_ = request;
    observer_ = &observer;
    ++generation_;
    retried_ = false;
    report_posted_ = false;
    exchange_ = Exchange{};
    parser_.reset(request.head);
    ++client_.in_flight_;
    in_start_ = true;
    if (client_.shut_down_)
      fail(ErrorKind::other, now);
    else if (fd_ < 0)
      connect_after_backoff(now);
    else if (now - idle_since_ns_ > kIdleProbeAfterNs && !still_open()) {
      // The server closed it while it sat idle: reconnect before sending, no error.
      ++client_.stale_retries_;
      close_fd();
      connect(now);
    } else {
      reused_ = true;
      if (client_.in_batch_) {
        // Sends are held until the batch of responses has been read, then go out together:
        // the server gets them as one burst and both sides wake less often (wrk's rhythm,
        // and about a tenth fewer context switches). The wait is a few microseconds of
        // strain's own time; it counts in response time, not in service time.
        send_held_ = true;
        if (!listed_deferred_) {  // abandoned and restarted in one batch: listed already
          listed_deferred_ = true;
          client_.deferred_.push_back(this);
        }
      } else {
        send(now);
      }
    }
    in_start_ = false;
  }

  // Sends a request held during a batch, unless it ended meanwhile (abandoned, closed).
  void send_deferred(std::int64_t now) {
    listed_deferred_ = false;
    if (!send_held_) return;
    send_held_ = false;
    if (fd_ < 0) {
      // The server closed it while the send was held: as the idle probe does, reconnect first.
      ++client_.stale_retries_;
      return connect(now);
    }
    send(now);
  }

  bool busy() const override { return observer_ != nullptr; }

  void set_response_observer(http::ResponseObserver* observer) override {
    STRAIN_ASSERT(!busy());
    parser_.set_observer(observer);
  }

  bool set_response_capture(ResponseCapture* capture) override {
    STRAIN_ASSERT(!busy());
    capture_ = capture;
    return true;
  }

  void close() override {
    if (busy()) --client_.in_flight_;
    observer_ = nullptr;
    report_posted_ = false;
    disarm();
    close_fd();
  }

  void abandon(std::int64_t now) override {
    if (!busy()) return;
    // Failed inside start() and its report still posted: it ended before the run gave up on
    // it, so it is reported now as it ended (the posted report then finds nothing to do).
    if (report_posted_) return notify();
    fail(ErrorKind::abandoned, now);
  }

  // A timeout fired: fail the exchange in flight (a connect timeout moves on to the next address).
  void expire(ErrorKind kind, std::int64_t now) {
    if (!busy()) return;
    if (kind == ErrorKind::connect_timeout) return connect_failed(kind, now);
    fail(kind, now);
  }

  // The back-off is over: connect now.
  void end_backoff(std::int64_t now) {
    ++client_.connect_backoffs_;
    connect(now);
  }

 private:
  enum class State : std::uint8_t {
    closed,
    backing_off,
    connecting,
    handshaking,  // TLS: connected, the handshake under way
    writing,
    reading,
    idle
  };

  // After a connect that failed on every address, the next one waits; the exchange is in
  // flight meanwhile (it counts in response time, and sent_ns stays the real send).
  void connect_after_backoff(std::int64_t now) {
    if (failed_connects_ == 0 || !client_.backoff_.enabled()) return connect(now);
    state_ = State::backing_off;
    client_.wait_out_backoff(wake_node_, failed_connects_, now);
  }

  // Starts connecting: the address that worked last first, then the others in the resolver's
  // order. Recorded per session, so another session's success does not reorder this one's turn.
  void connect(std::int64_t now) {
    connect_phase_ns_ = now;
    attempt_ = 0;
    first_address_ = client_.preferred_address_;
    try_address(now);
  }

  // The endpoint index of this connect phase's attempt number attempt_.
  std::size_t address_index() const {
    if (attempt_ == 0) return first_address_;
    return attempt_ - 1 < first_address_ ? attempt_ - 1 : attempt_;
  }

  void try_address(std::int64_t now) {
    if (attempt_ >= client_.endpoint_.count) return fail(ErrorKind::connect_error, now);
    const SocketAddress& address = client_.endpoint_.addresses[address_index()];
    fd_ = ::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return connect_failed(local_error_kind(errno, ErrorKind::connect_error), now);
    socket_opened();
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++client_.connects_;
    reused_ = false;
    socket_connect_ns_ = now;
    const int rc = ::connect(fd_, address.get(), address.length);
    if (rc != 0 && errno != EINPROGRESS) {
      return connect_failed(local_error_kind(errno, connect_error_kind(errno)), now);
    }
    // Registered once for the life of the socket. EPOLLOUT is edge-triggered, so it reports
    // only the connect and a send buffer that was full and drained, never every request.
    if (!client_.poller_.add(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, *this)) {
      return connect_failed(ErrorKind::connect_error, now);
    }
    if (rc == 0) return on_connected(now);
    state_ = State::connecting;
    client_.connect_deadlines_.arm(timeout_node_, now);
  }

  // This address failed (refused, unreachable, timed out): on to the next. Only when every
  // address has failed does the exchange fail, with the last kind, and the back-off grow.
  void connect_failed(ErrorKind kind, std::int64_t now) {
    client_.connect_deadlines_.disarm(timeout_node_);
    close_fd();
    if (++attempt_ < client_.endpoint_.count) return try_address(now);
    if (failed_connects_ < kMaxFailedConnects) ++failed_connects_;
    fail(kind, now);
  }

  void on_connected(std::int64_t now) {
    client_.preferred_address_ = address_index();
    failed_connects_ = 0;
    round_trip_ns_ = handshake_round_trip(now - socket_connect_ns_);
    exchange_.connect_ns = now - connect_phase_ns_;
    if (client_.tls_) {
      // The connect timeout runs on through the TLS handshake.
      if (!tls_.open(*client_.tls_, fd_)) return fail(ErrorKind::tls_handshake, now);
      tls_started_ns_ = now;
      state_ = State::handshaking;
      return continue_handshake(now);
    }
    client_.connect_deadlines_.disarm(timeout_node_);
    send(now);
  }

  // One step of the TLS handshake; the socket's next event brings the next.
  void continue_handshake(std::int64_t now) {
    switch (tls_.handshake()) {
      case TlsStream::Io::ok: {
        client_.connect_deadlines_.disarm(timeout_node_);
        const std::int64_t done = now_ns();
        exchange_.tls_ns = done - tls_started_ns_;
        return send(done);
      }
      case TlsStream::Io::want_read:
      case TlsStream::Io::want_write:
        return;
      default:
        return fail(tls_.failure(), now);
    }
  }

  // The connection's round trip, for the resend rule. The kernel timed the handshake without
  // our event loop's delays in it (TCP_INFO, right after the handshake, before any request's
  // ACK can fold server think time into it); our own connect() to EPOLLOUT time is the
  // fallback, and since it also counts our loop's delays it is only ever an upper bound.
  std::int64_t handshake_round_trip(std::int64_t measured_ns) const {
    tcp_info info{};
    socklen_t length = sizeof info;
    if (::getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &length) == 0 && info.tcpi_rtt > 0) {
      return std::min(measured_ns, static_cast<std::int64_t>(info.tcpi_rtt) * 1000);
    }
    return measured_ns;
  }

  void send(std::int64_t now) {
    exchange_.sent_ns = now;
    written_ = 0;
    client_.request_deadlines_.arm(timeout_node_, now);
    client_.idle_deadlines_.arm(idle_node_, now);
    state_ = State::writing;
    write_more(now);
  }

  void write_more(std::int64_t now) {
    const auto bytes = request_.bytes;
    if (tls_.is_open()) return write_tls(now);
    while (written_ < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + written_, bytes.size() - written_, MSG_NOSIGNAL);
      if (n > 0) {
        written_ += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // wait for EPOLLOUT
      if (n < 0 && errno != EPIPE && errno != ECONNRESET) return fail(ErrorKind::other, now);
      return fail_or_retry(ErrorKind::reset, now);
    }
    exchange_.bytes_out = written_;
    state_ = State::reading;
  }

  void write_tls(std::int64_t now) {
    const auto bytes = request_.bytes;
    while (written_ < bytes.size()) {
      std::size_t n = 0;
      switch (tls_.write(bytes.data() + written_, bytes.size() - written_, n)) {
        case TlsStream::Io::ok:
          written_ += n;
          continue;
        case TlsStream::Io::want_read:
        case TlsStream::Io::want_write:
          return;  // the socket's next event goes on
        case TlsStream::Io::eof:
          return fail_or_retry(ErrorKind::closed, now);
        case TlsStream::Io::reset:
          return fail_or_retry(ErrorKind::reset, now);
        case TlsStream::Io::failed:
          return fail(ErrorKind::other, now);
      }
    }
    exchange_.bytes_out = written_;
    state_ = State::reading;
  }

  // One read of the response: > 0 bytes, 0 at EOF, or one of these.
  static constexpr ssize_t kAgain = -1;  // nothing more for now
  static constexpr ssize_t kReset = -2;  // ECONNRESET
  static constexpr ssize_t kError = -3;  // anything else
  ssize_t receive(char* buffer, std::size_t len) {
    if (!tls_.is_open()) {
      for (;;) {
        const ssize_t n = ::recv(fd_, buffer, len, 0);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return kAgain;
        return errno == ECONNRESET ? kReset : kError;
      }
    }
    std::size_t n = 0;
    switch (tls_.read(buffer, len, n)) {
      case TlsStream::Io::ok:
        return static_cast<ssize_t>(n);
      case TlsStream::Io::want_read:
      case TlsStream::Io::want_write:
        return kAgain;
      case TlsStream::Io::eof:
        return 0;
      case TlsStream::Io::reset:
        return kReset;
      case TlsStream::Io::failed:
        break;
    }
    return kError;
  }

  void on_poll(std::uint32_t events) override {
    client_.in_batch_ = true;
    switch (state_) {
      case State::handshaking:
        return continue_handshake(now_ns());
      case State::connecting: {
        if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
        const std::int64_t now = now_ns();
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) return connect_failed(connect_error_kind(err), now);
        return on_connected(now);
      }
      case State::writing:
        // TLS may need a read to go on writing (a key update), so any event retries.
        if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0 || tls_.is_open())
          write_more(now_ns());
        // A fast server may answer before we see EPOLLOUT; fall through only once written.
        if (state_ != State::reading || (events & (EPOLLIN | EPOLLRDHUP)) == 0) return;
        [[fallthrough]];
      case State::reading:
        return read_response(events);
      case State::idle:
        return on_idle_event();
      case State::closed:
      case State::backing_off:
        return;  // a stale event for a socket already closed in this batch
    }
  }

  // Reads until the response is complete or the socket is drained. A short read means the
  // receive queue was empty, so the next data brings a new edge: no extra EAGAIN read needed,
  // unless the peer also closed: data and FIN can come in one edge, so then read on to EOF.
  // TLS hands over one record at a time, so there only "want read" says the socket is drained.
  void read_response(std::uint32_t events) {
    const bool peer_closed = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    const bool tls = tls_.is_open();
    auto& buffer = client_.read_buffer_;
    for (;;) {
      const ssize_t n = receive(buffer.data(), buffer.size());
      if (n > 0) {
        const auto len = static_cast<std::size_t>(n);
        exchange_.bytes_in += len;
        std::size_t consumed = 0;
        const auto result = parser_.feed(buffer.data(), len, consumed);
        if (capture_ != nullptr) {
          const std::size_t mine =
              result == http::ResponseParser::Result::complete ? consumed : len;
          capture_->on_response_bytes(std::string_view(buffer.data(), mine));
        }
        if (result == http::ResponseParser::Result::complete) {
          // Bytes beyond the response were never asked for: the connection can't be trusted.
          return complete(consumed == len && !peer_closed);
        }
        if (result == http::ResponseParser::Result::error) {
          return fail(ErrorKind::bad_response, now_ns());
        }
        if (len < buffer.size() && !peer_closed && !tls) {
          const std::int64_t now = now_ns();
          if (exchange_.first_byte_ns == 0) exchange_.first_byte_ns = now;
          client_.idle_deadlines_.arm(idle_node_, now);
          return;
        }
        if (exchange_.first_byte_ns == 0) exchange_.first_byte_ns = now_ns();
        continue;
      }
      if (n == 0) {
        if (parser_.finish_on_eof() == http::ResponseParser::Result::complete) {
          return complete(false);
        }
        return fail_or_retry(ErrorKind::closed, now_ns());
      }
      if (n == kAgain) {
        if (tls && exchange_.bytes_in > 0) {
          const std::int64_t now = now_ns();
          if (exchange_.first_byte_ns == 0) exchange_.first_byte_ns = now;
          client_.idle_deadlines_.arm(idle_node_, now);
        }
        return;
      }
      if (n == kReset) return fail_or_retry(ErrorKind::reset, now_ns());
      return fail(tls ? ErrorKind::bad_response : ErrorKind::other, now_ns());
    }
  }

  // Nothing is in flight, yet the socket stirred: the server closed an idle keep-alive
  // connection (or sent bytes nobody asked for). Either way, reconnect on the next start.
  // Over TLS the bytes may be the server's session tickets, which the read consumes: only
  // application data, an EOF or an error close it.
  void on_idle_event() {
    char probe[256];
    if (receive(probe, sizeof probe) == kAgain) return;
    close_fd();
  }

  void complete(bool reusable) {
    const std::int64_t now = now_ns();
    exchange_.done_ns = now;
    // A response read whole in one go arrived at once: first byte and last share the read.
    if (exchange_.first_byte_ns == 0) exchange_.first_byte_ns = now;
    exchange_.status = parser_.status();
    disarm();
    if (!reusable || !parser_.keep_alive() || request_.expects_close) {
      close_fd();
    } else {
      state_ = State::idle;
      idle_since_ns_ = now;
    }
    notify();
  }

  // The request ended in a close or reset with nothing received: resent once on a fresh
  // connection when resend_rule.hpp says that cannot hide a failure, else reported.
  void fail_or_retry(ErrorKind kind, std::int64_t now) {
    FailedSend failed;
    failed.reused = reused_;
    failed.idempotent = request_.idempotent;
    failed.resent = retried_;
    failed.bytes_in = exchange_.bytes_in;
    failed.sent_ns = exchange_.sent_ns;
    failed.failed_ns = now;
    failed.round_trip_ns = round_trip_ns_;
    if (!may_resend(failed)) return fail(kind, now);
    retried_ = true;
    ++client_.stale_retries_;
    disarm();
    close_fd();
    parser_.reset(request_.head);  // it saw the EOF; the new connection starts afresh
    if (capture_ != nullptr) capture_->on_response_restart();
    exchange_.bytes_out = 0;
    connect(now);
  }

  void fail(ErrorKind kind, std::int64_t now) {
    exchange_.error = kind;
    exchange_.status = 0;
    exchange_.done_ns = now;
    if (exchange_.sent_ns == 0) exchange_.sent_ns = now;
    disarm();
    close_fd();
    notify();
  }

  // Last step of every exchange: the observer may start the next one from inside the call.
  void notify() {
    if (in_start_) {
      // A failure inside start() (refused at once, fd limit) is reported from the event loop,
      // so a VU that retries at once loops through the io_context rather than down the stack.
      report_posted_ = true;
      boost::asio::post(client_.io_,
                        [this, generation = generation_, alive = std::weak_ptr(alive_)] {
                          // Only for the exchange it was posted for, and only if the session still
                          // exists.
                          if (!alive.expired() && busy() && generation == generation_) notify();
                        });
      return;
    }
    ExchangeObserver* observer = observer_;
    observer_ = nullptr;
    report_posted_ = false;
    --client_.in_flight_;
    observer->on_exchange(exchange_);
  }

  // Stops every timer and pending step of the exchange: deadlines, back-off, held send.
  void disarm() {
    client_.connect_deadlines_.disarm(timeout_node_);
    client_.request_deadlines_.disarm(timeout_node_);
    client_.idle_deadlines_.disarm(idle_node_);
    client_.backoff_waits_.remove(wake_node_);
    send_held_ = false;
  }

  void close_fd() {
    tls_.close();
    if (fd_ >= 0) {
      ::close(fd_);  // also leaves the epoll set
      socket_closed();
    }
    fd_ = -1;
    state_ = State::closed;
  }

  // A connection reused at once (the closed loop's steady state) is checked by nothing but its
  // next read; one idle longer than this is probed first, since servers close idle ones.
  static constexpr std::int64_t kIdleProbeAfterNs = 1'000'000;
  // Far past the doubling that reaches any cap; only keeps the counter from wrapping.
  static constexpr std::uint32_t kMaxFailedConnects = 64;

  // True when the idle socket has neither EOF nor stray bytes waiting: one non-blocking peek.
  bool still_open() {
    char byte;
    const ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    // TLS: bytes waiting may be session tickets, consumed without a byte for us.
    char probe[256];
    return n > 0 && tls_.is_open() && receive(probe, sizeof probe) == kAgain;
  }

  // Out of descriptors, memory or ephemeral ports: strain's limit, never blamed on the target.
  static ErrorKind local_error_kind(int err, ErrorKind otherwise) {
    const bool local =
        err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM || err == EADDRNOTAVAIL;
    return local ? ErrorKind::local_limit : otherwise;
  }

  static ErrorKind connect_error_kind(int err) {
    return err == ECONNREFUSED ? ErrorKind::connect_refused : ErrorKind::connect_error;
  }

  friend class NativeClient;
  NativeClient& client_;
  http::RequestView request_;             // the bytes are the caller's, alive while busy()
  ExchangeObserver* observer_ = nullptr;  // non-null while an exchange is in flight
  ResponseCapture* capture_ = nullptr;    // gets the raw bytes of every response, if set
  http::ResponseParser parser_;
  Exchange exchange_;
  std::int64_t connect_phase_ns_ = 0;   // when this exchange started connecting (first address)
  std::int64_t socket_connect_ns_ = 0;  // when the current socket's connect() was called
  std::int64_t round_trip_ns_ = 0;      // the current connection's handshake round trip
  std::int64_t idle_since_ns_ = 0;      // when the connection last became idle (kept alive)
  std::int64_t tls_started_ns_ = 0;     // when the TLS handshake began
  TlsStream tls_;                       // open on a TLS connection
  std::size_t written_ = 0;
  std::size_t index_ = 0;          // position in client_.sessions_
  std::size_t attempt_ = 0;        // this connect phase's addresses tried, the current included
  std::size_t first_address_ = 0;  // the endpoint index this connect phase started with
  DeadlineNode timeout_node_;      // connect timeout while connecting, request timeout after
  DeadlineNode idle_node_;         // silence while awaiting the response
  WakeNode wake_node_;             // the end of a back-off, while waiting one out
  int fd_ = -1;
  State state_ = State::closed;
  std::uint32_t failed_connects_ = 0;  // connects in a row that failed on every address
  std::uint64_t generation_ = 0;       // counts start() calls: tells a stale posted report apart
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // expires with the session
  bool reused_ = false;           // this exchange went out on a connection opened earlier
  bool retried_ = false;          // this exchange was already resent once after a stale connection
  bool send_held_ = false;        // to be sent when the batch ends
  bool listed_deferred_ = false;  // in client_.deferred_ (at most once)
  bool report_posted_ = false;    // failed inside start(); its report is posted, not yet delivered
  bool in_start_ = false;         // inside start(): the observer must not be called re-entrantly
};

namespace {
std::chrono::milliseconds sweep_period(const NativeClientOptions& o) {
  // Timeouts fire at most ~5% late: check every 1/20 of the shortest, between 1 and 50 ms.
  const auto shortest = std::min({o.connect_timeout, o.request_timeout, o.idle_timeout});
  const auto period = std::chrono::duration_cast<std::chrono::milliseconds>(shortest / 20);
  return std::clamp(period, std::chrono::milliseconds(1), std::chrono::milliseconds(50));
}
}  // namespace

NativeClient::NativeClient(boost::asio::io_context& io, const Endpoint& endpoint,
                           NativeClientOptions options, std::shared_ptr<const TlsContext> tls)
    : io_(io),
      endpoint_(endpoint),
      options_(options),
      tls_(std::move(tls)),
      backoff_{options.connect_backoff_first.count(), options.connect_backoff_cap.count()},
      poller_(io),
      sweep_timer_(io),
      connect_deadlines_(options.connect_timeout.count()),
      request_deadlines_(options.request_timeout.count()),
      idle_deadlines_(options.idle_timeout.count()),
      backoff_waits_(1024),
      backoff_timer_(io),
      // Seeded apart per client and per run: workers whose sessions failed together must not
      // draw the same waits.
      jitter_state_(static_cast<std::uint64_t>(now_ns()) ^ reinterpret_cast<std::uintptr_t>(this)) {
  sessions_.reserve(1024);
  poller_.set_batch_listener(this);
  tick();
}

NativeClient::~NativeClient() {
  shutdown();
  STRAIN_ASSERT(sessions_.empty());
}

void NativeClient::on_batch_end() {
  in_batch_ = false;
  if (deferred_.empty()) return;
  const std::int64_t now = now_ns();
  for (NativeSession* s : deferred_)
    s->send_deferred(now);
  deferred_.clear();
}

std::unique_ptr<Session> NativeClient::open_session() {
  return std::make_unique<NativeSession>(*this);
}

void NativeClient::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (NativeSession* s : sessions_)
    s->close();
  sweep_timer_.cancel();
  backoff_timer_.cancel();
  poller_.stop();
}

void NativeClient::tick() {
  const std::int64_t now = now_ns();
  auto expire_all = [now](DeadlineList& list, ErrorKind kind) {
    while (DeadlineNode* node = list.pop_expired(now)) {
      static_cast<NativeSession*>(node->owner)->expire(kind, now);
    }
  };
  expire_all(connect_deadlines_, ErrorKind::connect_timeout);
  expire_all(request_deadlines_, ErrorKind::timeout);
  expire_all(idle_deadlines_, ErrorKind::timeout);
  if (shut_down_) return;
  sweep_timer_.expires_after(sweep_period(options_));
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !shut_down_) tick();
  });
}

void NativeClient::wait_out_backoff(WakeNode& node, std::uint32_t failures, std::int64_t now) {
  backoff_waits_.push(node, now + backoff_.wait_ns(failures, next_random(jitter_state_)));
  arm_backoff_timer();
}

// One timer for every waiting session, set for the earliest wake. It is only moved earlier:
// a wait removed early (closed, abandoned) leaves it to fire once for nothing, which is cheaper
// than re-arming it on every removal.
void NativeClient::arm_backoff_timer() {
  const WakeNode* next = backoff_waits_.top();
  if (next == nullptr || shut_down_ || next->wake_ns >= backoff_timer_ns_) return;
  backoff_timer_ns_ = next->wake_ns;
  backoff_timer_.expires_at(TimePoint(Nanos(next->wake_ns)));
  backoff_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !shut_down_) on_backoff_timer();
  });
}

void NativeClient::on_backoff_timer() {
  backoff_timer_ns_ = INT64_MAX;
  const std::int64_t now = now_ns();
  while (WakeNode* node = backoff_waits_.pop_due(now)) {
    static_cast<NativeSession*>(node->owner)->end_backoff(now);
  }
  arm_backoff_timer();
}

}  // namespace strain
