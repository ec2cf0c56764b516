// The load flags shared by every command that runs a load (run, demo; later soak, stress).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "engine/runtime/planning.hpp"

namespace strain {

// What every load command prints and writes besides the run itself.
struct OutputFlags {
  std::string out;             // --out: the full result as JSON
  bool quiet = false;          // --quiet: no live progress
  std::string html;            // --html: the self-contained HTML report
  std::string junit;           // --junit: JUnit XML, a test case per threshold, SLO and verdict
  std::string csv;             // --csv: the timeline, one row per interval
  std::string hlog;            // --hlog: HdrHistogram interval log of response times
  std::string metrics_listen;  // --metrics-listen: serve Prometheus text on host:port
  std::string metrics_hold;    // --metrics-hold: keep serving this long after the run
  std::string progress_every = "10s";  // --progress-every: a plain line this often (no terminal)
};

// -o, -q and the report flags (--html, --junit, --csv, --hlog, --metrics-listen, ...).
void add_output_flags(CLI::App& cmd, OutputFlags& output);

// Declares the load flags on `cmd`, writing into `request` and `output`. `scriptable`: the
// command takes a Lua script too (positional) with -e and -i.
void add_load_flags(CLI::App& cmd, RunRequest& request, OutputFlags& output, bool scriptable);
// After parsing: records which flags were given (a default and a given value mean different
// things to a script's options).
// --transport, --http2, TLS, proxy, redirect and --resolve flags into `request`.
void add_transport_flags(CLI::App& cmd, RunRequest& request);

void note_given_flags(const CLI::App& cmd, RunRequest& request);

// --segment, --segments and --start-at (README: Execution segments), for the commands whose
// load may be cut into segments (run, soak).
void add_segment_flags(CLI::App& cmd, RunRequest& request);
// After parsing: STRAIN_SEGMENT and JOB_COMPLETION_INDEX from the environment, when set.
void read_segment_env(RunRequest& request);

}  // namespace strain
