// The constant-vus executor for single-URL runs: N closed-loop VUs that repeat one request.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/exec/recorder.hpp"
#include "engine/transport/http_client.hpp"
#include "engine/transport/request_template.hpp"

namespace strain {

// One worker's share of the VUs. Lives on the worker's thread.
class ConstantVus {
 public:
  ConstantVus(HttpClient& client, const http::RequestTemplate& request, Recorder& recorder,
              std::uint32_t vus);
  ~ConstantVus();
  ConstantVus(const ConstantVus&) = delete;
  ConstantVus& operator=(const ConstantVus&) = delete;

  // Every VU starts its first iteration now (closed model: there is no schedule to follow, so
  // the run's origin is not needed).
  void start(std::int64_t origin_ns = 0);
  // No VU starts another iteration; those in flight finish (or time out) as usual.
  void stop() { stopping_ = true; }
  // Requests started and not yet finished.
  std::uint64_t in_flight() const { return client_.in_flight(); }
  // Iterations started since start().
  std::uint64_t started() const { return started_; }
  // VUs this executor runs (all of them are always busy).
  std::uint32_t size() const { return static_cast<std::uint32_t>(vus_.size()); }
  std::uint32_t busy() const { return size(); }
  // The closed model keeps no schedule: nothing to report.
  void take_interval(ScheduleStats&) {}

 private:
  class Vu;
  HttpClient& client_;
  const http::RequestTemplate& request_;
  Recorder& recorder_;
  std::vector<std::unique_ptr<Vu>> vus_;
  std::uint64_t started_ = 0;
  bool stopping_ = false;
};

}  // namespace strain
