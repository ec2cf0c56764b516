#include "engine/transport/h2/h2_client.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <utility>
#include <vector>

#include "engine/core/assert.hpp"
#include "engine/core/clock.hpp"
#include "engine/transport/deadline_list.hpp"
#include "engine/transport/h2/h2_connection.hpp"
#include "engine/transport/poller.hpp"

namespace strain {
namespace {

class H2Session;

// A first-come-first-served queue of exchanges waiting for a stream, linked through them:
// bounded by the sessions (each has at most one exchange), no allocation.
class WaitQueue {
 public:
  void push(H2Exchange& x) {
    x.next_waiting = nullptr;
    if (tail_ != nullptr)
      tail_->next_waiting = &x;
    else
      head_ = &x;
    tail_ = &x;
    ++size_;
  }
  H2Exchange* pop() {
    H2Exchange* x = head_;
    if (x == nullptr) return nullptr;
    head_ = x->next_waiting;
    if (head_ == nullptr) tail_ = nullptr;
    x->next_waiting = nullptr;
    --size_;
    return x;
  }
  // O(queue) but rare: an abandoned or timed-out exchange leaving before its turn.
  bool remove(H2Exchange& x) {
    H2Exchange* prev = nullptr;
    for (H2Exchange* p = head_; p != nullptr; prev = p, p = p->next_waiting) {
      if (p != &x) continue;
      (prev != nullptr ? prev->next_waiting : head_) = p->next_waiting;
      if (tail_ == p) tail_ = prev;
      p->next_waiting = nullptr;
      --size_;
      return true;
    }
    return false;
  }
  bool empty() const { return head_ == nullptr; }

 private:
  H2Exchange* head_ = nullptr;
  H2Exchange* tail_ = nullptr;
  std::size_t size_ = 0;
};

std::chrono::milliseconds sweep_period(const NativeClientOptions& o) {
  const auto shortest = std::min(o.connect_timeout, o.request_timeout);
  const auto period = std::chrono::duration_cast<std::chrono::milliseconds>(shortest / 20);
  return std::clamp(period, std::chrono::milliseconds(1), std::chrono::milliseconds(50));
}

class H2Client final : public HttpClient, private H2ConnectionListener, private BatchListener {
 public:
  H2Client(boost::asio::io_context& io, const Endpoint& endpoint,
           const NativeClientOptions& timeouts, H2ClientOptions options,
           std::shared_ptr<const TlsContext> tls)
      : request_deadlines_(timeouts.request_timeout.count()),
        io_(io),
        endpoint_(endpoint),
        timeouts_(timeouts),
        options_(std::move(options)),
        tls_(std::move(tls)),
        poller_(io),
        sweep_timer_(io),
        connect_deadlines_(timeouts.connect_timeout.count()),
        read_buffer_(64 * 1024) {
    connection_options_.max_streams = std::max<std::uint32_t>(options_.max_streams, 1);
    connection_options_.scheme = options_.scheme;
    connection_options_.authority = options_.authority;
    connection_options_.backoff = {timeouts.connect_backoff_first.count(),
                                   timeouts.connect_backoff_cap.count()};
    poller_.set_batch_listener(this);
    tick();
  }

  ~H2Client() override { shutdown(); }

  std::unique_ptr<Session> open_session() override;
  std::uint64_t in_flight() const override { return in_flight_; }
  std::uint64_t connects() const override { return sum(&H2Connection::connects); }
  // Streams the server refused (a GOAWAY as it closed the connection), sent again once.
  std::uint64_t stale_retries() const override { return refused_retries_; }
  std::uint64_t connect_backoffs() const override { return sum(&H2Connection::connect_backoffs); }
  // A counter of every connection's, added up.
  std::uint64_t sum(std::uint64_t H2Connection::*counter) const {
    std::uint64_t n = 0;
    for (const auto& c : connections_)
      n += (*c).*counter;
    return n;
  }

  void shutdown() override {
    if (shut_down_) return;
    shut_down_ = true;
    sweep_timer_.cancel();
    const std::int64_t now = now_ns();
    for (auto& c : connections_)
      c->fail(ErrorKind::abandoned, now);
    done_.clear();  // in-flight exchanges end unreported
    while (waiting_.pop() != nullptr) {
    }
    poller_.stop();
  }

  // Where an exchange was when withdrawn.
  enum class Where : unsigned char { nowhere, waiting, streaming, ended };

  // Session side: a new exchange (its deadline armed), and one leaving every list.
  void begin(H2Exchange& x, std::int64_t now);
  Where withdraw(H2Exchange& x);
  void time_out(H2Exchange& x, std::int64_t now);

  std::size_t sessions = 0;
  std::uint64_t in_flight_ = 0;
  DeadlineList request_deadlines_;

 private:
  void on_exchange_end(H2Exchange& x) override;
  void on_connection_io(H2Connection& c) override;
  void on_batch_end() override;

  // The connection a new stream goes to: the least loaded with room, or a new one while the
  // cap allows (with --connections N, all N are opened before any is shared). Null: wait.
  H2Connection* room(std::int64_t now);
  void dispatch(H2Exchange& x, std::int64_t now);
  void fail_now(H2Exchange& x, ErrorKind error, std::int64_t now);
  void deliver();  // ended exchanges to their observers
  void after_work(std::int64_t now);
  void post_deliver();
  void tick();
  std::size_t connection_cap() const {
    if (options_.connections > 0) return options_.connections;
    const std::size_t per = connection_options_.max_streams;
    return std::max<std::size_t>(1, (sessions + per - 1) / per);
  }

  boost::asio::io_context& io_;
  Endpoint endpoint_;
  NativeClientOptions timeouts_;
  H2ClientOptions options_;
  H2ConnectionOptions connection_options_;
  std::shared_ptr<const TlsContext> tls_;
  Poller poller_;
  boost::asio::steady_timer sweep_timer_;
  DeadlineList connect_deadlines_;
  std::vector<char> read_buffer_;
  std::vector<std::unique_ptr<H2Connection>> connections_;
  WaitQueue waiting_;
  std::vector<H2Exchange*> done_;  // ended, not yet reported (null: withdrawn); one per session
  std::uint64_t refused_retries_ = 0;
  bool in_batch_ = false;
  bool delivering_ = false;
  bool deliver_posted_ = false;
  bool shut_down_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

class H2Session final : public Session {
 public:
  explicit H2Session(H2Client& client) : client_(client) {
    x_.deadline.owner = this;
    ++client_.sessions;
  }
  ~H2Session() override {
    close();
    --client_.sessions;
  }

  void start(const http::RequestView& request, ExchangeObserver& observer,
             std::int64_t now) override {
    STRAIN_ASSERT(!busy_);
    busy_ = true;
    observer_ = &observer;
    x_.request = request;
    x_.response_observer = response_observer_;
    x_.result = Exchange{};
    x_.started_ns = now;
    x_.retried = x_.refused = x_.interim = false;
    ++client_.in_flight_;
    client_.request_deadlines_.arm(x_.deadline, now);
    client_.begin(x_, now);
  }
  void set_response_observer(http::ResponseObserver* observer) override {
    response_observer_ = observer;
  }
  bool busy() const override { return busy_; }
  void abandon(std::int64_t now) override {
    if (!busy_) return;
    if (client_.withdraw(x_) != H2Client::Where::ended) {
      // Reported as abandoned, what was measured kept: done_ns = now is a lower bound.
      x_.result.error = ErrorKind::abandoned;
      x_.result.status = 0;
      x_.result.done_ns = now;
    }
    report();
  }
  void close() override {
    if (!busy_) return;
    client_.withdraw(x_);
    busy_ = false;
    --client_.in_flight_;
  }

  // The exchange ended as x_.result says: its observer hears it now.
  void report() {
    busy_ = false;
    --client_.in_flight_;
    observer_->on_exchange(x_.result);
  }

  H2Exchange x_;

 private:
  H2Client& client_;
  ExchangeObserver* observer_ = nullptr;
  http::ResponseObserver* response_observer_ = nullptr;
  bool busy_ = false;
};

std::unique_ptr<Session> H2Client::open_session() {
  return std::make_unique<H2Session>(*this);
}

void H2Client::begin(H2Exchange& x, std::int64_t now) {
  dispatch(x, now);
  // Inside a batch (or a delivery) the frames leave with everyone else's at its end; a failure
  // is reported later, never from inside start().
  if (!in_batch_ && !delivering_) {
    for (auto& c : connections_)
      if (c->wants_flush()) c->flush(now);
  }
  if (!done_.empty() && !delivering_) post_deliver();
}

H2Client::Where H2Client::withdraw(H2Exchange& x) {
  request_deadlines_.disarm(x.deadline);
  if (x.connection != nullptr) {
    x.connection->cancel(x);
    return Where::streaming;
  }
  if (waiting_.remove(x)) return Where::waiting;
  for (H2Exchange*& d : done_) {
    if (d != &x) continue;
    d = nullptr;
    return Where::ended;
  }
  return Where::nowhere;
}

void H2Client::time_out(H2Exchange& x, std::int64_t now) {
  withdraw(x);
  fail_now(x, ErrorKind::timeout, now);
}

void H2Client::fail_now(H2Exchange& x, ErrorKind error, std::int64_t now) {
  request_deadlines_.disarm(x.deadline);
  x.result.error = error;
  x.result.status = 0;
  x.result.done_ns = now;
  done_.push_back(&x);
}

H2Connection* H2Client::room(std::int64_t now) {
  H2Connection* best = nullptr;
  for (auto& c : connections_)
    if (c->can_take(now) && (best == nullptr || c->active() < best->active())) best = c.get();
  const bool spread = options_.connections > 0 && best != nullptr && best->active() > 0;
  if ((best == nullptr || spread) && connections_.size() < connection_cap()) {
    connections_.push_back(std::make_unique<H2Connection>(
        poller_, endpoint_, tls_.get(), connection_options_,
        static_cast<H2ConnectionListener&>(*this), connect_deadlines_, read_buffer_));
    best = connections_.back().get();
  }
  return best;
}

void H2Client::dispatch(H2Exchange& x, std::int64_t now) {
  // A connection going away says so once; the next one is tried (at most every connection).
  for (std::size_t tries = 0; tries <= connections_.size(); ++tries) {
    H2Connection* c = room(now);
    if (c == nullptr) {
      waiting_.push(x);
      return;
    }
    const ErrorKind e = c->submit(x, now);
    if (e == ErrorKind::none) return;
    if (e != ErrorKind::closed) return fail_now(x, e, now);
  }
  waiting_.push(x);
}

void H2Client::on_exchange_end(H2Exchange& x) {
  if (x.refused && !x.retried && !shut_down_) {
    // Never processed by the server: sent again once, on whichever connection has room.
    x.refused = false;
    x.retried = true;
    x.result = Exchange{};
    ++refused_retries_;
    waiting_.push(x);
    return;
  }
  request_deadlines_.disarm(x.deadline);
  done_.push_back(&x);
}

void H2Client::on_connection_io(H2Connection&) {
  in_batch_ = true;
}

void H2Client::on_batch_end() {
  in_batch_ = false;
  after_work(now_ns());
}

void H2Client::deliver() {
  if (delivering_) return;
  delivering_ = true;
  for (std::size_t i = 0; i < done_.size(); ++i) {
    H2Exchange* x = done_[i];
    if (x == nullptr) continue;
    done_[i] = nullptr;
    static_cast<H2Session*>(x->deadline.owner)->report();
  }
  done_.clear();
  delivering_ = false;
}

// Ended exchanges reported (their VUs start the next ones), waiting ones put on freed streams,
// and every connection's frames written: a few rounds, as each step can feed the others.
void H2Client::after_work(std::int64_t now) {
  if (shut_down_) return;
  for (int round = 0; round < 4; ++round) {
    deliver();
    while (!waiting_.empty()) {
      H2Connection* c = room(now);
      if (c == nullptr) break;
      dispatch(*waiting_.pop(), now);
    }
    for (std::size_t i = 0; i < connections_.size(); ++i)
      if (connections_[i]->wants_flush()) connections_[i]->flush(now);
    if (done_.empty()) return;
  }
  post_deliver();
}

void H2Client::post_deliver() {
  if (deliver_posted_ || shut_down_) return;
  deliver_posted_ = true;
  boost::asio::post(io_, [this, alive = std::weak_ptr<int>(alive_)] {
    if (alive.expired()) return;
    deliver_posted_ = false;
    after_work(now_ns());
  });
}

void H2Client::tick() {
  const std::int64_t now = now_ns();
  while (DeadlineNode* node = connect_deadlines_.pop_expired(now))
    static_cast<H2Connection*>(node->owner)->expire_connect(now);
  while (DeadlineNode* node = request_deadlines_.pop_expired(now))
    time_out(static_cast<H2Session*>(node->owner)->x_, now);
  after_work(now);
  if (shut_down_) return;
  sweep_timer_.expires_after(sweep_period(timeouts_));
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !shut_down_) tick();
  });
}

}  // namespace

std::unique_ptr<HttpClient> make_h2_client(boost::asio::io_context& io, const Endpoint& endpoint,
                                           const NativeClientOptions& timeouts,
                                           H2ClientOptions options,
                                           std::shared_ptr<const TlsContext> tls) {
  return std::make_unique<H2Client>(io, endpoint, timeouts, std::move(options), std::move(tls));
}

}  // namespace strain
