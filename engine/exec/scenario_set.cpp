#include "engine/exec/scenario_set.hpp"

#include <utility>

#include "engine/core/assert.hpp"
#include "engine/core/clock.hpp"

namespace strain {
namespace {
// The scenario clock: starts, ramps and ends are checked this often. Arrivals have their own
// exact timer (ArrivalPacer); this only bounds how late a ramp step or an end is noticed.
constexpr auto kTick = std::chrono::milliseconds(20);
}  // namespace

ScenarioSet::ScenarioSet(boost::asio::io_context& io, std::span<const Scenario> scenarios,
                         Share share, std::span<BodyFactory* const> bodies,
                         std::function<void()> on_done)
    : timer_(io), on_done_(std::move(on_done)) {
  STRAIN_ASSERT(scenarios.size() == bodies.size());
  // VU ids are unique in the run: each scenario's ids follow the previous ones', and this
  // worker's share of a scenario's VUs starts where the shares before it end.
  std::uint64_t id_base = 0;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const Scenario& s = scenarios[i];
    const std::uint32_t peak = peak_vus(s);
    const auto first = static_cast<std::uint32_t>(id_base + share.offset(peak) + 1);
    runners_.push_back(std::make_unique<ScenarioRunner>(io, s, share, first, *bodies[i],
                                                        [this] { on_runner_done(); }));
    id_base += peak;
  }
}

ScenarioSet::~ScenarioSet() = default;

void ScenarioSet::start(std::int64_t origin_ns) {
  for (auto& r : runners_)
    r->start(origin_ns);
  tick();
}

void ScenarioSet::tick() {
  if (stopped_) return;
  const std::int64_t now = now_ns();
  for (auto& r : runners_)
    r->tick(now);
  if (done() || stopped_) return;
  timer_.expires_after(kTick);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

void ScenarioSet::on_runner_done() {
  if (++done_ == runners_.size()) {
    timer_.cancel();
    if (on_done_) on_done_();
  }
}

void ScenarioSet::stop(std::int64_t end_ns, std::int64_t now) {
  stopped_ = true;
  timer_.cancel();
  for (auto& r : runners_)
    r->stop(end_ns, now);
}

void ScenarioSet::abandon(std::int64_t now) {
  stopped_ = true;
  timer_.cancel();
  for (auto& r : runners_)
    r->abandon(now);
}

void ScenarioSet::shutdown() {
  stopped_ = true;
  timer_.cancel();
}

void ScenarioSet::set_rate(std::size_t scenario, double per_s, std::int64_t at_ns) {
  if (scenario < runners_.size()) runners_[scenario]->set_rate(per_s, at_ns);
}

void ScenarioSet::set_vus(std::size_t scenario, std::uint32_t vus) {
  if (scenario < runners_.size()) runners_[scenario]->set_vus(vus);
}

std::uint32_t ScenarioSet::busy() const noexcept {
  std::uint32_t n = 0;
  for (const auto& r : runners_)
    n += r->busy();
  return n;
}

void ScenarioSet::take_interval(std::vector<ScenarioInterval>& out, HistogramStock& stock) {
  out.resize(runners_.size());
  for (std::size_t i = 0; i < runners_.size(); ++i)
    runners_[i]->take_interval(out[i], stock);
}

}  // namespace strain
