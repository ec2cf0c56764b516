#include "engine/transport/curl/curl_client.hpp"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/core/assert.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/error.hpp"
#include "engine/core/open_sockets.hpp"
#include "engine/transport/connect_backoff.hpp"
#include "engine/transport/curl/curl_library.hpp"
#include "engine/transport/curl/curl_transfer.hpp"
#include "engine/transport/poller.hpp"

namespace strain {
namespace {

// Header lines kept for a script's observer: a response's fields beyond this are dropped.
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

class CurlClient;

// One socket libcurl asked us to watch. Owned by the client; a removed one waits in the
// graveyard until the batch of events that may still name it is over.
struct SocketWatch final : PollHandler {
  CurlClient* client = nullptr;
  curl_socket_t fd = CURL_SOCKET_BAD;
  std::uint32_t events = 0;  // what the Poller watches for now
  bool dead = false;
  void on_poll(std::uint32_t ready) override;
};

class CurlSession;

class CurlClient final : public HttpClient, private BatchListener {
 public:
  CurlClient(boost::asio::io_context& io, const http::Url& origin,
             const NativeClientOptions& timeouts, const TransportOptions& options)
      : io_(io),
        poller_(io),
        timer_(io),
        timeouts_(timeouts),
        options_(options),
        backoff_{timeouts.connect_backoff_first.count(), timeouts.connect_backoff_cap.count()},
        jitter_state_(static_cast<std::uint64_t>(now_ns()) ^
                      reinterpret_cast<std::uintptr_t>(this)) {
    curl_global_once();
    base_url_ = origin.scheme + "://" +
                (origin.is_ipv6_literal ? "[" + origin.host + "]" : origin.host) + ":" +
                std::to_string(origin.port);
    default_host_ = origin.host_header;
    for (const auto& r : options_.resolve)
      resolve_ = curl_slist_append(resolve_, r.c_str());
    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw Error("libcurl: curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlClient::socket_callback);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlClient::timer_callback);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    if (options_.http2) {
      curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
      curl_multi_setopt(multi_, CURLMOPT_MAX_CONCURRENT_STREAMS,
                        static_cast<long>(options_.max_streams));
      if (options_.connections > 0) {
        curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                          static_cast<long>(options_.connections));
      }
    } else {
      curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
    }
    poller_.set_batch_listener(this);
  }

  ~CurlClient() override;

  std::unique_ptr<Session> open_session() override;
  std::uint64_t in_flight() const override { return in_flight_; }
  std::uint64_t connects() const override { return connects_; }
  std::uint64_t connect_backoffs() const override { return connect_backoffs_; }
  void shutdown() override;

  // Used by the sessions and the watches.
  void on_socket(curl_socket_t fd, std::uint32_t ready);
  CURLM* multi() const { return multi_; }
  boost::asio::io_context& io() { return io_; }
  const NativeClientOptions& timeouts() const { return timeouts_; }
  const TransportOptions& options() const { return options_; }
  const std::string& base_url() const { return base_url_; }
  const std::string& default_host() const { return default_host_; }
  curl_slist* resolve_list() const { return resolve_; }
  bool shut_down() const { return shut_down_; }
  void forget(CurlSession* session, CURL* easy);
  void count_start() { ++in_flight_; }
  // The wait before a session's next connect after `failures` failed ones in a row (the native
  // client's schedule: 5 ms doubling to 1 s, jittered); 0 when back-off is off.
  std::int64_t backoff_wait_ns(std::uint32_t failures) {
    return backoff_.enabled() ? backoff_.wait_ns(failures, next_random(jitter_state_)) : 0;
  }
  void count_backoff() { ++connect_backoffs_; }
  void count_end() { --in_flight_; }
  // A socket opened for a connect (the opensocket callback): counted, errno kept for failures.
  curl_socket_t open_socket(curlsocktype purpose, const curl_sockaddr* address);
  void close_socket(curl_socket_t fd);

 private:
  static int socket_callback(CURL* easy, curl_socket_t fd, int what, void* client_ptr,
                             void* watch_ptr);
  static int timer_callback(CURLM* multi, long timeout_ms, void* client_ptr);
  void on_timer();
  // Hands every finished transfer to its session; they may start new ones from inside.
  void reap();
  void on_batch_end() override { graveyard_.clear(); }
  void drop_watch(curl_socket_t fd);

  boost::asio::io_context& io_;
  Poller poller_;  // before multi_: curl_multi_cleanup closes sockets through it
  boost::asio::steady_timer timer_;
  NativeClientOptions timeouts_;
  TransportOptions options_;
  std::string base_url_;      // "https://host:port", to which a request's target is appended
  std::string default_host_;  // the Host the native client would send: not passed to libcurl
  curl_slist* resolve_ = nullptr;
  CURLM* multi_ = nullptr;
  std::unordered_map<curl_socket_t, std::unique_ptr<SocketWatch>> watches_;
  std::vector<std::unique_ptr<SocketWatch>> graveyard_;  // removed during a batch of events
  std::vector<CurlSession*> sessions_;                   // live sessions, for shutdown
  std::vector<std::pair<CURL*, CURLcode>> done_;         // reused by reap()
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::uint64_t in_flight_ = 0;
  std::uint64_t connects_ = 0;
  std::uint64_t connect_backoffs_ = 0;
  BackoffSchedule backoff_;
  std::uint64_t jitter_state_ = 0;                     // next_random() state for back-off jitter
  std::chrono::steady_clock::time_point timer_due_{};  // when timer_ fires; {}: not armed
  bool timeout_posted_ = false;  // libcurl asked for "now": a post is on its way
  bool shut_down_ = false;
  bool reaping_ = false;
};

void SocketWatch::on_poll(std::uint32_t ready) {
  if (!dead) client->on_socket(fd, ready);
}

// One VU's easy handle: connections live in the multi's pool, so sessions share them.
class CurlSession final : public Session {
 public:
  explicit CurlSession(CurlClient& client) : client_(&client), backoff_timer_(client.io()) {
    easy_ = curl_easy_init();
    if (easy_ == nullptr) throw Error("libcurl: curl_easy_init failed");
    configure();
  }

  ~CurlSession() override {
    if (client_ != nullptr) {
      close();
      client_->forget(this, easy_);
    }
    curl_easy_cleanup(easy_);
    curl_slist_free_all(headers_);
  }

  // The client goes first (shutdown at the end of a run): nothing in flight, no more calls.
  void detach() {
    close();
    client_ = nullptr;
  }

  using Session::start;
  void start(const http::RequestView& request, ExchangeObserver& observer,
             std::int64_t now) override {
    STRAIN_ASSERT(!busy());
    observer_ = &observer;
    exchange_ = Exchange{};
    started_ns_ = now;
    socket_opened_ns_ = 0;
    block_.clear_block();
    body_seen_ = false;
    error_text_[0] = '\0';  // a failure's kind may read it (error_kind_of)
    client_->count_start();
    if (client_->shut_down()) return post_failure(ErrorKind::other);
    prepare(request);
    // After connects that failed, the next waits (as the native client's do): without it a
    // refused port takes thousands of connects a second per VU. The exchange is in flight
    // meanwhile, and the wait counts in its response time.
    const std::int64_t wait_ns =
        failed_connects_ > 0 ? client_->backoff_wait_ns(failed_connects_) : 0;
    if (wait_ns > 0) {
      backing_off_ = true;
      backoff_timer_.expires_after(std::chrono::nanoseconds(wait_ns));
      backoff_timer_.async_wait(
          [this, round = ++backoff_round_](const boost::system::error_code& ec) {
            // Cancelled (closed, abandoned, destroyed): `this` may be gone, so ec is read first.
            if (ec || round != backoff_round_ || !backing_off_) return;
            backing_off_ = false;
            client_->count_backoff();
            add_to_multi();
          });
      return;
    }
    add_to_multi();
  }

  void set_response_observer(http::ResponseObserver* observer) override {
    STRAIN_ASSERT(!busy());
    response_observer_ = observer;
  }

  bool busy() const override { return observer_ != nullptr; }

  void abandon(std::int64_t now) override {
    if (!busy()) return;
    if (failure_posted_) return report();
    stop_backoff();
    leave_multi();
    exchange_ = Exchange{};
    exchange_.error = ErrorKind::abandoned;
    exchange_.sent_ns = started_ns_;
    exchange_.done_ns = now;
    report();
  }

  void close() override {
    if (busy()) client_->count_end();
    observer_ = nullptr;
    failure_posted_ = false;
    stop_backoff();
    leave_multi();
  }

  // The transfer ended (called by the client's reap, outside libcurl's callbacks).
  void finish(CURLcode code, std::int64_t now) {
    leave_multi();
    if (!busy()) return;
    TransferMarks marks;
    marks.done_ns = now;
    marks.socket_opened_ns = socket_opened_ns_;
    marks.has_body = has_body_;
    marks.body_bytes = body_bytes_;
    marks.require_h2 = client_->options().http2;
    marks.error_text = error_text_.data();
    const bool failed_connect = read_transfer(easy_, code, marks, exchange_);
    failed_connects_ = failed_connect ? failed_connects_ + 1 : 0;
    deliver_headers();
    report();
  }

 private:
  // Per-session options that never change; the request's own are set by prepare().
  void configure() {
    const NativeClientOptions& t = client_->timeouts();
    const TransportOptions& o = client_->options();
    curl_easy_setopt(easy_, CURLOPT_PRIVATE, this);
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_text_.data());
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &CurlSession::on_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &CurlSession::on_header);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(easy_, CURLOPT_OPENSOCKETFUNCTION, &CurlSession::open_socket);
    curl_easy_setopt(easy_, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(easy_, CURLOPT_PREREQFUNCTION, &CurlSession::on_prereq);
    curl_easy_setopt(easy_, CURLOPT_PREREQDATA, this);
    curl_easy_setopt(easy_, CURLOPT_CLOSESOCKETFUNCTION, &CurlSession::close_socket);
    curl_easy_setopt(easy_, CURLOPT_CLOSESOCKETDATA, client_);
    curl_easy_setopt(
        easy_, CURLOPT_CONNECTTIMEOUT_MS,
        static_cast<long>(std::max<std::int64_t>(1, t.connect_timeout.count() / 1'000'000)));
    curl_easy_setopt(
        easy_, CURLOPT_TIMEOUT_MS,
        static_cast<long>(std::max<std::int64_t>(1, t.request_timeout.count() / 1'000'000)));
    // A stalled transfer: under one byte a second for the idle timeout (whole seconds).
    curl_easy_setopt(easy_, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(
        easy_, CURLOPT_LOW_SPEED_TIME,
        static_cast<long>(std::max<std::int64_t>(
            1, std::chrono::duration_cast<std::chrono::seconds>(t.idle_timeout).count())));
    curl_easy_setopt(easy_, CURLOPT_TCP_NODELAY, 1L);
    // Only --proxy: a proxy from the environment would send the load somewhere unasked.
    curl_easy_setopt(easy_, CURLOPT_PROXY, o.proxy.c_str());
    if (o.http2) {
      const bool tls = client_->base_url().rfind("https:", 0) == 0;
      curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION,
                       tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
      // Wait for a connection that can multiplex rather than open one more.
      curl_easy_setopt(easy_, CURLOPT_PIPEWAIT, 1L);
    } else {
      curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    }
    if (o.tls.insecure) {
      curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!o.tls.cacert.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, o.tls.cacert.c_str());
    if (!o.tls.cert.empty()) curl_easy_setopt(easy_, CURLOPT_SSLCERT, o.tls.cert.c_str());
    if (!o.tls.key.empty()) curl_easy_setopt(easy_, CURLOPT_SSLKEY, o.tls.key.c_str());
    if (o.follow) {
      curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(easy_, CURLOPT_MAXREDIRS, static_cast<long>(o.max_redirects));
    }
    if (client_->resolve_list() != nullptr)
      curl_easy_setopt(easy_, CURLOPT_RESOLVE, client_->resolve_list());
  }

  // The request's URL, method, headers and body. Unchanged parts keep their libcurl copies.
  void prepare(const http::RequestView& r) {
    if (r.target != target_) {
      target_.assign(r.target);
      url_ = client_->base_url() + target_;
      curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    }
    const bool body_method = r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
    // libcurl's own method follows from the options (NOBODY: HEAD, HTTPGET: GET, POSTFIELDS:
    // POST); any other method, GET with a body included, is named with CUSTOMREQUEST.
    bool libcurl_method = false;
    has_body_ = false;
    if (r.head) {
      curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
      libcurl_method = true;
    } else if (r.body.empty() && !body_method) {
      curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);  // clears NOBODY and POSTFIELDS too
      libcurl_method = r.method == "GET";
    } else {
      curl_easy_setopt(easy_, CURLOPT_NOBODY, 0L);  // a HEAD before would leave it set
      // The body lives in the request's bytes, which outlive the exchange: no copy.
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, r.body.data());
      libcurl_method = r.method == "POST";
      has_body_ = true;
      body_bytes_ = r.body.size();
    }
    if (libcurl_method) {
      if (!method_.empty()) {
        method_.clear();
        curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, nullptr);
      }
    } else if (r.method != method_) {
      method_.assign(r.method);
      curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, method_.c_str());
    }
    if (headers_ == nullptr || r.header_lines != header_lines_) {
      header_lines_.assign(r.header_lines);
      curl_slist_free_all(headers_);
      headers_ = nullptr;
      bool has_accept = false;
      bool has_content_type = false;
      std::string line;
      http::for_each_header(header_lines_, [&](const http::HeaderView& h) {
        // libcurl frames the body itself; a Host equal to the origin's is what it sends anyway.
        if (http::iequals(h.name, "content-length")) return;
        if (http::iequals(h.name, "host") && h.value == client_->default_host()) return;
        if (http::iequals(h.name, "accept")) has_accept = true;
        if (http::iequals(h.name, "content-type")) has_content_type = true;
        line.assign(h.name).append(": ").append(h.value);
        headers_ = curl_slist_append(headers_, line.c_str());
      });
      // The same request as the native client sends: no Accept nor Expect of libcurl's own
      // (Expect: 100-continue would hold a large body back for a second).
      // No Content-Type of libcurl's either: a body would go out as a form.
      if (!has_accept) headers_ = curl_slist_append(headers_, "Accept:");
      if (!has_content_type) headers_ = curl_slist_append(headers_, "Content-Type:");
      headers_ = curl_slist_append(headers_, "Expect:");
      curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    }
  }

  void add_to_multi() {
    if (curl_multi_add_handle(client_->multi(), easy_) != CURLM_OK) {
      return post_failure(ErrorKind::other);
    }
    in_multi_ = true;
  }

  void stop_backoff() {
    if (!backing_off_) return;
    backing_off_ = false;
    backoff_timer_.cancel();
  }

  void leave_multi() {
    if (in_multi_) {
      curl_multi_remove_handle(client_->multi(), easy_);
      in_multi_ = false;
    }
  }

  // A failure inside start() is reported from the event loop, as the native client does, so a
  // VU that retries at once goes round the io_context rather than down the stack.
  void post_failure(ErrorKind kind) {
    exchange_.error = kind;
    exchange_.sent_ns = started_ns_;
    exchange_.done_ns = started_ns_;
    failure_posted_ = true;
    boost::asio::post(client_->io(), [this, observer = observer_] {
      if (!failure_posted_ || observer_ != observer) return;
      report();
    });
  }

  void report() {
    ExchangeObserver* observer = observer_;
    observer_ = nullptr;
    failure_posted_ = false;
    client_->count_end();
    observer->on_exchange(exchange_);
  }

  // The header lines of the response being read: a new status line starts a new block (1xx
  // and redirects come first); handed to the observer before the first body byte.
  struct HeaderBlock {
    std::string lines;
    bool truncated = false;
    void clear_block() {
      lines.clear();
      truncated = false;
    }
  };

  void deliver_headers() {
    if (response_observer_ == nullptr || body_seen_) return;
    body_seen_ = true;
    http::for_each_header(std::string_view(block_.lines), [&](const http::HeaderView& h) {
      response_observer_->on_header(h.name, trim(h.value));
    });
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self_ptr) {
    auto* self = static_cast<CurlSession*>(self_ptr);
    const std::size_t n = size * count;
    if (self->exchange_.first_byte_ns == 0) self->exchange_.first_byte_ns = now_ns();
    if (self->response_observer_ == nullptr) return n;
    const std::string_view line(data, n);
    if (self->body_seen_) {
      // Trailers: the fields went over with the first body byte; these follow them.
      http::for_each_header(trim(line), [&](const http::HeaderView& h) {
        self->response_observer_->on_header(h.name, trim(h.value));
      });
    } else if (line.rfind("HTTP/", 0) == 0) {
      self->block_.clear_block();
    } else if (trim(line).empty()) {
      // The end of one block; a final response's body or the next block follows.
    } else if (self->block_.lines.size() + n <= kMaxHeaderBytes) {
      self->block_.lines.append(trim(line)).append("\r\n");
    } else {
      self->block_.truncated = true;
    }
    return n;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self_ptr) {
    auto* self = static_cast<CurlSession*>(self_ptr);
    const std::size_t n = size * count;
    if (self->response_observer_ != nullptr) {
      self->deliver_headers();
      self->response_observer_->on_body(std::string_view(data, n));
    }
    return n;
  }

  static curl_socket_t open_socket(void* self_ptr, curlsocktype purpose, curl_sockaddr* address) {
    auto* self = static_cast<CurlSession*>(self_ptr);
    self->socket_opened_ns_ = now_ns();
    return self->client_->open_socket(purpose, address);
  }

  // The connection is up (TLS included) and the request goes out now.
  static int on_prereq(void* self_ptr, char*, char*, int, int) {
    auto* self = static_cast<CurlSession*>(self_ptr);
    self->exchange_.sent_ns = now_ns();
    return CURL_PREREQFUNC_OK;
  }

  static int close_socket(void* client_ptr, curl_socket_t fd) {
    static_cast<CurlClient*>(client_ptr)->close_socket(fd);
    return 0;
  }

  CurlClient* client_;
  CURL* easy_ = nullptr;
  ExchangeObserver* observer_ = nullptr;
  http::ResponseObserver* response_observer_ = nullptr;
  Exchange exchange_;
  std::int64_t started_ns_ = 0;
  std::int64_t socket_opened_ns_ = 0;  // this exchange's last new socket; 0: none opened
  curl_slist* headers_ = nullptr;
  std::string header_lines_;  // what headers_ was made from
  std::string target_;        // what url_ was made from
  std::string url_;
  std::string method_;  // CURLOPT_CUSTOMREQUEST's string; empty: libcurl's own method
  HeaderBlock block_;
  bool in_multi_ = false;
  bool failure_posted_ = false;
  bool backing_off_ = false;           // waiting out backoff_timer_ before add_to_multi()
  std::uint32_t failed_connects_ = 0;  // in a row; a transfer that sent its request resets it
  std::uint64_t backoff_round_ = 0;    // which wait a timer callback belongs to
  boost::asio::steady_timer backoff_timer_;
  bool body_seen_ = false;
  bool has_body_ = false;       // this request has a body (POSTFIELDS)
  std::size_t body_bytes_ = 0;  // and its size
  std::array<char, CURL_ERROR_SIZE> error_text_{};
};

CurlClient::~CurlClient() {
  shutdown();
  // Cached connections close now, through close_socket and the Poller.
  curl_multi_cleanup(multi_);
  multi_ = nullptr;
  curl_slist_free_all(resolve_);
}

std::unique_ptr<Session> CurlClient::open_session() {
  auto session = std::make_unique<CurlSession>(*this);
  sessions_.push_back(session.get());
  // libcurl keeps 4 idle connections per handle *in the multi*; a session between exchanges is
  // not, so the default cache would close a connection per round. One per session, plus some.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(sessions_.size() + 4));
  return session;
}

void CurlClient::forget(CurlSession* session, CURL* easy) {
  sessions_.erase(std::remove(sessions_.begin(), sessions_.end(), session), sessions_.end());
  // Gone while reap() walks its list (an observer ended its VU): skip its entry there.
  for (auto& entry : done_)
    if (entry.first == easy) entry.first = nullptr;
}

void CurlClient::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (CurlSession* s : sessions_)
    s->detach();
  sessions_.clear();
  // The worker's loop ends when nothing is left to wait for: no timer, no socket watch.
  timer_.cancel();
  poller_.stop();
}

curl_socket_t CurlClient::open_socket(curlsocktype purpose, const curl_sockaddr* address) {
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  ++connects_;
  const curl_socket_t fd =
      ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd != CURL_SOCKET_BAD) socket_opened();
  return fd;
}

void CurlClient::close_socket(curl_socket_t fd) {
  drop_watch(fd);
  ::close(fd);
  socket_closed();
}

void CurlClient::drop_watch(curl_socket_t fd) {
  const auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  poller_.remove(fd);
  it->second->dead = true;
  graveyard_.push_back(std::move(it->second));
  watches_.erase(it);
}

int CurlClient::socket_callback(CURL*, curl_socket_t fd, int what, void* client_ptr, void*) {
  auto* self = static_cast<CurlClient*>(client_ptr);
  if (what == CURL_POLL_REMOVE) {
    self->drop_watch(fd);
    return 0;
  }
  std::uint32_t events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= EPOLLIN | EPOLLRDHUP;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= EPOLLOUT;
  auto& watch = self->watches_[fd];
  if (!watch) {
    watch = std::make_unique<SocketWatch>();
    watch->client = self;
    watch->fd = fd;
    watch->events = events;
    if (!self->poller_.add_level(fd, events, *watch)) return -1;
  } else if (watch->events != events) {
    watch->events = events;
    if (!self->poller_.modify_level(fd, events, *watch)) return -1;
  }
  return 0;
}

// libcurl moves its timer on nearly every call into it. Re-arming the Asio timer each time is a
// timerfd_settime() system call (16% of the HTTP/2 path's CPU when it did), so "now" is a post
// and a deadline within a millisecond of the armed one keeps the armed one.
int CurlClient::timer_callback(CURLM*, long timeout_ms, void* client_ptr) {
  auto* self = static_cast<CurlClient*>(client_ptr);
  if (self->shut_down_) return 0;
  if (timeout_ms < 0) {
    self->timer_due_ = {};  // a wait already armed fires harmlessly
    return 0;
  }
  // Never call back into libcurl from here: even "now" runs from the event loop.
  if (timeout_ms == 0) {
    if (!self->timeout_posted_) {
      self->timeout_posted_ = true;
      boost::asio::post(self->io_, [self, alive = std::weak_ptr(self->alive_)] {
        if (alive.expired()) return;
        self->timeout_posted_ = false;
        self->on_timer();
      });
    }
    return 0;
  }
  const auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const auto armed = self->timer_due_;
  if (armed != std::chrono::steady_clock::time_point{} && armed <= due &&
      due - armed < std::chrono::milliseconds(1)) {
    return 0;
  }
  self->timer_due_ = due;
  self->timer_.expires_at(due);
  self->timer_.async_wait(
      [self, alive = std::weak_ptr(self->alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        self->timer_due_ = {};
        self->on_timer();
      });
  return 0;
}

void CurlClient::on_timer() {
  if (shut_down_) return;
  int running = 0;
  curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  reap();
  graveyard_.clear();  // no batch of socket events is being walked now
}

void CurlClient::on_socket(curl_socket_t fd, std::uint32_t ready) {
  if (shut_down_) return;
  int mask = 0;
  if ((ready & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) mask |= CURL_CSELECT_IN;
  if ((ready & EPOLLOUT) != 0) mask |= CURL_CSELECT_OUT;
  if ((ready & EPOLLERR) != 0) mask |= CURL_CSELECT_ERR;
  int running = 0;
  curl_multi_socket_action(multi_, fd, mask, &running);
  reap();
}

void CurlClient::reap() {
  if (reaping_) return;
  reaping_ = true;
  int left = 0;
  for (;;) {
    done_.clear();
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg == CURLMSG_DONE) done_.emplace_back(m->easy_handle, m->data.result);
    }
    if (done_.empty()) break;
    const std::int64_t now = now_ns();
    // Copied first: finishing removes handles, and the messages die with them.
    for (std::size_t i = 0; i < done_.size(); ++i) {
      const auto [easy, code] = done_[i];
      if (easy == nullptr) continue;
      CurlSession* session = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &session);
      if (session != nullptr) session->finish(code, now);
    }
  }
  reaping_ = false;
}

}  // namespace

std::unique_ptr<HttpClient> make_curl_client(boost::asio::io_context& io, const http::Url& origin,
                                             const NativeClientOptions& timeouts,
                                             const TransportOptions& options) {
  return std::make_unique<CurlClient>(io, origin, timeouts, options);
}

}  // namespace strain
