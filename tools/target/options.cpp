#include "tools/target/options.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <ostream>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"

namespace strain::target {
namespace {

std::uint64_t parse_count(const std::string& text, std::string_view what, std::uint64_t min,
                          std::uint64_t max) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < min || n > max) {
    throw UsageError(std::string(what) + ": '" + text + "' is not a whole number from " +
                     std::to_string(min) + " to " + std::to_string(max));
  }
  return n;
}

}  // namespace

std::optional<TargetOptions> parse_options(int argc, const char* const* argv, std::ostream& out) {
  CLI::App app{
      "strain-target: a fast, configurable HTTP/1.1 test server for strain, on loopback only.\n"
      "Per request, the query parameters delay=DURATION, size=SIZE and status=N override\n"
      "--latency, --body-size and --status. GET /__strain/stats returns the counts as JSON.\n"
      "\n"
      "A demo JSON API lives under /api/ (?delay= and --latency apply to it; ?size= and\n"
      "?status= do not). Counts appear under \"api\" in /__strain/stats.\n"
      "  POST /api/login {\"user\":U,\"pass\":\"pw-\"+U} -> {\"token\":T,\"user\":U}\n"
      "  Every other route needs \"Authorization: Bearer T\":\n"
      "  GET /api/items?page=N    POST /api/items {\"name\":S,\"price\":X}\n"
      "  GET|PUT|DELETE /api/items/{id}    GET /api/products    POST /api/cart\n"
      "  POST /api/cart/{id}/items {\"product\":P,\"qty\":Q}    POST /api/cart/{id}/checkout",
      "strain-target"};
  app.set_version_flag("--version", "strain-target 0.1.0");
  // A repeated flag takes its last value, so wrappers can append overrides to their defaults.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string threads = "1";
  std::string latency = "0";
  std::string body_size = "13";
  std::string status = "200";
  std::string idle_timeout = "60s";
  std::string max_connections = "20000";
  std::string exit_after;
  std::string exit_after_requests;
  app.add_option("--host", host, "Address to listen on: 127.0.0.1, localhost or ::1")
      ->capture_default_str();
  app.add_option("--port", port, "TCP port; 0 picks a free one (printed on start)")
      ->capture_default_str();
  app.add_option("--threads", threads, "Worker threads, each with its own event loop")
      ->capture_default_str();
  app.add_option("--latency", latency, "Delay before each response, e.g. 2ms (?delay=)")
      ->capture_default_str();
  app.add_option("--body-size", body_size, "Response body size, e.g. 1KiB (?size=)")
      ->capture_default_str();
  app.add_option("--status", status, "Response status, 200-599 (?status=)")->capture_default_str();
  app.add_option("--idle-timeout", idle_timeout, "Close connections silent for this long")
      ->capture_default_str();
  app.add_option("--max-connections", max_connections,
                 "Open connections beyond this are accepted and closed at once")
      ->capture_default_str();
  app.add_option("--exit-after", exit_after, "Stop after this long, e.g. 30s");
  app.add_option("--exit-after-requests", exit_after_requests,
                 "Stop once this many responses were served");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return std::nullopt;
  } catch (const CLI::CallForVersion&) {
    out << "strain-target 0.1.0\n";
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    throw UsageError(e.what());
  }

  TargetOptions o;
  if (host == "127.0.0.1" || host == "localhost")
    o.host = "127.0.0.1";
  else if (host == "::1" || host == "[::1]")
    o.host = "::1";
  else {
    throw UsageError("--host: '" + host +
                     "' is not allowed: strain-target listens only on loopback "
                     "(127.0.0.1, localhost or ::1)");
  }
  o.port = static_cast<std::uint16_t>(parse_count(port, "--port", 0, 65535));
  o.threads = static_cast<unsigned>(parse_count(threads, "--threads", 1, 256));
  o.defaults.delay = parse_delay(latency, "--latency");
  o.defaults.body_bytes = parse_body_size(body_size, "--body-size");
  o.defaults.status = parse_status(status, "--status");
  o.idle_timeout = parse_duration(idle_timeout, "--idle-timeout");
  if (o.idle_timeout < std::chrono::milliseconds(1)) {
    throw UsageError("--idle-timeout: '" + idle_timeout + "' is shorter than 1ms");
  }
  o.max_connections =
      static_cast<std::uint32_t>(parse_count(max_connections, "--max-connections", 1, 10'000'000));
  if (!exit_after.empty()) {
    o.exit_after = parse_duration(exit_after, "--exit-after");
    if (*o.exit_after <= std::chrono::nanoseconds(0)) {
      throw UsageError("--exit-after: '" + exit_after + "' must be longer than 0");
    }
  }
  if (!exit_after_requests.empty()) {
    o.exit_after_requests =
        parse_count(exit_after_requests, "--exit-after-requests", 1, 1'000'000'000'000);
  }
  return o;
}

}  // namespace strain::target
