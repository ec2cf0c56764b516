// What a run should do, decided before any traffic: plain data from planning to the controller.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/results/thresholds.hpp"
#include "engine/schedule/scenario.hpp"
#include "engine/schedule/share.hpp"
#include "engine/script/script_plan.hpp"
#include "engine/transport/client_factory.hpp"
#include "engine/transport/native_client.hpp"
#include "engine/transport/request_template.hpp"
#include "engine/transport/transport_options.hpp"

namespace strain {

struct LoadPlan {
  std::string command = "run";        // the command that made it, for reports
  std::string url;                    // --url runs: the target as given (scripts: the script)
  std::string method = "GET";         // --url runs: HTTP method
  std::vector<http::Header> headers;  // --url runs: extra request headers, in order
  std::string body;                   // --url runs: request body bytes (may be empty)
  Scenario scenario;                  // --url runs: the one scenario (closed or open model)
  std::shared_ptr<const ScriptPlan> script;  // scripted runs: the script and its scenarios
  std::uint32_t threads = 1;                 // worker threads
  // The load phase as planned: --url runs their -d; scripts until the last scenario's end plus
  // its graceful stop (the longest a run may take to wind down).
  std::chrono::nanoseconds duration = std::chrono::seconds(10);
  std::chrono::nanoseconds drain_grace = std::chrono::seconds(5);      // wait for in-flight at stop
  std::chrono::nanoseconds report_interval = std::chrono::seconds(1);  // snapshot period
  NativeClientOptions client;                                          // timeouts
  TransportOptions transport;             // transport, HTTP version, TLS, proxy, redirects
  ClientFactory clients;                  // makes each worker's transports; tests pass a fake
  std::vector<ThresholdSpec> thresholds;  // judged at the end; abort_on_fail ones every interval
  // Execution segments (--segment I/N): the part of the test this process runs, Share{I-1, N}
  // of the whole; its workers' shares nest inside it.
  Share segment = Share::whole();
  std::string fingerprint;  // the script's text and the load-shaping options, hashed (hex)
  // --start-at: the schedule's origin, ms since 1970 (the load waits for it, then counts from
  // exactly there, so segments started on many machines keep one timeline).
  std::optional<double> start_at_unix_ms;

  // The scenarios every worker runs: the script's, or the --url run's one.
  std::span<const Scenario> scenarios() const {
    if (script) return script->scenarios;
    return std::span<const Scenario>(&scenario, 1);
  }
  // Most VUs at once, all scenarios together: of the whole test.
  std::uint64_t peak_vus() const {
    std::uint64_t n = 0;
    for (const Scenario& s : scenarios())
      n += strain::peak_vus(s);
    return n;
  }
  // The same, of this process's segment: what its workers make.
  std::uint64_t segment_vus() const {
    std::uint64_t n = 0;
    for (const Scenario& s : scenarios())
      n += segment.of(strain::peak_vus(s));
    return n;
  }
};

}  // namespace strain
