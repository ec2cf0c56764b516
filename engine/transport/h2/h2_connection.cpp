#include "engine/transport/h2/h2_connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include "engine/core/assert.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/open_sockets.hpp"

namespace strain {
namespace {

// Windows as large as h2load's by default: flow control never holds a benchmark back, and a
// large body arrives as fast as the connection carries it. nghttp2 sends WINDOW_UPDATE itself.
constexpr std::int32_t kStreamWindow = (1 << 30) - 1;
constexpr std::int32_t kConnectionWindow = (1 << 30) - 1;
// Frames gathered before a write: a batch of streams leaves in one.
constexpr std::size_t kWriteChunk = 64 * 1024;
constexpr std::size_t kFrameHeaderBytes = 9;  // every frame's (RFC 9113 §4.1)

bool skip_field(std::string_view name) {
  // Connection-specific fields are not allowed in HTTP/2 (RFC 9113 §8.2.2); Host becomes
  // :authority.
  for (const std::string_view f :
       {"host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"})
    if (http::iequals(name, f)) return true;
  return false;
}

ErrorKind connect_error_kind(int err) {
  if (err == ECONNREFUSED) return ErrorKind::connect_refused;
  if (err == EMFILE || err == ENFILE || err == EADDRNOTAVAIL || err == ENOBUFS)
    return ErrorKind::local_limit;
  return ErrorKind::connect_error;
}

H2Exchange* exchange_of(nghttp2_session* session, std::int32_t stream_id) {
  return static_cast<H2Exchange*>(nghttp2_session_get_stream_user_data(session, stream_id));
}

nghttp2_nv field(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                  std::uint32_t* flags, nghttp2_data_source* source, void*) {
  auto* x = static_cast<H2Exchange*>(source->ptr);
  const std::size_t left = x->request.body.size() - x->body_sent;
  const std::size_t n = std::min(left, length);
  std::memcpy(buf, x->request.body.data() + x->body_sent, n);
  x->body_sent += n;
  if (x->body_sent == x->request.body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

}  // namespace

// nghttp2's callbacks, with access to the connection: they fill in the exchanges' results.
struct H2Callbacks {
  static H2Connection& self(void* p) { return *static_cast<H2Connection*>(p); }

  static int begin_headers(nghttp2_session* s, const nghttp2_frame* frame, void* p) {
    if (H2Exchange* x = exchange_of(s, frame->hd.stream_id)) {
      if (x->result.first_byte_ns == 0) x->result.first_byte_ns = self(p).now_ns_;
    }
    return 0;
  }

  static int header(nghttp2_session* s, const nghttp2_frame* frame, const std::uint8_t* name,
                    std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                    std::uint8_t, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    H2Exchange* x = exchange_of(s, frame->hd.stream_id);
    if (x == nullptr) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      int status = 0;
      std::from_chars(v.data(), v.data() + v.size(), status);
      x->interim = status < 200;
      if (!x->interim) x->result.status = status;
      return 0;
    }
    if (!x->interim && x->response_observer != nullptr && !n.empty() && n.front() != ':')
      x->response_observer->on_header(n, v);
    return 0;
  }

  static int frame_recv(nghttp2_session* s, const nghttp2_frame* frame, void* p) {
    H2Connection& c = self(p);
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
        if (H2Exchange* x = exchange_of(s, frame->hd.stream_id))
          x->result.bytes_in += frame->hd.length + kFrameHeaderBytes;
        break;
      case NGHTTP2_DATA:  // the payload was counted as it came (data_chunk)
        if (H2Exchange* x = exchange_of(s, frame->hd.stream_id))
          x->result.bytes_in += kFrameHeaderBytes;
        break;
      case NGHTTP2_SETTINGS:
        c.remote_max_streams_ =
            nghttp2_session_get_remote_settings(s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
        break;
      case NGHTTP2_GOAWAY:
        // No new streams here; those the server will not process close as refused.
        c.state_ = H2Connection::State::going_away;
        break;
      default:
        break;
    }
    return 0;
  }

  static int data_chunk(nghttp2_session* s, std::uint8_t, std::int32_t stream_id,
                        const std::uint8_t* data, std::size_t len, void*) {
    H2Exchange* x = exchange_of(s, stream_id);
    if (x == nullptr) return 0;
    x->result.bytes_in += len;
    if (x->response_observer != nullptr)
      x->response_observer->on_body(std::string_view(reinterpret_cast<const char*>(data), len));
    return 0;
  }

  static int frame_send(nghttp2_session* s, const nghttp2_frame* frame, void* p) {
    // nghttp2 ends a session whose incoming framing is broken (not HTTP/2, a frame too large)
    // with a GOAWAY carrying the error: the cause of whatever ends the connection next.
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR)
      self(p).broken_framing_ = true;
    if (frame->hd.stream_id == 0) return 0;
    H2Exchange* x = exchange_of(s, frame->hd.stream_id);
    if (x == nullptr) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && x->result.sent_ns == 0)
      x->result.sent_ns = self(p).now_ns_;
    x->result.bytes_out += frame->hd.length + kFrameHeaderBytes;
    return 0;
  }

  static int stream_close(nghttp2_session* s, std::int32_t stream_id, std::uint32_t error_code,
                          void* p) {
    H2Exchange* x = exchange_of(s, stream_id);
    if (x == nullptr) return 0;  // cancelled: its session already knows
    H2Connection& c = self(p);
    ErrorKind kind = ErrorKind::none;
    if (error_code == NGHTTP2_REFUSED_STREAM) {
      // Never processed (RFC 9113 §8.7): safe to send again, on another connection.
      x->refused = true;
      kind = ErrorKind::closed;
    } else if (error_code != NGHTTP2_NO_ERROR) {
      kind = ErrorKind::reset;
    } else if (x->result.status == 0) {
      kind = ErrorKind::protocol;
    }
    c.end(*x, kind, c.now_ns_);
    return 0;
  }

  static const nghttp2_session_callbacks* get() {
    static const std::unique_ptr<nghttp2_session_callbacks, void (*)(nghttp2_session_callbacks*)>
        callbacks = [] {
          nghttp2_session_callbacks* cb = nullptr;
          nghttp2_session_callbacks_new(&cb);
          nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &begin_headers);
          nghttp2_session_callbacks_set_on_header_callback(cb, &header);
          nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &frame_recv);
          nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &data_chunk);
          nghttp2_session_callbacks_set_on_frame_send_callback(cb, &frame_send);
          nghttp2_session_callbacks_set_on_stream_close_callback(cb, &stream_close);
          return std::unique_ptr<nghttp2_session_callbacks, void (*)(nghttp2_session_callbacks*)>(
              cb, &nghttp2_session_callbacks_del);
        }();
    return callbacks.get();
  }
};

H2Connection::H2Connection(Poller& poller, const Endpoint& endpoint, const TlsContext* tls,
                           const H2ConnectionOptions& options, H2ConnectionListener& listener,
                           DeadlineList& connect_deadlines, std::vector<char>& read_buffer)
    : poller_(poller),
      endpoint_(endpoint),
      tls_(tls),
      options_(options),
      listener_(listener),
      connect_deadlines_(connect_deadlines),
      read_buffer_(read_buffer),
      remote_max_streams_(options.max_streams) {
  connect_node.owner = this;
  out_.reserve(kWriteChunk + 16 * 1024);
  // Seeded apart per connection: connections that failed together must not wait alike.
  jitter_ = static_cast<std::uint64_t>(now_ns()) ^ reinterpret_cast<std::uintptr_t>(this);
}

H2Connection::~H2Connection() {
  connect_deadlines_.disarm(connect_node);
  close_socket();
}

bool H2Connection::can_take(std::int64_t now_ns) const {
  if (state_ == State::going_away) return false;
  if (state_ == State::closed && now_ns < not_before_ns_) return false;
  return active_.size() < std::min<std::size_t>(options_.max_streams, remote_max_streams_);
}

ErrorKind H2Connection::submit(H2Exchange& x, std::int64_t now_ns) {
  if (state_ == State::going_away) return ErrorKind::closed;
  const bool opens = state_ == State::closed;
  if (opens) {
    if (const ErrorKind e = connect(now_ns); e != ErrorKind::none) return e;
  }
  // Names must be lower case in HTTP/2; the request's are lowered into scratch_, sized once
  // so that no view into it moves while the fields are gathered.
  const http::RequestView& r = x.request;
  scratch_.resize(r.header_lines.size());
  fields_.clear();
  std::string_view authority = options_.authority;
  fields_.push_back(field(":method", r.method));
  fields_.push_back(field(":scheme", options_.scheme));
  fields_.push_back(field(":path", r.target));
  const std::size_t authority_at = fields_.size();
  fields_.push_back(field(":authority", authority));
  std::size_t used = 0;
  http::for_each_header(r.header_lines, [&](const http::HeaderView& h) {
    if (http::iequals(h.name, "host")) {
      fields_[authority_at] = field(":authority", h.value);
      return;
    }
    if (skip_field(h.name)) return;
    char* lower = scratch_.data() + used;
    for (std::size_t i = 0; i < h.name.size(); ++i) {
      const char c = h.name[i];
      lower[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c;
    }
    used += h.name.size();
    fields_.push_back(field(std::string_view(lower, h.name.size()), h.value));
  });
  nghttp2_data_provider body{};
  body.source.ptr = &x;
  body.read_callback = &read_body;
  x.body_sent = 0;
  const std::int32_t id = nghttp2_submit_request(session_, nullptr, fields_.data(), fields_.size(),
                                                 r.body.empty() ? nullptr : &body, &x);
  if (id < 0) {
    // Stream ids ran out (2^31 on one connection): this one is done, open another.
    if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
      state_ = State::going_away;
      return ErrorKind::closed;
    }
    return ErrorKind::protocol;
  }
  x.stream_id = id;
  x.connection = this;
  if (opens) opener_ = &x;
  x.active_index = active_.size();
  active_.push_back(&x);
  dirty_ = true;
  return ErrorKind::none;
}

void H2Connection::cancel(H2Exchange& x) {
  if (x.connection != this) return;
  if (session_ != nullptr && x.stream_id > 0) {
    nghttp2_session_set_stream_user_data(session_, x.stream_id, nullptr);
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, x.stream_id, NGHTTP2_CANCEL);
    dirty_ = true;
  }
  detach(x);
}

void H2Connection::detach(H2Exchange& x) {
  STRAIN_ASSERT(x.connection == this && active_[x.active_index] == &x);
  H2Exchange* last = active_.back();
  active_[x.active_index] = last;
  last->active_index = x.active_index;
  active_.pop_back();
  if (opener_ == &x) opener_ = nullptr;
  x.connection = nullptr;
  x.stream_id = -1;
}

void H2Connection::end(H2Exchange& x, ErrorKind error, std::int64_t now_ns) {
  x.result.error = error;
  if (error != ErrorKind::none) x.result.status = 0;
  x.result.done_ns = now_ns;
  detach(x);
  listener_.on_exchange_end(x);
}

void H2Connection::fail(ErrorKind kind, std::int64_t now_ns) {
  // The close or reset that follows broken framing is not the cause: the framing was.
  if (broken_framing_ && (kind == ErrorKind::closed || kind == ErrorKind::reset))
    kind = ErrorKind::protocol;
  if ((state_ == State::connecting || state_ == State::handshaking) && kind != ErrorKind::abandoned)
    note_failed_connect(now_ns);
  // The session first: its stream callbacks must not run for exchanges ended here.
  close_socket();
  while (!active_.empty())
    end(*active_.back(), kind, now_ns);
}

void H2Connection::expire_connect(std::int64_t now_ns) {
  fail(ErrorKind::connect_timeout, now_ns);
}

void H2Connection::note_failed_connect(std::int64_t now_ns) {
  if (failed_connects_ < 64) ++failed_connects_;
  if (options_.backoff.enabled())
    not_before_ns_ = now_ns + options_.backoff.wait_ns(failed_connects_, next_random(jitter_));
}

ErrorKind H2Connection::connect(std::int64_t now_ns) {
  if (!new_session()) return ErrorKind::other;
  if (failed_connects_ > 0 && options_.backoff.enabled()) ++connect_backoffs;
  connect_started_ns_ = now_ns;
  connect_ns_ = tls_ns_ = 0;
  addresses_tried_ = 0;
  address_ = 0;
  connect_deadlines_.arm(connect_node, now_ns);
  const ErrorKind e = try_next_address(now_ns);
  if (e != ErrorKind::none) {
    note_failed_connect(now_ns);
    close_socket();
  }
  return e;
}

// Tries the endpoint's addresses in turn; connect errors past the first are reported by
// on_poll. Returns the error when no address is left to try.
ErrorKind H2Connection::try_next_address(std::int64_t now_ns) {
  ErrorKind last = ErrorKind::connect_error;
  while (addresses_tried_ < endpoint_.count) {
    const SocketAddress& a = endpoint_.addresses[address_];
    address_ = (address_ + 1) % endpoint_.count;
    ++addresses_tried_;
    fd_ = ::socket(a.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      last = connect_error_kind(errno);
      continue;
    }
    socket_opened();
    ++connects;
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, a.get(), a.length) != 0 && errno != EINPROGRESS) {
      last = connect_error_kind(errno);
      close_fd();
      continue;
    }
    if (!poller_.add(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, *this)) {
      last = connect_error_kind(errno);
      close_fd();
      continue;
    }
    state_ = State::connecting;
    (void)now_ns;
    return ErrorKind::none;
  }
  return last;
}

bool H2Connection::new_session() {
  if (nghttp2_session_client_new(&session_, H2Callbacks::get(), this) != 0) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.max_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kStreamWindow)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  remote_max_streams_ = options_.max_streams;  // until the server's SETTINGS say otherwise
  broken_framing_ = false;
  out_.clear();
  out_pos_ = 0;
  dirty_ = true;
  return true;
}

void H2Connection::close_fd() {
  if (fd_ < 0) return;
  ::close(fd_);  // also leaves the epoll set
  socket_closed();
  fd_ = -1;
}

void H2Connection::close_socket() {
  connect_deadlines_.disarm(connect_node);
  tls_stream_.close();
  close_fd();
  if (session_ != nullptr) nghttp2_session_del(session_);
  session_ = nullptr;
  state_ = State::closed;
  out_.clear();
  out_pos_ = 0;
  dirty_ = false;
}

void H2Connection::on_poll(std::uint32_t events) {
  now_ns_ = now_ns();
  switch (state_) {
    case State::closed:
      return;
    case State::connecting: {
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0 && (events & (EPOLLERR | EPOLLHUP)) != 0) err = ECONNREFUSED;
      if (err != 0) {
        close_fd();
        const ErrorKind e = try_next_address(now_ns_);
        if (e != ErrorKind::none)
          fail(e == ErrorKind::connect_error ? connect_error_kind(err) : e, now_ns_);
        break;
      }
      connect_ns_ = now_ns_ - connect_started_ns_;
      if (tls_ == nullptr) {
        on_ready();
        break;
      }
      if (!tls_stream_.open(*tls_, fd_)) {
        fail(ErrorKind::tls_handshake, now_ns_);
        break;
      }
      tls_started_ns_ = now_ns_;
      state_ = State::handshaking;
      [[fallthrough]];
    }
    case State::handshaking: {
      const TlsStream::Io io = tls_stream_.handshake();
      if (io == TlsStream::Io::want_read || io == TlsStream::Io::want_write) break;
      if (io != TlsStream::Io::ok) {
        fail(tls_stream_.failure(), now_ns_);
        break;
      }
      if (tls_stream_.alpn() != "h2") {
        // The server does not speak HTTP/2 over TLS: nothing can be sent here.
        fail(ErrorKind::protocol, now_ns_);
        break;
      }
      // A fresh clock: on loopback the whole TLS 1.3 round trip can finish inside the
      // handshake call that began it, and the poll's time would make it 0.
      now_ns_ = now_ns();
      tls_ns_ = now_ns_ - tls_started_ns_;
      on_ready();
      break;
    }
    case State::open:
    case State::going_away:
      if ((events & EPOLLOUT) != 0) dirty_ = true;
      if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0) read_all();
      break;
  }
  listener_.on_connection_io(*this);
}

void H2Connection::on_ready() {
  connect_deadlines_.disarm(connect_node);
  state_ = State::open;
  failed_connects_ = 0;
  // The exchange that opened the connection carries its set-up time, as k6 and libcurl
  // charge it; the others that waited for it show the wait as `blocked`. One per connection,
  // so a script can count handshakes.
  H2Exchange* opener = opener_ != nullptr ? opener_ : (active_.empty() ? nullptr : active_[0]);
  opener_ = nullptr;
  if (opener != nullptr) {
    opener->result.connect_ns = connect_ns_;
    opener->result.tls_ns = tls_ns_;
  }
  dirty_ = true;
  read_all();  // the server's SETTINGS may already be here
}

void H2Connection::read_all() {
  for (;;) {
    std::size_t n = 0;
    ErrorKind broken = ErrorKind::none;
    if (tls_ != nullptr) {
      const TlsStream::Io io = tls_stream_.read(read_buffer_.data(), read_buffer_.size(), n);
      if (io == TlsStream::Io::want_read || io == TlsStream::Io::want_write) return;
      if (io == TlsStream::Io::eof) broken = ErrorKind::closed;
      if (io == TlsStream::Io::reset) broken = ErrorKind::reset;
      if (io == TlsStream::Io::failed) broken = tls_stream_.failure();
    } else {
      const ssize_t got = ::recv(fd_, read_buffer_.data(), read_buffer_.size(), 0);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (got < 0 && errno == EINTR) continue;
      if (got == 0) broken = ErrorKind::closed;
      if (got < 0) broken = ErrorKind::reset;
      if (got > 0) n = static_cast<std::size_t>(got);
    }
    if (broken != ErrorKind::none) {
      // The server closed or reset: frames nghttp2 still holds may say it was already ending
      // the session over broken framing (fail() then counts that). Nothing can be sent now.
      const std::uint8_t* data = nullptr;
      while (nghttp2_session_mem_send(session_, &data) > 0) {
      }
      return fail(broken, now_ns_);
    }
    const auto used = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const std::uint8_t*>(read_buffer_.data()), n);
    if (used < 0) return fail(ErrorKind::protocol, now_ns_);
    dirty_ = true;  // acknowledgements and window updates may be due
  }
}

void H2Connection::flush(std::int64_t now_ns) {
  if (session_ == nullptr || !dirty_ || state_ == State::connecting || state_ == State::handshaking)
    return;
  now_ns_ = now_ns;
  for (;;) {
    if (out_pos_ == out_.size()) {
      out_.clear();
      out_pos_ = 0;
      while (out_.size() < kWriteChunk) {
        const std::uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) return fail(ErrorKind::protocol, now_ns);
        if (n == 0) break;
        out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
      }
      if (out_.empty()) break;
    }
    std::size_t n = 0;
    if (tls_ != nullptr) {
      const TlsStream::Io io = tls_stream_.write(out_.data() + out_pos_, out_.size() - out_pos_, n);
      if (io == TlsStream::Io::want_write || io == TlsStream::Io::want_read) return;
      if (io != TlsStream::Io::ok)
        return fail(io == TlsStream::Io::failed ? tls_stream_.failure() : ErrorKind::reset, now_ns);
    } else {
      const ssize_t sent =
          ::send(fd_, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL);
      if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (sent < 0 && errno == EINTR) continue;
      if (sent < 0) return fail(ErrorKind::reset, now_ns);
      n = static_cast<std::size_t>(sent);
    }
    out_pos_ += n;
  }
  dirty_ = false;
  // A connection the server is closing goes once its last stream is done.
  if (state_ == State::going_away && active_.empty())
    close_socket();
  else if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0)
    fail(ErrorKind::closed, now_ns);
}

}  // namespace strain
