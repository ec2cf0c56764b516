#include "engine/exec/arrival_vus.hpp"

#include <algorithm>

#include "engine/core/clock.hpp"
#include "engine/exec/scenario.hpp"

namespace strain {

class ArrivalVus::Vu final : public ExchangeObserver {
 public:
  explicit Vu(ArrivalVus& owner) : owner_(owner), session_(owner.client_.open_session()) {}

  // Open model: the request was due at `intended_ns`; whatever kept it from starting then (a
  // busy pool, a late timer) counts in its response time.
  void begin(std::int64_t intended_ns, std::int64_t now) {
    intended_ns_ = intended_ns;
    ++owner_.started_;
    owner_.pacer_.started(now - intended_ns);
    session_->start(owner_.request_, *this, now);
  }

  void on_exchange(const Exchange& ex) override {
    owner_.recorder_.record(ex, intended_ns_);
    owner_.on_free(*this, ex.done_ns);
  }

 private:
  ArrivalVus& owner_;
  std::unique_ptr<Session> session_;
  std::int64_t intended_ns_ = 0;
};

ArrivalVus::ArrivalVus(boost::asio::io_context& io, HttpClient& client,
                       const http::RequestTemplate& request, Recorder& recorder,
                       const ArrivalPlan& plan, std::uint32_t worker, std::uint32_t workers)
    : client_(client),
      request_(request),
      recorder_(recorder),
      max_vus_(static_cast<std::uint32_t>(
          share_of(std::max(plan.max_vus, plan.preallocated_vus), workers, worker))),
      pacer_(io, ArrivalSchedule(plan.profile, plan.process, plan.seed, worker, workers),
             std::max<std::uint64_t>(1, share_of(plan.backlog_limit, workers, worker)),
             [this](std::int64_t intended_ns) { return dispatch(intended_ns); }) {
  const auto pre = static_cast<std::uint32_t>(share_of(plan.preallocated_vus, workers, worker));
  vus_.reserve(max_vus_);
  free_.reserve(max_vus_);
  for (std::uint32_t i = 0; i < pre; ++i) {
    vus_.push_back(std::make_unique<Vu>(*this));
    free_.push_back(vus_.back().get());
  }
}

ArrivalVus::~ArrivalVus() = default;

void ArrivalVus::start(std::int64_t origin_ns) {
  pacer_.start(origin_ns);
}

void ArrivalVus::stop() {
  stopping_ = true;
  pacer_.stop();
}

bool ArrivalVus::dispatch(std::int64_t intended_ns) {
  Vu* vu = nullptr;
  if (!free_.empty()) {
    vu = free_.back();
    free_.pop_back();
  } else if (vus_.size() < max_vus_) {
    // Connections are made only when the preallocated ones are all busy.
    vus_.push_back(std::make_unique<Vu>(*this));
    vu = vus_.back().get();
  } else {
    return false;
  }
  ++busy_;
  peak_busy_ = std::max(peak_busy_, busy_);
  vu->begin(intended_ns, now_ns());
  return true;
}

void ArrivalVus::on_free(Vu& vu, std::int64_t now) {
  if (!stopping_) {
    if (auto due = pacer_.take_waiting()) return vu.begin(*due, now);
  }
  --busy_;
  free_.push_back(&vu);
}

void ArrivalVus::take_interval(ScheduleStats& out) {
  pacer_.take_interval(out);
  out.peak_vus = peak_busy_;
}

}  // namespace strain
