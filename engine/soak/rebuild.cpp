#include "engine/soak/rebuild.hpp"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/results/json_parts.hpp"
#include "engine/soak/soak_recorder.hpp"
#include "engine/soak/timeline_files.hpp"

namespace strain::soak {
using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& file, std::size_t line, const std::string& why) {
  throw Error(file + ":" + std::to_string(line) + ": " + why, ExitCode::bad_usage);
}

// One CSV record's fields (quotes as timeline_files writes them).
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

SoakOptions options_from(const json& soak, std::string& where, double& warmup_s) {
  SoakOptions o;
  o.judged = result_json::get_or<bool>(soak, "judged", where, false);
  const double every = result_json::get_or<double>(soak, "sample_every_s", where, 1.0);
  o.sample_every = std::chrono::nanoseconds(static_cast<std::int64_t>(every * 1e9));
  warmup_s = result_json::get_or<double>(soak, "warmup_s", where, 0.0);
  o.warmup = std::chrono::nanoseconds(static_cast<std::int64_t>(warmup_s * 1e9));
  for (const char* list : {"budgets", "limits"}) {
    if (auto it = soak.find(list); it != soak.end()) {
      for (const json& e : *it) {
        ResourceValue v{e.at("key").get<std::string>(), e.at("value").get<double>()};
        (std::string(list) == "budgets" ? o.budgets : o.limits).push_back(v);
      }
    }
  }
  return o;
}

// Feeds the samples file to a recorder, as the sampler did while the run lived.
struct LoggedInterval {
  double start_s = 0;
  double length_s = 0;
  std::uint64_t attempts = 0;
  std::uint64_t failed = 0;
  std::optional<double> p99_ms;  // none without responses
  bool draining = false;
};

std::optional<SoakReport> judge_samples(const std::string& path, const SoakOptions& options,
                                        double planned_s,
                                        const std::vector<LoggedInterval>& intervals) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(std::move(line));
  // First pass: who the watchers were, and what each series is.
  std::vector<WatcherInfo> watchers;
  std::map<std::string, std::size_t> index;
  std::map<std::pair<std::string, std::string>, std::pair<std::string, watch::Kind>> series;
  auto watcher = [&](const std::string& component, const std::string& source) {
    auto [it, added] = index.emplace(component, watchers.size());
    if (added) watchers.push_back(WatcherInfo{component, source});
    return it->second;
  };
  for (std::size_t n = 1; n < lines.size(); ++n) {
    const auto f = split_csv(lines[n]);
    if (f.size() >= 6 && f[0] == "#series") {
      watcher(f[1], f[5]);
      series[{f[1], f[2]}] = {f[3], f[4] == "counter" ? watch::Kind::counter : watch::Kind::gauge};
    } else if (f.size() >= 5 && !f[0].empty() && f[0][0] != '#') {
      watcher(f[1], "pid");
    }
  }
  SoakRecorder recorder(watchers, options);
  // The run's latency and error-rate drift come from the interval log, as they did live.
  for (const LoggedInterval& i : intervals)
    recorder.on_interval_figures(i.start_s, i.length_s, i.attempts, i.failed, i.p99_ms, i.draining);
  // Second pass: one round of samples per distinct time, per watcher.
  std::map<std::size_t, watch::Sample> round;
  double round_t = -1;
  auto flush = [&] {
    for (auto& [w, sample] : round)
      recorder.on_sample(round_t, w, sample);
    if (!round.empty()) recorder.on_round(0);
    round.clear();
  };
  for (std::size_t n = 1; n < lines.size(); ++n) {
    const auto f = split_csv(lines[n]);
    if (f.empty() || f[0].empty()) continue;
    if (f[0] == "#restart" && f.size() >= 4) {
      flush();
      round_t = std::stod(f[1]);
      round[watcher(f[2], "process")].restarted_pid = std::stoll(f[3]);
      continue;
    }
    if (f[0][0] == '#' || f.size() < 5) continue;
    double t = 0;
    try {
      t = std::stod(f[0]);
    } catch (const std::exception&) {
      continue;  // a row cut short by the kill
    }
    if (t != round_t) {
      flush();
      round_t = t;
    }
    watch::Sample& s = round[watcher(f[1], "pid")];
    if (f[2].empty()) {
      s.gap_reason = f[4];
      continue;
    }
    const auto it = series.find({f[1], f[2]});
    if (it == series.end()) continue;
    try {
      s.readings.push_back(
          watch::Reading{f[2], it->second.first, it->second.second, std::stod(f[3])});
    } catch (const std::exception&) {
      // a value cut short by the kill
    }
  }
  flush();
  return recorder.report(planned_s);
}

}  // namespace

RunResult rebuild_result(const std::string& out_path) {
  const SoakFiles files = sidecar_names(out_path);
  std::ifstream in(files.intervals);
  if (!in)
    throw Error("cannot read '" + files.intervals + "' (the run's interval log)",
                ExitCode::bad_usage);
  RunResult r;
  r.partial = true;
  std::size_t n = 0;
  std::string text;
  std::optional<json> soak_header;
  std::vector<LoggedInterval> logged;
  bool header = false;
  while (std::getline(in, text)) {
    ++n;
    json line = json::parse(text, nullptr, false);
    if (line.is_discarded()) {
      if (in.peek() == std::char_traits<char>::eof()) break;  // the last line, cut by the kill
      bad(files.intervals, n, "not a JSON line");
    }
    try {
      if (auto h = line.find("header"); h != line.end()) {
        header = true;
        r.schema = h->value("schema", r.schema);
        r.started_at = h->value("started_at", "");
        r.started_at_unix_ms = h->value("started_at_unix_ms", 0.0);
        r.config = result_json::config_from_json(result_json::need(*h, "config", "header."),
                                                 "header.config.");
        if (auto s = h->find("soak"); s != h->end()) soak_header = *s;
        continue;
      }
      const std::string where = "line " + std::to_string(n) + ": ";
      const IntervalPoint point = result_json::point_from_json(line, where);
      const RequestMetrics total =
          result_json::metrics_from_json(line.at("total"), where + "total.");
      r.total.add(total);
      if (soak_header) {
        // Figures only: a long run's intervals must not each keep their histograms here.
        std::optional<double> p99;
        if (total.response_time_us.total_count() > 0)
          p99 = static_cast<double>(total.response_time_us.value_at_percentile(99.0)) / 1000.0;
        logged.push_back(LoggedInterval{point.start_s, point.length_s, total.attempts(),
                                        total.failed(), p99, line.value("draining", false)});
      }
      if (line.value("draining", false)) {
        r.drain_s += point.length_s;
        r.drained_responses += total.responses;
      } else {
        r.duration_s += point.length_s;
      }
      append_point(r.timeline, point);  // bounded as the live run's is
    } catch (const json::exception& e) {
      bad(files.intervals, n, e.what());
    } catch (const Error& e) {
      bad(files.intervals, n, e.what());
    }
  }
  if (!header) bad(files.intervals, 1, "no header line: not a strain interval log");
  r.total.name = "total";
  r.generator.notes.push_back("rebuilt from " + files.intervals + " (" +
                              std::to_string(r.timeline.size()) +
                              " intervals): the run stopped before writing its result; "
                              "thresholds were not judged again");
  if (soak_header) {
    std::string where = "soak.";
    double warmup_s = 0;
    const SoakOptions options = options_from(*soak_header, where, warmup_s);
    if (auto report = judge_samples(files.samples, options, r.config.planned_duration_s, logged)) {
      report->warmup_s = warmup_s;
      report->files = files;
      r.soak = std::move(*report);
    }
  }
  return r;
}

}  // namespace strain::soak
