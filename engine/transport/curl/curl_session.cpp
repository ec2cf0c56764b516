#include "engine/transport/curl/curl_session.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <string_view>

#include "engine/core/assert.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/error.hpp"
#include "engine/transport/curl/curl_multi.hpp"
#include "engine/transport/curl/curl_transfer.hpp"

namespace strain::curl_internal {
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

}  // namespace

CurlSession::CurlSession(CurlClient& client) : client_(&client), backoff_timer_(client.io()) {
  easy_ = curl_easy_init();
  if (easy_ == nullptr) throw Error("libcurl: curl_easy_init failed");
  configure();
}

CurlSession::~CurlSession() {
  if (client_ != nullptr) {
    close();
    client_->forget(this, easy_);
  }
  curl_easy_cleanup(easy_);
  curl_slist_free_all(headers_);
}

void CurlSession::detach() {
  close();
  client_ = nullptr;
}

void CurlSession::start(const http::RequestView& request, ExchangeObserver& observer,
                        std::int64_t now) {
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

void CurlSession::set_response_observer(http::ResponseObserver* observer) {
  STRAIN_ASSERT(!busy());
  response_observer_ = observer;
}

void CurlSession::abandon(std::int64_t now) {
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

void CurlSession::close() {
  if (busy()) client_->count_end();
  observer_ = nullptr;
  failure_posted_ = false;
  stop_backoff();
  leave_multi();
}

void CurlSession::finish(CURLcode code, std::int64_t now) {
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

void CurlSession::configure() {
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

void CurlSession::prepare(const http::RequestView& r) {
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

void CurlSession::add_to_multi() {
  if (curl_multi_add_handle(client_->multi(), easy_) != CURLM_OK) {
    return post_failure(ErrorKind::other);
  }
  in_multi_ = true;
}

void CurlSession::stop_backoff() {
  if (!backing_off_) return;
  backing_off_ = false;
  backoff_timer_.cancel();
}

void CurlSession::leave_multi() {
  if (in_multi_) {
    curl_multi_remove_handle(client_->multi(), easy_);
    in_multi_ = false;
  }
}

void CurlSession::post_failure(ErrorKind kind) {
  exchange_.error = kind;
  exchange_.sent_ns = started_ns_;
  exchange_.done_ns = started_ns_;
  failure_posted_ = true;
  boost::asio::post(client_->io(), [this, observer = observer_] {
    if (!failure_posted_ || observer_ != observer) return;
    report();
  });
}

void CurlSession::report() {
  ExchangeObserver* observer = observer_;
  observer_ = nullptr;
  failure_posted_ = false;
  client_->count_end();
  observer->on_exchange(exchange_);
}

void CurlSession::deliver_headers() {
  if (response_observer_ == nullptr || body_seen_) return;
  body_seen_ = true;
  http::for_each_header(std::string_view(block_.lines), [&](const http::HeaderView& h) {
    response_observer_->on_header(h.name, trim(h.value));
  });
}

std::size_t CurlSession::on_header(char* data, std::size_t size, std::size_t count,
                                   void* self_ptr) {
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

std::size_t CurlSession::on_body(char* data, std::size_t size, std::size_t count, void* self_ptr) {
  auto* self = static_cast<CurlSession*>(self_ptr);
  const std::size_t n = size * count;
  if (self->response_observer_ != nullptr) {
    self->deliver_headers();
    self->response_observer_->on_body(std::string_view(data, n));
  }
  return n;
}

curl_socket_t CurlSession::open_socket(void* self_ptr, curlsocktype purpose,
                                       curl_sockaddr* address) {
  auto* self = static_cast<CurlSession*>(self_ptr);
  self->socket_opened_ns_ = now_ns();
  return self->client_->open_socket(purpose, address);
}

int CurlSession::on_prereq(void* self_ptr, char*, char*, int, int) {
  auto* self = static_cast<CurlSession*>(self_ptr);
  self->exchange_.sent_ns = now_ns();
  return CURL_PREREQFUNC_OK;
}

int CurlSession::close_socket(void* client_ptr, curl_socket_t fd) {
  static_cast<CurlClient*>(client_ptr)->close_socket(fd);
  return 0;
}

}  // namespace strain::curl_internal
