#include "engine/exec/url_load.hpp"

#include <array>
#include <span>

#include "engine/core/clock.hpp"

namespace strain {
namespace {

// One VU of a --url run: one keep-alive session, one request per iteration.
class UrlBody final : public VuBody, private ExchangeObserver {
 public:
  UrlBody(std::unique_ptr<Session> session, const http::RequestTemplate& request,
          Recorder& recorder, PhaseMetrics& phases, IterationSink& sink, std::uint32_t slot,
          std::uint64_t& started)
      : session_(std::move(session)),
        request_(request),
        recorder_(recorder),
        phases_(phases),
        sink_(sink),
        slot_(slot),
        started_(started) {}

  void begin(std::int64_t intended_ns, std::int64_t now_ns) override {
    intended_ns_ = intended_ns;
    started_ns_ = now_ns;
    ++started_;
    session_->start(request_, *this, now_ns);
  }
  // The request in flight completes (and ends the iteration) as usual.
  void wind_down(std::int64_t) override {}
  void interrupt(std::int64_t now_ns) override {
    interrupting_ = true;
    session_->abandon(now_ns);  // recorded as abandoned through on_exchange
    interrupting_ = false;
  }

 private:
  void on_exchange(const Exchange& ex) override {
    recorder_.record(ex, intended_ns_);
    if (ex.error == ErrorKind::none) record_phases(phases_, phases_of(ex, started_ns_));
    // A failed request is still a completed iteration: the failure is the request's.
    if (!interrupting_) sink_.on_iteration_end(slot_, IterationEnd::completed, true, ex.done_ns);
  }

  std::unique_ptr<Session> session_;
  const http::RequestTemplate& request_;
  Recorder& recorder_;
  PhaseMetrics& phases_;
  IterationSink& sink_;
  std::uint32_t slot_;
  std::uint64_t& started_;
  std::int64_t intended_ns_ = 0;
  std::int64_t started_ns_ = 0;
  bool interrupting_ = false;
};

}  // namespace

UrlLoad::UrlLoad(boost::asio::io_context& io, const Scenario& scenario, Share share,
                 const http::RequestTemplate& request, std::unique_ptr<HttpClient> client,
                 std::function<void()> on_done)
    : request_(request),
      client_(std::move(client)),
      set_(io, std::span<const Scenario>(&scenario, 1), share,
           std::span<BodyFactory* const>(std::array<BodyFactory*, 1>{this}.data(), 1),
           std::move(on_done)) {}

UrlLoad::~UrlLoad() = default;

std::unique_ptr<VuBody> UrlLoad::make_body(std::uint32_t, std::uint32_t slot, IterationSink& sink) {
  return std::make_unique<UrlBody>(client_->open_session(), request_, recorder_, phases_, sink,
                                   slot, started_);
}

void UrlLoad::stop(std::int64_t end_ns) {
  set_.stop(end_ns, now_ns());
}

void UrlLoad::shutdown() {
  set_.shutdown();
  client_->shutdown();
}

void UrlLoad::take_interval(WorkerInterval& out, HistogramStock& stock) {
  recorder_.take_interval(out.total);  // out is fresh: no histogram is made or cleared here
  set_.take_interval(out.scenarios, stock);
  out.requests_started = started_;
  out.connects = client_->connects();
  out.stale_retries = client_->stale_retries();
  out.connect_backoffs = client_->connect_backoffs();
  out.in_flight = client_->in_flight();
  out.active_vus = set_.busy();
}

}  // namespace strain
