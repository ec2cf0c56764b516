// The arrival-rate executors for single-URL runs: one request per arrival, on a pool of VUs
// (each one keep-alive connection) that grows from preallocated_vus up to max_vus.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/exec/arrival_pacer.hpp"
#include "engine/exec/recorder.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/request_template.hpp"

namespace strain {

// An open-model load as plain data: the schedule and the VUs that serve it, all workers.
struct ArrivalPlan {
  RateProfile profile;                               // rate over time
  ArrivalProcess process = ArrivalProcess::uniform;  // spacing of arrivals
  std::uint64_t seed = 0x5eed;                       // poisson draws
  std::uint32_t preallocated_vus = 50;               // VUs (connections) made at the start
  std::uint32_t max_vus = 50;                        // the pool grows up to this when all are busy
  std::uint64_t backlog_limit = 10'000;              // arrivals that may wait for a VU
};

// One worker's share of an open-model URL run. Lives on the worker's thread.
class ArrivalVus {
 public:
  ArrivalVus(boost::asio::io_context& io, HttpClient& client, const http::RequestTemplate& request,
             Recorder& recorder, const ArrivalPlan& plan, std::uint32_t worker,
             std::uint32_t workers);
  ~ArrivalVus();
  ArrivalVus(const ArrivalVus&) = delete;
  ArrivalVus& operator=(const ArrivalVus&) = delete;

  // Arrivals are due from `origin_ns` (now_ns() clock): the run's start, not this call.
  void start(std::int64_t origin_ns);
  // No arrival starts any more; requests in flight finish as usual.
  void stop();
  std::uint64_t started() const noexcept { return started_; }
  // VUs busy with a request now.
  std::uint32_t busy() const noexcept { return busy_; }
  void take_interval(ScheduleStats& out);

 private:
  class Vu;
  bool dispatch(std::int64_t intended_ns);
  void on_free(Vu& vu, std::int64_t now_ns);

  HttpClient& client_;
  const http::RequestTemplate& request_;
  Recorder& recorder_;
  std::uint32_t max_vus_;  // this worker's share
  std::vector<std::unique_ptr<Vu>> vus_;
  std::vector<Vu*> free_;  // idle VUs, most recently used last (its connection is warm)
  ArrivalPacer pacer_;
  std::uint64_t started_ = 0;
  std::uint32_t busy_ = 0;
  std::uint32_t peak_busy_ = 0;
  bool stopping_ = false;
};

}  // namespace strain
