#include "tools/strain/run_flags.hpp"

#include <cstdint>
#include <cstdlib>

namespace strain {

void add_load_flags(CLI::App& cmd, RunRequest& f, OutputFlags& output, bool scriptable) {
  cmd.add_option("-u,--url", f.url, "Target URL, e.g. http://127.0.0.1:8080/");
  if (scriptable) {
    cmd.add_option("script", f.script, "Lua scenario script (instead of --url)");
    cmd.add_option("-e,--env", f.env, "KEY=VALUE for the script's env table (repeatable)");
    cmd.add_option("-i,--iterations", f.iterations,
                   "Script: run this many iterations in all (shared by the VUs)")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 50));
  }
  cmd.add_option("-c,--vus", f.vus, "Virtual users (HTTP/1.1: one keep-alive connection each)")
      ->check(CLI::Range(1u, 1'000'000u));
  cmd.add_option("-d,--duration", f.duration, "Load duration: 500ms, 30s, 2m, 1h");
  cmd.add_option("-t,--threads", f.threads, "Worker threads (default: number of cores)")
      ->check(CLI::Range(0u, 1024u));
  cmd.add_option("-m,--method", f.method, "HTTP method");
  cmd.add_option("-H,--header", f.headers, "Request header \"Name: value\" (repeatable)");
  cmd.add_option("--body", f.body, "Request body, or @file to read it from a file");
  cmd.add_option("--timeout", f.timeout,
                 "Request timeout (also the read-idle timeout); scripts: the default per request");
  cmd.add_option("--connect-timeout", f.connect_timeout, "Connect timeout");
  cmd.add_option("--threshold", f.thresholds,
                 "Pass/fail condition, e.g. \"latency{p99} < 250ms\", \"errors{rate} < 1%\" "
                 "(repeatable; any failure exits 3)");
  add_output_flags(cmd, output);
  add_transport_flags(cmd, f);
  auto* open = cmd.add_option_group("Open model (arrival rate; --url runs)");
  open->add_option("--rate", f.rate,
                   "Start requests at this rate whatever the target does, e.g. 2000/s "
                   "(constant-arrival-rate); with --stages, the starting rate (default 0)");
  open->add_option("--stages", f.stages,
                   "Ramp the rate: \"30s:100,2m:500\" = to 100/s over 30s, then to 500/s over 2m "
                   "(ramping-arrival-rate; sets the duration)");
  open->add_option("--arrival", f.arrival, "Arrival spacing: uniform (default) or poisson");
  open->add_option("--max-vus", f.max_vus,
                   "Most VUs (connections) busy at once; -c gives those made at the start")
      ->check(CLI::Range(1u, 1'000'000u));
  open->add_option("--seed", f.seed, "Seed of the poisson arrivals (same seed, same schedule)");
  open->add_option("--backlog", f.backlog,
                   "Arrivals that may wait for a free VU (default: 10 s of the peak rate)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}));
}

void add_output_flags(CLI::App& cmd, OutputFlags& output) {
  cmd.add_option("-o,--out", output.out, "Write the full result as JSON to this file");
  cmd.add_flag("-q,--quiet", output.quiet, "No live progress");
  auto* g = cmd.add_option_group("Reports (README: Reports)");
  g->add_option("--html", output.html, "Write a self-contained HTML report to this file");
  g->add_option("--junit", output.junit,
                "Write JUnit XML: a test case per threshold, SLO, soak verdict and budget");
  g->add_option("--csv", output.csv, "Write the timeline as CSV, one row per interval");
  g->add_option("--hlog", output.hlog,
                "Write response times as an HdrHistogram interval log, one per interval");
  g->add_option("--metrics-listen", output.metrics_listen,
                "Serve live metrics in the Prometheus text format on HOST:PORT (loopback by "
                "default), e.g. 127.0.0.1:9464");
  g->add_option("--metrics-hold", output.metrics_hold,
                "Keep serving --metrics-listen this long after the run, for a last scrape");
  g->add_option("--progress-every", output.progress_every,
                "Without a terminal: a progress line this often")
      ->capture_default_str();
}

void add_transport_flags(CLI::App& cmd, RunRequest& f) {
  auto* t = cmd.add_option_group("Transport (README: Protocols)");
  t->add_option("--transport", f.transport,
                "auto (default: native for HTTP/1.1 and HTTP/2, libcurl for the options only it "
                "has), native or curl");
  t->add_flag("--http2", f.http2, "HTTP/2: ALPN h2 over https://, prior knowledge over http://");
  t->add_option("--connections", f.connections,
                "HTTP/2: connections per host, shared by the VUs (default: as the streams need)")
      ->check(CLI::Range(1u, 1'000'000u));
  t->add_option("--max-streams", f.max_streams,
                "HTTP/2: most concurrent streams per connection (default 100)")
      ->check(CLI::Range(1u, 1'000'000u));
  t->add_option("--proxy", f.proxy, "Send requests through this HTTP proxy (an http:// URL)");
  t->add_option("--cacert", f.cacert, "Trust the CA certificates in this PEM file");
  t->add_option("--cert", f.cert, "Client certificate (PEM) for TLS");
  t->add_option("--key", f.key, "The client certificate's private key (PEM)");
  t->add_flag("-k,--insecure", f.insecure, "Do not verify the server's certificate or name");
  t->add_flag("--follow", f.follow, "Follow redirects (up to 10)");
  t->add_option("--resolve", f.resolve,
                "host:port:address: connect there for host:port (repeatable), as curl does");
}

void note_given_flags(const CLI::App& cmd, RunRequest& request) {
  request.vus_given = cmd.count("--vus") > 0;
  request.duration_given = cmd.count("--duration") > 0;
  request.timeout_given = cmd.count("--timeout") > 0;
  request.seed_given = cmd.count("--seed") > 0;
}

void add_segment_flags(CLI::App& cmd, RunRequest& f) {
  auto* g = cmd.add_option_group("Execution segments (README: Execution segments)");
  g->add_option("--segment", f.segment.flag,
                "Run part I of N of the test, e.g. 2/4: rates, VUs, iterations, arrivals and "
                "data rows divide exactly (also STRAIN_SEGMENT=I/N)");
  g->add_option("--segments", f.segment.segments,
                "N segments, this one JOB_COMPLETION_INDEX (0-based; a Kubernetes Indexed Job)")
      ->check(CLI::Range(1u, kMaxSegments));
  g->add_option("--start-at", f.start_at,
                "Wait, then start the load at this instant: RFC 3339 "
                "(2026-12-06T04:00:00Z) or +30s; its schedule counts from there");
}

void read_segment_env(RunRequest& request) {
  if (const char* v = std::getenv("STRAIN_SEGMENT")) request.segment.strain_env = v;
  if (const char* v = std::getenv("JOB_COMPLETION_INDEX")) request.segment.job_index_env = v;
}

}  // namespace strain
