#include "engine/soak/soak_session.hpp"

#include <nlohmann/json.hpp>
#include <utility>

#include "engine/core/clock.hpp"

namespace strain::soak {

SoakSession::SoakSession(SoakSetup setup) : setup_(std::move(setup)) {
  std::vector<std::unique_ptr<watch::Watcher>> watchers = watch::make_watchers(setup_.watch);
  std::vector<WatcherInfo> infos;
  for (const auto& w : watchers)
    infos.push_back(WatcherInfo{w->component(), w->source()});
  recorder_ = std::make_unique<SoakRecorder>(std::move(infos), setup_.options);
  if (!setup_.out_path.empty()) {
    files_ = sidecar_names(setup_.out_path);
    // What a rebuild needs to judge the samples as this run would have.
    nlohmann::json budgets = nlohmann::json::array();
    for (const ResourceValue& b : setup_.options.budgets)
      budgets.push_back({{"key", b.key}, {"value", b.value}});
    nlohmann::json limits = nlohmann::json::array();
    for (const ResourceValue& l : setup_.options.limits)
      limits.push_back({{"key", l.key}, {"value", l.value}});
    const nlohmann::json extra{
        {"soak",
         {{"judged", setup_.options.judged},
          {"sample_every_s", std::chrono::duration<double>(setup_.options.sample_every).count()},
          {"warmup_s", warmup_seconds(setup_.options, setup_.planned_s)},
          {"budgets", budgets},
          {"limits", limits}}}};
    interval_log_ =
        std::make_unique<IntervalLog>(open_for_writing(files_.intervals, "--out"),
                                      open_for_writing(files_.hlog, "--out"), extra.dump());
    sample_log_ = std::make_unique<SampleLog>(open_for_writing(files_.samples, "--out"));
  }
  sampler_ = std::make_unique<Sampler>(std::move(watchers), setup_.options.sample_every, *recorder_,
                                       sample_log_.get());
}

SoakSession::~SoakSession() {
  if (sampler_) sampler_->stop();
}

void SoakSession::on_load_start() {
  sampler_->start(now_ns());
}

void SoakSession::on_interval(const IntervalSnapshot& snap, const RunResult& so_far) {
  recorder_->on_interval(snap.start_s, snap.length_s, snap.total, snap.draining);
  if (interval_log_) interval_log_->append(snap, so_far);
  const double end_s = snap.start_s + snap.length_s;
  if (!snap.draining && end_s >= next_judged_s_) {
    so_far_ = recorder_->report(setup_.planned_s).verdicts;
    next_judged_s_ = end_s + 10;
  }
}

void SoakSession::on_result(RunResult& result) {
  sampler_->stop();
  const double planned = setup_.planned_s > 0 ? setup_.planned_s : result.config.planned_duration_s;
  SoakReport report = recorder_->report(planned);
  report.files = files_;
  if ((interval_log_ && !interval_log_->good()) || (sample_log_ && !sample_log_->good())) {
    result.generator.notes.push_back(
        "the soak's timeline files could not all be written (disk "
        "full?): a rebuild after a crash would miss intervals");
  }
  result.soak = std::move(report);
}

}  // namespace strain::soak
