// What a run should do, decided before any traffic: plain data from the CLI to the runtime.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/exec/arrival_vus.hpp"
#include "engine/results/thresholds.hpp"
#include "engine/script/script_plan.hpp"
#include "engine/transport/native_client.hpp"
#include "engine/transport/request_template.hpp"

namespace strain {

struct LoadPlan {
  std::string url;                    // as the user gave it, for reports
  Endpoint endpoint;                  // resolved address of the target
  std::string method = "GET";         // HTTP method
  std::vector<http::Header> headers;  // extra request headers, in order
  std::string body;                   // request body bytes (may be empty)
  std::uint32_t vus = 50;     // closed-loop virtual users (scripts: the peak, all scenarios)
  std::uint32_t threads = 1;  // worker threads
  std::chrono::nanoseconds duration = std::chrono::seconds(10);        // load phase length
  std::chrono::nanoseconds drain_grace = std::chrono::seconds(5);      // wait for in-flight at stop
  std::chrono::nanoseconds report_interval = std::chrono::seconds(1);  // snapshot period
  NativeClientOptions client;                                          // timeouts
  std::vector<ThresholdSpec> thresholds;     // judged at the end; abort_on_fail ones every interval
  std::shared_ptr<const ScriptPlan> script;  // a scripted run; url, method… unused then
  std::optional<ArrivalPlan> arrivals;       // URL runs with --rate: the open model (vus unused)
};

}  // namespace strain
