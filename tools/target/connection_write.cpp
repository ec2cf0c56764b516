// Connection's writing half: responses batched in request order, faults, stalls, draining.
#include <boost/asio/write.hpp>

#include "engine/core/assert.hpp"
#include "tools/target/connection.hpp"
#include "tools/target/metrics.hpp"
#include "tools/target/response.hpp"
#include "tools/target/worker.hpp"

namespace strain::target {
namespace {

// Bytes handed to one write: big bodies go out in pieces so other work gets a turn.
constexpr std::size_t kBatchBytes = 256 * 1024;
// Buffers in one write; adjacent heads and small bodies share one.
constexpr std::size_t kMaxPieces = 48;
// Bodies up to this size are copied beside their head: one buffer, one send.
constexpr std::uint64_t kInlineBodyBytes = 4096;
// ?garbage: this line, then this many random bytes.
constexpr std::string_view kGarbageLine = "NOT-HTTP garbage\r\n\r\n";
constexpr std::size_t kGarbageRandomBytes = 256;

}  // namespace

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
      if (s.phase != kNoPhase) [[unlikely]] {
        if (s.counted) worker_.count_in_phase(s.phase, &PhaseCounters::served);
        if (s.injected) worker_.count_in_phase(s.phase, &PhaseCounters::errors_injected);
        if (s.trickle_bytes > 0) worker_.count_in_phase(s.phase, &PhaseCounters::trickled);
      }
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
  const auto phase = slot(0).phase;
  if (fault == Fault::reset) {
    WorkerCounters::bump(worker_.counters().reset);
    if (phase != kNoPhase) worker_.count_in_phase(phase, &PhaseCounters::reset);
    // Linger on with a zero timeout: close() sends RST instead of FIN, the client sees
    // ECONNRESET.
    boost::system::error_code ignored;
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    return close();
  }
  WorkerCounters::bump(worker_.counters().garbage);
  if (phase != kNoPhase) worker_.count_in_phase(phase, &PhaseCounters::garbage);
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
