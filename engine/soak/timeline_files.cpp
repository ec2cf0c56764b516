#include "engine/soak/timeline_files.hpp"

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/results/json_parts.hpp"

namespace strain::soak {
using nlohmann::json;

namespace {

// CSV fields come from component names, resource names and failure reasons: quoted when they
// hold a separator, a quote or a line break.
std::string csv(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out + "\"";
}

}  // namespace

SoakFiles sidecar_names(const std::string& out_path) {
  std::string base = out_path;
  if (base.size() > 5 && base.compare(base.size() - 5, 5, ".json") == 0)
    base.resize(base.size() - 5);
  return SoakFiles{base + ".intervals.jsonl", base + ".hlog", base + ".samples.csv"};
}

FilePtr open_for_writing(const std::string& path, const std::string& flag) {
  FilePtr f(std::fopen(path.c_str(), "w"));
  if (!f) throw UsageError(flag + ": cannot write '" + path + "'");
  return f;
}

IntervalLog::IntervalLog(FilePtr intervals, FilePtr hlog, std::string header_extra_json)
    : intervals_(std::move(intervals)),
      hlog_file_(std::move(hlog)),
      header_extra_json_(std::move(header_extra_json)) {}

void IntervalLog::append(const IntervalSnapshot& snap, const RunResult& so_far) {
  if (!header_written_) {
    header_written_ = true;
    json header{{"header",
                 {{"schema", so_far.schema},
                  {"started_at", so_far.started_at},
                  {"started_at_unix_ms", so_far.started_at_unix_ms},
                  {"config", result_json::config_json(so_far.config)}}}};
    header["header"].update(json::parse(header_extra_json_, nullptr, false), true);
    good_ = good_ && std::fprintf(intervals_.get(), "%s\n", header.dump().c_str()) > 0;
    hlog_ = std::make_unique<HlogWriter>(hlog_file_.get(), so_far.started_at_unix_ms / 1000.0);
  }
  // The interval's point at the top (start_s, length_s, responses, errors, ...) for readers
  // of the log itself; the whole totals, histograms included, for a rebuild.
  json line = result_json::point_json(snap.point);
  line["sequence"] = snap.sequence;
  line["draining"] = snap.draining;
  line["total"] = result_json::metrics_json(snap.total);
  good_ = good_ && std::fprintf(intervals_.get(), "%s\n", line.dump().c_str()) > 0;
  good_ = good_ && std::fflush(intervals_.get()) == 0;
  good_ =
      hlog_->write_interval(snap.total.response_time_us, snap.start_s, snap.length_s, "response") &&
      good_;
  good_ =
      hlog_->write_interval(snap.total.service_time_us, snap.start_s, snap.length_s, "service") &&
      good_;
}

SampleLog::SampleLog(FilePtr file) : file_(std::move(file)) {
  good_ = std::fputs("t_s,component,resource,value,reason\n", file_.get()) >= 0;
}

void SampleLog::write(double t_s, const std::string& component, const std::string& source,
                      const watch::Sample& sample) {
  std::FILE* f = file_.get();
  if (sample.restarted_pid) {
    good_ = std::fprintf(f, "#restart,%.3f,%s,%lld\n", t_s, csv(component).c_str(),
                         static_cast<long long>(*sample.restarted_pid)) > 0 &&
            good_;
  }
  if (sample.readings.empty()) {
    good_ = std::fprintf(f, "%.3f,%s,,,%s\n", t_s, csv(component).c_str(),
                         csv(sample.gap_reason).c_str()) > 0 &&
            good_;
    return;
  }
  for (const watch::Reading& r : sample.readings) {
    if (declared_.size() < 4096 && declared_.emplace(component, r.resource).second) {
      good_ =
          std::fprintf(f, "#series,%s,%s,%s,%s,%s\n", csv(component).c_str(),
                       csv(r.resource).c_str(), r.unit.c_str(),
                       r.kind == watch::Kind::gauge ? "gauge" : "counter", source.c_str()) > 0 &&
          good_;
    }
    good_ = std::fprintf(f, "%.3f,%s,%s,%.17g,\n", t_s, csv(component).c_str(),
                         csv(r.resource).c_str(), r.value) > 0 &&
            good_;
  }
}

void SampleLog::flush() {
  good_ = std::fflush(file_.get()) == 0 && good_;
}

}  // namespace strain::soak
