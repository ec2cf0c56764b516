// From a run as the user asked for it to a checked LoadPlan, before any traffic.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/runtime/execution_segment.hpp"
#include "engine/runtime/load_plan.hpp"

namespace strain {

// A run as asked for on a command line (or by any other front end): values as typed, and which
// flags were given. Plain data; make_plan checks it.
struct RunRequest {
  std::string command = "run";          // the command asking, for reports
  std::string script;                   // a Lua script's path; empty for --url runs
  std::vector<std::string> env;         // -e KEY=VALUE for the script's env table
  std::uint64_t iterations = 0;         // -i: iterations shared by the VUs (scripts)
  std::string url;                      // --url
  std::uint32_t vus = 50;               // -c: VUs (open model: those made at the start)
  std::uint32_t threads = 0;            // 0: the number of cores
  std::string duration = "10s";         // -d
  std::string method = "GET";           // -m
  std::vector<std::string> headers;     // -H "Name: value"
  std::string body;                     // --body, or @file
  std::string timeout = "10s";          // --timeout
  std::string connect_timeout = "5s";   // --connect-timeout
  std::vector<std::string> thresholds;  // --threshold "EXPR OP LIMIT"
  std::string rate;                     // --rate: open model (or the start rate with --stages)
  std::string stages;                   // --stages "30s:100,2m:500"
  std::string arrival;                  // --arrival uniform | poisson
  std::uint32_t max_vus = 0;            // --max-vus; 0: as -c
  std::uint64_t seed = 0x5eed;          // --seed
  std::uint64_t backlog = 0;            // --backlog; 0: ten seconds of the peak rate
  // How requests travel (see engine/transport/transport_options.hpp).
  std::string transport = "auto";    // --transport auto | native | curl
  bool http2 = false;                // --http2
  std::uint32_t connections = 0;     // --connections: HTTP/2 connections per origin
  std::uint32_t max_streams = 100;   // --max-streams: HTTP/2 streams per connection
  std::string proxy;                 // --proxy
  std::string cacert, cert, key;     // --cacert, --cert, --key
  bool insecure = false;             // --insecure
  bool follow = false;               // --follow
  std::vector<std::string> resolve;  // --resolve host:port:addr
  // Execution segments (README: Execution segments): --segment, --segments and the
  // environment's STRAIN_SEGMENT and JOB_COMPLETION_INDEX, as found.
  SegmentSources segment;
  std::string start_at;    // --start-at: RFC 3339 or +DURATION; "" starts at once
  bool vus_given = false;  // the flags were on the command line
  bool duration_given = false;
  bool timeout_given = false;
  bool seed_given = false;
};

// Checks everything and builds the plan: durations, rates and stages, headers and body, the
// script (loaded once: syntax, options, functions), thresholds, the target host (resolved
// once), and the descriptor and port limits (raised where allowed). Throws UsageError naming
// the flag, the file or file:line.
LoadPlan make_plan(const RunRequest& request);

// The hash in RunConfig::fingerprint: FNV-1a 64 (hex) of the script's text, the request body
// and every option that shapes the load or judges it, but not the segment, --start-at,
// --threads, output paths or the machine-local transport files. Equal for the segments of one
// test, so `strain merge` can tell them from another test's.
std::string load_fingerprint(const RunRequest& request, std::string_view script_source,
                             std::string_view body);

// "latency{p99} < 250ms" → thresholds, split at the operator. Throws UsageError.
std::vector<ThresholdSpec> parse_threshold_flags(const std::vector<std::string>& flags);

}  // namespace strain
