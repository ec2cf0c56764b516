// A --url run on one worker: one scenario whose every iteration is one request, on one client.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>

#include "engine/exec/iteration.hpp"
#include "engine/exec/recorder.hpp"
#include "engine/exec/scenario_set.hpp"
#include "engine/exec/worker_load.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/request_template.hpp"

namespace strain {

// The built-in body of the one executor engine: the same runners and policies a script gets,
// with a request template instead of a Lua function. `scenario` and `request` outlive it.
class UrlLoad final : public WorkerLoad, private BodyFactory {
 public:
  UrlLoad(boost::asio::io_context& io, const Scenario& scenario, Share share,
          const http::RequestTemplate& request, std::unique_ptr<HttpClient> client,
          std::function<void()> on_done);
  ~UrlLoad() override;

  void start(std::int64_t origin_ns) override { set_.start(origin_ns); }
  void stop(std::int64_t end_ns) override;
  void abandon(std::int64_t now_ns) override { set_.abandon(now_ns); }
  void shutdown() override;
  void set_rate(std::size_t scenario, double per_s, std::int64_t at_ns) override {
    set_.set_rate(scenario, per_s, at_ns);
  }
  void set_vus(std::size_t scenario, std::uint32_t vus) override { set_.set_vus(scenario, vus); }
  bool done() const override { return set_.done(); }
  std::uint64_t in_flight() const override { return client_->in_flight(); }
  void take_interval(WorkerInterval& out, HistogramStock& stock) override;

 private:
  std::unique_ptr<VuBody> make_body(std::uint32_t vu_id, std::uint32_t slot,
                                    IterationSink& sink) override;
  Recorder& dropped() override { return recorder_; }
  const PhaseMetrics* phases() const override { return &phases_; }

  const http::RequestTemplate& request_;
  std::unique_ptr<HttpClient> client_;
  Recorder recorder_;
  PhaseMetrics phases_;
  std::uint64_t started_ = 0;  // requests started
  ScenarioSet set_;            // last: its VUs hold sessions of client_ and record in recorder_
};

}  // namespace strain
