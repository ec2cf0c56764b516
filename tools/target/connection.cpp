#include "tools/target/connection.hpp"

#include <boost/asio/read.hpp>
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
  const Behaviour* defaults = &worker_.options().defaults;
  if (worker_.options().phases.enabled()) [[unlikely]] {
    s.phase = worker_.phase_now();
    worker_.count_in_phase(s.phase, &PhaseCounters::requests);
    defaults = &worker_.options().phases.phases[s.phase].behaviour;
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
  Resolved resolved = resolve_behaviour(*defaults, head.query());
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
    if (s.phase != kNoPhase) worker_.count_in_phase(s.phase, &PhaseCounters::hung);
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

}  // namespace strain::target
