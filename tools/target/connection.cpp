#include "tools/target/connection.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "engine/core/assert.hpp"
#include "tools/target/behaviour.hpp"
#include "tools/target/demo_api.hpp"
#include "tools/target/response.hpp"
#include "tools/target/worker.hpp"

namespace strain::target {
namespace {

constexpr std::size_t kInitialReadBytes = 4096;
// Read buffer ceiling: one whole head. The parser rejects a longer head before it is reached.
constexpr std::size_t kMaxReadBytes = RequestLimits{}.max_head_bytes;
// Responses queued per connection; beyond this reading pauses until writes catch up.
constexpr std::size_t kMaxPipeline = 64;
// Bytes handed to one write: big bodies go out in pieces so other work gets a turn.
constexpr std::size_t kBatchBytes = 256 * 1024;
// Buffers in one write; adjacent heads and small bodies share one.
constexpr std::size_t kMaxPieces = 48;
// Bodies up to this size are copied beside their head: one buffer, one send.
constexpr std::uint64_t kInlineBodyBytes = 4096;
// A closing connection reads and drops at most this much before giving up on a clean close.
constexpr std::uint64_t kMaxDrainBytes = 1 << 20;

}  // namespace

Connection::Connection(Worker& worker, Socket socket, std::size_t index)
    : worker_(worker),
      socket_(std::move(socket)),
      timer_(worker.context().get_executor()),
      index_(index),
      rbuf_(new char[kInitialReadBytes]),
      rcap_(kInitialReadBytes),
      ring_(4),
      active_tick_(worker.tick()) {}

void Connection::start() {
  boost::system::error_code ec;
  // Responses are written whole; never let Nagle hold the tail of one back.
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  read_more();
}

void Connection::close() {
  if (closing_) return;
  closing_ = true;
  boost::system::error_code ec;
  if (timer_armed_) timer_.cancel();
  socket_.close(ec);
  maybe_destroy();
}

void Connection::maybe_destroy() {
  if (!reading_ && !writing_ && !timer_armed_) worker_.destroy(*this);
}

void Connection::on_tick(std::uint64_t tick) {
  if (closing_) return;
  // Activity is stamped with the tick in progress, so only more than N whole ticks of silence
  // guarantee N tick periods: timeouts land between N and N + 1 periods, never early.
  const auto silent = tick - active_tick_;
  if (draining_) {
    if (silent > worker_.linger_ticks()) close();
    return;
  }
  // Waiting out a requested delay is work, not idleness.
  if (timer_armed_) return;
  if (silent > worker_.idle_ticks()) close();
}

// ---- reading ----------------------------------------------------------------------------------

void Connection::read_more() {
  if (reading_ || closing_) return;
  if (draining_) {
    reading_ = true;
    socket_.async_read_some(
        asio::buffer(rbuf_.get(), rcap_),
        [this](const boost::system::error_code& ec, std::size_t n) { on_read(ec, n); });
    return;
  }
  if (stop_parsing_ || eof_ || count_ + 2 > kMaxPipeline) return;
  if (rend_ == rcap_) {
    STRAIN_ASSERT(rcap_ < kMaxReadBytes);  // the parser rejects a head this long
    const std::size_t cap = std::min(rcap_ * 2, kMaxReadBytes);
    std::unique_ptr<char[]> bigger(new char[cap]);
    std::memcpy(bigger.get(), rbuf_.get(), rend_);
    rbuf_ = std::move(bigger);
    rcap_ = cap;
  }
  reading_ = true;
  socket_.async_read_some(
      asio::buffer(rbuf_.get() + rend_, rcap_ - rend_),
      [this](const boost::system::error_code& ec, std::size_t n) { on_read(ec, n); });
}

void Connection::on_read(const boost::system::error_code& ec, std::size_t n) {
  reading_ = false;
  if (closing_) return maybe_destroy();
  if (ec) {
    if (ec == asio::error::eof && !draining_) return on_eof();
    return close();
  }
  active_tick_ = worker_.tick();
  if (draining_) {
    drained_bytes_ += n;
    if (drained_bytes_ > kMaxDrainBytes) return close();
    return read_more();
  }
  rend_ += n;
  process();
  flush();
  read_more();
}

void Connection::on_eof() {
  eof_ = true;
  stop_parsing_ = true;
  // A request cut off by the close is never answered.
  if (count_ > 0 && !slot(count_ - 1).complete) --count_;
  if (count_ == 0 && !writing_) return close();
  // Answer what was asked before the client half-closed; on_write closes after the last one.
  flush();
}

void Connection::process() {
  if (stop_parsing_) return;
  // Two free slots before each step: a head may need one for 100 Continue and one for itself.
  while (count_ + 2 <= kMaxPipeline) {
    std::size_t used = 0;
    const auto event = parser_.feed(rbuf_.get() + rbeg_, rend_ - rbeg_, used);
    rbeg_ += used;
    if (event == RequestParser::Event::need_more) break;
    if (event == RequestParser::Event::head) {
      on_head(parser_.head());
      if (stop_parsing_) break;  // refused at its head; its body is never read
    } else if (event == RequestParser::Event::complete) {
      on_complete();
      if (stop_parsing_) break;
    } else {
      on_parse_error(parser_.error());
      break;
    }
  }
  // Keep only what the parser has not given up (part of a head), at the front.
  if (rbeg_ == rend_) {
    rbeg_ = rend_ = 0;
  } else if (rbeg_ > 0) {
    std::memmove(rbuf_.get(), rbuf_.get() + rbeg_, rend_ - rbeg_);
    rend_ -= rbeg_;
    rbeg_ = 0;
  }
}

void Connection::on_head(const RequestHead& head) {
  const auto path = head.path();
  const bool api = is_api_path(path);
  // Refused before it is sent: no 100 Continue for an /api body over the cap.
  const bool too_large = api && head.content_length > kMaxApiBodyBytes;
  if (head.expect_continue && !too_large) {
    Slot& interim = push_slot();
    interim.status = 100;
    interim.body = Body::none;
    interim.counted = false;
    interim.complete = true;
  }
  Slot& s = push_slot();
  s.head_only = head.is_head();
  s.http10 = head.version_minor == 0;
  s.close_after = !head.keep_alive;
  if (path == "/__strain/stats") {
    s.stats = true;
    s.counted = false;
    s.body = Body::json;
    return;
  }
  if (too_large) {
    s.status = 413;
    s.body = Body::json;
    s.message = api_error_body("body larger than 1 MiB");
    s.body_bytes = s.message.size();
    s.complete = true;
    s.close_after = true;
    stop_parsing_ = true;
    return;
  }
  if (worker_.shared().rate) [[unlikely]] {
    if (!worker_.shared().rate->try_take(Clock::now())) return on_rate_limited(s, api);
  }
  Resolved resolved = resolve_behaviour(worker_.options().defaults, head.query());
  if (!resolved.ok()) {
    s.status = 400;
    if (api) {
      s.body = Body::json;
      s.message = api_error_body(resolved.error);
    } else {
      s.body = Body::message;
      s.message = std::move(resolved.error);
      s.message += '\n';
    }
    s.body_bytes = s.message.size();
    return;
  }
  s.service = resolved.behaviour.service;
  if (const auto n = resolved.behaviour.close_every; n > 0) [[unlikely]] {
    if (++close_count_ % n == 0) s.close_after = true;
  }
  s.gated = worker_.shared().capacity != nullptr;
  if (api) return on_api_head(head, s, resolved.behaviour.delay);
  s.status = resolved.behaviour.status;
  s.delay = resolved.behaviour.delay;
  s.body_bytes = resolved.behaviour.body_bytes;
}

void Connection::on_rate_limited(Slot& s, bool api) {
  // The request (and any body) is still read to its end, so the connection stays usable.
  s.status = 429;
  s.retry_after = true;
  if (api) {
    s.body = Body::json;
    s.message = api_error_body("rate limited");
    // An /api body would be kept for on_api_complete otherwise; there is no ApiCall.
  } else {
    s.body = Body::message;
    s.message = "strain-target: rate limited\n";
  }
  s.body_bytes = s.message.size();
}

void Connection::on_admit(Slot& s) {
  const auto now = Clock::now();
  const auto admission = worker_.shared().capacity->admit(now, s.service);
  if (!admission.admitted) {
    s.status = 503;
    s.delay = std::chrono::nanoseconds(0);
    if (s.api) {
      s.api.reset();  // the body is complete: the parser holds no pointer into it any more
      s.body = Body::json;
      s.message = api_error_body("queue full");
    } else {
      s.body = Body::message;
      s.message = "strain-target: queue full\n";
    }
    s.body_bytes = s.message.size();
    return;
  }
  // Service first (in the queue, then on a server), then any requested delay.
  s.ready_at = admission.end + s.delay;
  if (s.ready_at == TimePoint{}) s.ready_at = now;
}

void Connection::on_api_head(const RequestHead& head, Slot& s, std::chrono::nanoseconds delay) {
  // Only the delay applies: ?status= and ?size= would make the API lie about what it did.
  s.delay = delay;
  s.body = Body::json;
  s.api = std::make_unique<ApiCall>();
  s.api->method = head.method;
  s.api->target = head.target;
  s.api->authorization = head.authorization;
  if (head.has_body) parser_.keep_body(&s.api->body, kMaxApiBodyBytes);
}

void Connection::on_api_complete(Slot& s) {
  ApiResponse response;
  if (parser_.body_truncated()) {
    // Only a chunked body gets here: a Content-Length over the cap is refused at the head.
    response.status = 413;
    response.body = api_error_body("body larger than 1 MiB");
  } else {
    const std::string_view target = s.api->target;
    const auto q = target.find('?');
    ApiRequest request;
    request.method = s.api->method;
    request.path = target.substr(0, q);
    request.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    request.authorization = s.api->authorization;
    request.body = s.api->body;
    response = worker_.handle_api(request);
  }
  std::string().swap(s.api->body);  // up to 1 MiB: not kept while the answer waits
  s.api->extra_field = response.extra_field;
  s.status = response.status;
  s.message = std::move(response.body);
  s.body_bytes = s.message.size();
}

void Connection::on_complete() {
  STRAIN_ASSERT(count_ > 0);
  Slot& s = slot(count_ - 1);
  s.complete = true;
  // The delay runs from the end of the request, as a slow handler's would. Admission comes
  // before the API acts, so a request turned away by a full queue changes nothing.
  if (s.gated) [[unlikely]]
    on_admit(s);
  else if (s.delay.count() > 0)
    s.ready_at = Clock::now() + s.delay;
  if (s.api) [[unlikely]]
    on_api_complete(s);
  if (s.stats) {
    s.message = worker_.stats_json();
    s.message += '\n';
    s.body_bytes = s.message.size();
  }
  if (s.close_after) stop_parsing_ = true;
}

void Connection::on_parse_error(RequestError error) {
  // The request being read, if its head was fine, is answered by the error instead.
  const bool reuse = count_ > 0 && !slot(count_ - 1).complete;
  Slot& s = reuse ? slot(count_ - 1) : push_slot();
  s = Slot{};
  s.status = status_for(error);
  s.body = Body::message;
  s.message = std::string("strain-target: bad request (") + to_string(error) + ")\n";
  s.body_bytes = s.message.size();
  s.complete = true;
  s.close_after = true;
  stop_parsing_ = true;
}

// ---- writing ----------------------------------------------------------------------------------

bool Connection::ready(const Slot& s, TimePoint& now) const {
  if (!s.complete) return false;
  if (s.ready_at == TimePoint{}) return true;
  if (now == TimePoint{}) now = Clock::now();
  return s.ready_at <= now;
}

Connection::Slot& Connection::push_slot() {
  STRAIN_ASSERT(count_ < kMaxPipeline);
  if (count_ == ring_.size()) {
    std::vector<Slot> bigger(ring_.size() * 2);
    for (std::size_t i = 0; i < count_; ++i)
      bigger[i] = std::move(slot(i));
    ring_ = std::move(bigger);
    ring_head_ = 0;
  }
  Slot& s = slot(count_++);
  s = Slot{};
  return s;
}

void Connection::pop_slot() noexcept {
  ring_head_ = (ring_head_ + 1) & (ring_.size() - 1);
  --count_;
  front_sent_ = 0;
}

void Connection::add_piece(const char* ptr, std::size_t offset, std::size_t len) {
  if (ptr == nullptr && !pieces_.empty() && pieces_.back().ptr == nullptr &&
      pieces_.back().offset + pieces_.back().len == offset) {
    pieces_.back().len += len;
    return;
  }
  pieces_.push_back(Piece{ptr, offset, len});
}

void Connection::append_body(std::uint64_t from, std::uint64_t n, bool copy) {
  // Body byte k is pattern[k % size]; the pattern is whole periods, so pieces join seamlessly.
  const auto pattern = body_pattern();
  while (n > 0) {
    const auto at = static_cast<std::size_t>(from % pattern.size());
    const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(n, pattern.size() - at));
    if (copy) {
      const auto w = wbuf_.size();
      wbuf_.append(pattern.data() + at, len);
      add_piece(nullptr, w, len);
    } else {
      add_piece(pattern.data() + at, 0, len);
    }
    from += len;
    n -= len;
  }
}

bool Connection::build_batch() {
  wbuf_.clear();
  pieces_.clear();
  batch_done_ = 0;
  batch_partial_ = 0;
  TimePoint now{};
  std::size_t budget = kBatchBytes;
  for (std::size_t i = 0; i < count_ && budget > 0 && pieces_.size() + 8 <= kMaxPieces; ++i) {
    Slot& s = slot(i);
    if (!ready(s, now)) {
      if (s.complete && !timer_armed_) {
        timer_armed_ = true;
        timer_.expires_at(s.ready_at);
        timer_.async_wait([this](const boost::system::error_code& ec) { on_timer(ec); });
      }
      break;
    }
    const std::uint64_t offset = i == 0 ? front_sent_ : 0;
    std::uint64_t slot_bytes = 0;
    if (offset == 0) {
      ResponseHead head;
      head.status = s.status;
      head.content_length = s.body_bytes;
      head.connection = s.close_after ? ConnectionHeader::close
                        : s.http10    ? ConnectionHeader::keep_alive
                                      : ConnectionHeader::none;
      if (s.body != Body::json)
        head.content_type = "text/plain";
      else
        head.content_type = status_has_body(s.status) ? "application/json" : "";
      if (s.api) head.extra_field = s.api->extra_field;
      if (s.retry_after) [[unlikely]]
        head.extra_field = "Retry-After: 1";
      const auto at = wbuf_.size();
      wbuf_.resize(at + kMaxResponseHeadBytes);
      const auto n = format_head(head, s.status >= 200 ? worker_.date() : "", wbuf_.data() + at);
      wbuf_.resize(at + n);
      s.head_bytes = static_cast<std::uint32_t>(n);
      add_piece(nullptr, at, n);
      slot_bytes += n;
    }
    const bool has_body = s.body != Body::none && !s.head_only && status_has_body(s.status);
    const std::uint64_t wire_body = has_body ? s.body_bytes : 0;
    const std::uint64_t body_sent = offset > 0 ? offset - s.head_bytes : 0;
    const std::uint64_t body_left = wire_body - body_sent;
    std::uint64_t take = body_left;
    if (s.body == Body::message || s.body == Body::json) {
      // Messages are small and always go out whole with their head.
      if (body_left > 0) {
        const auto w = wbuf_.size();
        wbuf_ += s.message;
        add_piece(nullptr, w, s.message.size());
      }
    } else if (body_left > 0) {
      take = std::min<std::uint64_t>(body_left, budget);
      append_body(body_sent, take, take <= kInlineBodyBytes);
    }
    slot_bytes += take;
    budget -= static_cast<std::size_t>(std::min<std::uint64_t>(budget, slot_bytes));
    if (take < body_left) {
      batch_partial_ = slot_bytes;
      break;
    }
    ++batch_done_;
    if (s.close_after) break;
  }
  return !pieces_.empty();
}

bool Connection::stalled() {
  const auto& shared = worker_.shared();
  const auto now = Clock::now();
  const auto until = shared.stalls.stalled_until(now - shared.started);
  if (until.count() == 0) return false;
  // Wake at the window's end; an earlier timer (a delay ending inside it) re-checks and re-arms.
  if (!timer_armed_ && count_ > 0) {
    timer_armed_ = true;
    timer_.expires_at(shared.started + until);
    timer_.async_wait([this](const boost::system::error_code& ec) { on_timer(ec); });
  }
  return true;
}

void Connection::flush() {
  if (writing_ || closing_ || draining_) return;
  if (worker_.shared().stalls.enabled()) [[unlikely]] {
    if (stalled()) return;
  }
  if (!build_batch()) return;
  writing_ = true;
  auto handler = [this](const boost::system::error_code& ec, std::size_t) { on_write(ec); };
  if (pieces_.size() == 1 && pieces_.front().ptr == nullptr) {
    asio::async_write(socket_, asio::buffer(wbuf_), std::move(handler));
    return;
  }
  iov_.clear();
  for (const auto& p : pieces_) {
    iov_.emplace_back(p.ptr != nullptr ? p.ptr : wbuf_.data() + p.offset, p.len);
  }
  asio::async_write(socket_, iov_, std::move(handler));
}

void Connection::on_write(const boost::system::error_code& ec) {
  writing_ = false;
  bool last = false;
  if (!ec) {
    active_tick_ = worker_.tick();
    // Counted only now: "served" means the whole response reached the socket.
    for (std::size_t k = 0; k < batch_done_; ++k) {
      const Slot& s = slot(0);
      if (s.counted) worker_.count(s.status);
      last = last || s.close_after;
      pop_slot();
    }
    front_sent_ += batch_partial_;
  }
  batch_done_ = 0;
  batch_partial_ = 0;
  if (closing_) return maybe_destroy();
  if (ec) return close();
  if (last) return begin_drain();
  if (eof_ && count_ == 0) return close();
  process();
  flush();
  read_more();
}

void Connection::on_timer(const boost::system::error_code& ec) {
  timer_armed_ = false;
  if (closing_) return maybe_destroy();
  if (ec) return;
  active_tick_ = worker_.tick();
  flush();
}

void Connection::begin_drain() {
  // Closing with unread request bytes would send a reset that can destroy the response we just
  // wrote before the client reads it. Half-close instead and wait for the client's FIN.
  draining_ = true;
  boost::system::error_code ec;
  socket_.shutdown(asio::socket_base::shutdown_send, ec);
  if (ec || eof_) return close();
  rbeg_ = rend_ = 0;
  read_more();
}

}  // namespace strain::target
