#include "tools/target/connection.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "engine/core/assert.hpp"
#include "tools/target/behaviour.hpp"
#include "tools/target/cpu_work.hpp"
#include "tools/target/demo_api.hpp"
#include "tools/target/metrics.hpp"
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
// ?garbage: this line, then this many random bytes.
constexpr std::string_view kGarbageLine = "NOT-HTTP garbage\r\n\r\n";
constexpr std::size_t kGarbageRandomBytes = 256;

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
  // Draining or hanging, bytes are read only to notice the client going away, and dropped.
  if (draining_ || hanging_) {
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
    if (ec == asio::error::eof && !draining_ && !hanging_) return on_eof();
    return close();
  }
  active_tick_ = worker_.tick();
  if (draining_ || hanging_) {
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
  if (path == kMetricsPath) {
    // Like the stats: not served, so no shape (nor the leaks and churn that follow serving)
    // touches a scrape, and a scraper never disturbs the counts it reads.
    s.counted = false;
    s.body = Body::metrics;
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
  const Behaviour& b = resolved.behaviour;
  s.service = b.service;
  if (const auto n = b.close_every; n > 0) [[unlikely]] {
    if (++close_count_ % n == 0) s.close_after = true;
  }
  const Outcome outcome = decide(b, worker_.rng());
  if (outcome.fault != Fault::none) [[unlikely]]
    return on_fault_head(s, b, outcome.fault);
  s.gated = worker_.shared().capacity != nullptr;
  // From here on the request reaches its handler (an injected error too); refusals and faults
  // above never do, so they cost no CPU.
  s.cpu_work = b.cpu_work;
  if (outcome.injected_status != 0) [[unlikely]]
    return on_injected(s, api, outcome.injected_status, b);
  if (api) return on_api_head(head, s, sample(b.latency, worker_.rng()));
  s.status = b.status;
  s.delay = sample(b.latency, worker_.rng());
  s.body_bytes = b.body_bytes;
  s.header_pad = static_cast<std::uint32_t>(b.header_bytes);
  if (b.trickle.on() && s.body_bytes > 0 && !s.head_only && status_has_body(s.status)) {
    s.trickle_bytes = static_cast<std::uint32_t>(b.trickle.bytes);
    s.trickle_every = b.trickle.every;
  }
}

void Connection::on_fault_head(Slot& s, const Behaviour& b, Fault fault) {
  // No --workers slot and no API call: the request is read to its end and dropped.
  s.fault = fault;
  s.counted = false;
  s.body = Body::none;
  s.status = b.status;
  s.body_bytes = b.body_bytes;
  // Nothing after it on this connection is answered.
  s.close_after = true;
  // A hang's time runs from the end of the request, like a delay; the others wait the latency.
  s.delay = fault == Fault::hang ? b.hang_for : sample(b.latency, worker_.rng());
}

void Connection::on_injected(Slot& s, bool api, int status, const Behaviour& b) {
  // An ordinary response in every way (latency, --workers, padding) but its status and body;
  // an /api request never reaches the API.
  s.injected = true;
  s.status = status;
  s.delay = sample(b.latency, worker_.rng());
  const std::string what = "injected " + std::to_string(status) + " (error rate)";
  if (api) {
    s.body = Body::json;
    s.message = api_error_body(what);
  } else {
    s.body = Body::message;
    s.message = "strain-target: " + what + "\n";
    s.header_pad = static_cast<std::uint32_t>(b.header_bytes);
  }
  s.body_bytes = s.message.size();
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
    s.cpu_work = std::chrono::nanoseconds(0);
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
  // Admission comes before the API acts (and before any CPU work), so a request turned away by
  // a full queue changes nothing and costs nothing.
  if (s.gated) [[unlikely]]
    on_admit(s);
  // The handler's own work, here on the worker thread, so --threads bounds the cores it can
  // use. Under --workers it overlaps the service time already scheduled.
  if (s.cpu_work.count() > 0) [[unlikely]] {
    const auto used = burn_cpu(s.cpu_work);
    WorkerCounters::bump(worker_.counters().cpu_work_requests);
    WorkerCounters::bump_by(worker_.counters().cpu_work_ns,
                            static_cast<std::uint64_t>(used.count()));
  }
  // The delay runs from the end of the request and its CPU work, as a slow handler's would.
  if (!s.gated && s.delay.count() > 0) s.ready_at = Clock::now() + s.delay;
  if (s.api) [[unlikely]]
    on_api_complete(s);
  if (s.stats) {
    s.message = worker_.stats_json();
    s.message += '\n';
    s.body_bytes = s.message.size();
  }
  if (s.body == Body::metrics) {
    s.message = worker_.metrics_text();
    s.body_bytes = s.message.size();
  }
  if (s.fault == Fault::hang) [[unlikely]] {
    // Counted now: the request is read, and from here on it will never be answered.
    WorkerCounters::bump(worker_.counters().hung);
    hanging_ = true;
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
    // A fault goes out alone once it is at the front (on_fault).
    if (s.fault != Fault::none) break;
    // Padding takes two pieces more than a head alone.
    if (s.header_pad > 0 && i > 0 && pieces_.size() + 10 > kMaxPieces) break;
    if (!ready(s, now)) {
      if (s.complete) arm_timer(s.ready_at);
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
      if (s.body == Body::json)
        head.content_type = status_has_body(s.status) ? "application/json" : "";
      else if (s.body == Body::metrics)
        head.content_type = kMetricsContentType;
      else
        head.content_type = "text/plain";
      if (s.api) head.extra_field = s.api->extra_field;
      if (s.retry_after) [[unlikely]]
        head.extra_field = "Retry-After: 1";
      const auto at = wbuf_.size();
      wbuf_.resize(at + kMaxResponseHeadBytes);
      auto n = format_head(head, s.status >= 200 ? worker_.date() : "", wbuf_.data() + at);
      wbuf_.resize(at + n);
      if (s.header_pad > 0) [[unlikely]]
        n = add_padding(at, n, s.header_pad);
      else
        add_piece(nullptr, at, n);
      s.head_bytes = static_cast<std::uint32_t>(n);
      slot_bytes += n;
    }
    const bool has_body = s.body != Body::none && !s.head_only && status_has_body(s.status);
    const std::uint64_t wire_body = has_body ? s.body_bytes : 0;
    const std::uint64_t body_sent = offset > 0 ? offset - s.head_bytes : 0;
    const std::uint64_t body_left = wire_body - body_sent;
    std::uint64_t take = body_left;
    if (s.body == Body::message || s.body == Body::json || s.body == Body::metrics) {
      // Messages are small and always go out whole with their head.
      if (body_left > 0) {
        const auto w = wbuf_.size();
        wbuf_ += s.message;
        add_piece(nullptr, w, s.message.size());
      }
    } else if (body_left > 0) {
      take = std::min<std::uint64_t>(body_left, budget);
      // Trickled: the head alone, then one piece per batch; on_write sets the next piece's time.
      if (s.trickle_bytes > 0) [[unlikely]]
        take = offset == 0 ? 0 : std::min<std::uint64_t>(take, s.trickle_bytes);
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
  if (count_ > 0) arm_timer(shared.started + until);
  return true;
}

void Connection::arm_timer(TimePoint at) {
  if (timer_armed_) return;
  timer_armed_ = true;
  timer_.expires_at(at);
  timer_.async_wait([this](const boost::system::error_code& ec) { on_timer(ec); });
}

std::size_t Connection::add_padding(std::size_t at, std::size_t head_bytes, std::size_t pad_bytes) {
  // The fields go before the blank line that ends the head. Whole ones come from static
  // storage, so even 1 MiB of them costs no copy; at most two are formatted here.
  wbuf_.resize(at + head_bytes - 2);
  add_piece(nullptr, at, head_bytes - 2);
  const auto plan = plan_padding(pad_bytes);
  if (plan.whole_bytes > 0) add_piece(header_padding().data(), 0, plan.whole_bytes);
  const auto tail = wbuf_.size();
  for (const auto field : plan.field_bytes) {
    if (field == 0) continue;
    const auto w = wbuf_.size();
    wbuf_.resize(w + field);
    format_pad_field(field, wbuf_.data() + w);
  }
  wbuf_ += "\r\n";
  add_piece(nullptr, tail, wbuf_.size() - tail);
  return head_bytes + plan.total();
}

void Connection::flush() {
  if (writing_ || closing_ || draining_) return;
  if (worker_.shared().stalls.enabled()) [[unlikely]] {
    if (stalled()) return;
  }
  if (count_ > 0 && slot(0).fault != Fault::none) [[unlikely]]
    return on_fault();
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
      if (s.injected) [[unlikely]]
        WorkerCounters::bump(worker_.counters().errors_injected);
      if (s.trickle_bytes > 0) [[unlikely]]
        WorkerCounters::bump(worker_.counters().trickled);
      last = last || s.close_after;
      pop_slot();
    }
    front_sent_ += batch_partial_;
    if (batch_partial_ > 0 && slot(0).trickle_bytes > 0) [[unlikely]]
      slot(0).ready_at = Clock::now() + slot(0).trickle_every;
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

void Connection::on_fault() {
  Slot& s = slot(0);
  TimePoint now{};
  if (!ready(s, now)) {
    if (s.complete) arm_timer(s.ready_at);
    return;
  }
  switch (s.fault) {
    case Fault::none:
      STRAIN_ASSERT(false);  // flush sends only faults here
      return;
    case Fault::hang:
      // Counted when it was read; never a byte of an answer.
      return close();
    case Fault::reset: {
      ResponseHead head;
      head.status = s.status;
      head.content_length = s.body_bytes;
      wbuf_.resize(kMaxResponseHeadBytes);
      const auto n = format_head(head, worker_.date(), wbuf_.data());
      // The status line and about half of the fields, then the reset (on_fault_written).
      const auto line = std::string_view(wbuf_.data(), n).find("\r\n") + 2;
      wbuf_.resize(line + (n - line) / 2);
      break;
    }
    case Fault::garbage:
      wbuf_.assign(kGarbageLine);
      for (std::size_t i = 0; i < kGarbageRandomBytes; i += 8) {
        const std::uint64_t x = worker_.rng().next();
        wbuf_.append(reinterpret_cast<const char*>(&x), sizeof x);
      }
      break;
  }
  writing_ = true;
  asio::async_write(socket_, asio::buffer(wbuf_),
                    [this, fault = s.fault](const boost::system::error_code& ec, std::size_t) {
                      on_fault_written(ec, fault);
                    });
}

void Connection::on_fault_written(const boost::system::error_code& ec, Fault fault) {
  writing_ = false;
  if (closing_) return maybe_destroy();
  if (ec) return close();
  active_tick_ = worker_.tick();
  if (fault == Fault::reset) {
    WorkerCounters::bump(worker_.counters().reset);
    // Linger on with a zero timeout: close() sends RST instead of FIN, the client sees
    // ECONNRESET.
    boost::system::error_code ignored;
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    return close();
  }
  WorkerCounters::bump(worker_.counters().garbage);
  pop_slot();
  begin_drain();
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
