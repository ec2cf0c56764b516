#include "engine/exec/constant_vus.hpp"

#include "engine/core/clock.hpp"

namespace strain {

class ConstantVus::Vu final : public ExchangeObserver {
 public:
  Vu(ConstantVus& owner) : owner_(owner), session_(owner.client_.open_session()) {}

  void begin(std::int64_t now) {
    // Closed model: the iteration is due the moment the VU is ready, so the intended start
    // is now; a reconnect before sending still counts in its response time.
    intended_ns_ = now;
    ++owner_.started_;
    session_->start(owner_.request_, *this, now);
  }

  void on_exchange(const Exchange& ex) override {
    owner_.recorder_.record(ex, intended_ns_);
    if (!owner_.stopping_) begin(ex.done_ns);  // the completion time doubles as the next start
  }

 private:
  ConstantVus& owner_;
  std::unique_ptr<Session> session_;
  std::int64_t intended_ns_ = 0;
};

ConstantVus::ConstantVus(HttpClient& client, const http::RequestTemplate& request,
                         Recorder& recorder, std::uint32_t vus)
    : client_(client), request_(request), recorder_(recorder) {
  vus_.reserve(vus);
  for (std::uint32_t i = 0; i < vus; ++i)
    vus_.push_back(std::make_unique<Vu>(*this));
}

ConstantVus::~ConstantVus() = default;

void ConstantVus::start(std::int64_t) {
  const std::int64_t now = now_ns();
  for (auto& vu : vus_)
    vu->begin(now);
}

}  // namespace strain
