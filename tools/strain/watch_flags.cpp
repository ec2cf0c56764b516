#include "tools/strain/watch_flags.hpp"

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"

namespace strain {

void add_watch_flags(CLI::App& cmd, WatchFlags& f) {
  auto* g = cmd.add_option_group("Watch the target (soak)");
  g->add_option("--watch-pid", f.watch.pids,
                "[NAME=]PID: RSS, fds, threads, CPU and IO of a process (repeatable)");
  g->add_option("--watch-process", f.watch.processes,
                "[NAME=]NAME: the same for a process by name, found again after a restart");
  g->add_option("--watch-cgroup", f.watch.cgroups,
                "[NAME=]PATH: a cgroup v2 (memory.current, pids.current, cpu.stat, io.stat)");
  g->add_option("--watch-metrics", f.watch.metrics,
                "[NAME=]URL: a Prometheus endpoint on loopback (process_* series, --metric)");
  g->add_option("--metric", f.watch.series,
                "A Prometheus series to read from every --watch-metrics, e.g. "
                "'jvm_memory_used_bytes{area=\"heap\"}' (repeatable)");
  g->add_option("--watch-path", f.watch.paths,
                "[NAME=]DIR: bytes and files under a directory (data growth)");
  g->add_option("--sample-every", f.sample_every, "Sampling period of the watchers (default 1s)");
  g->add_option("--warmup", f.warmup,
                "Left out of the trend fits: a duration or a share of the run (default 10%, at "
                "most 10m)");
  g->add_option("--max-growth", f.max_growth,
                "Budgets, e.g. rss=20MiB/h,fds=10/h,disk=1GiB/h (a broken one exits 3)");
  g->add_option("--limit", f.limit,
                "Known limits to project to, e.g. rss=2GiB,fds=1024 (besides memory.max and "
                "the fd limit, read from the system)");
}

namespace {

// One setting: the flag's value when given, else the script's options.soak field, with the
// name a message should give.
struct Setting {
  std::string text;
  std::string name;
};

Setting pick(const std::string& flag_value, const char* flag, const std::string* script_value,
             const LoadPlan& plan, const char* field) {
  if (!flag_value.empty() || script_value == nullptr || script_value->empty())
    return {flag_value, flag};
  return {*script_value, plan.script->path + ": options.soak." + field};
}

const ScriptSoak* script_soak(const LoadPlan& plan) {
  return plan.script ? &plan.script->soak : nullptr;
}

}  // namespace

bool watching(const WatchFlags& f, const LoadPlan& plan) {
  const auto& w = f.watch;
  const ScriptSoak* s = script_soak(plan);
  return !w.pids.empty() || !w.processes.empty() || !w.cgroups.empty() || !w.metrics.empty() ||
         !w.paths.empty() || !f.max_growth.empty() || (s != nullptr && !s->max_growth.empty());
}

std::unique_ptr<soak::SoakSession> make_soak_session(const WatchFlags& f, bool judged,
                                                     const OutputFlags& output,
                                                     const LoadPlan& plan) {
  soak::SoakSetup setup;
  setup.watch = f.watch;
  const ScriptSoak* s = script_soak(plan);
  const Setting every =
      pick(f.sample_every, "--sample-every", s ? &s->sample_every : nullptr, plan, "sample_every");
  if (!every.text.empty()) {
    setup.options.sample_every = parse_duration(every.text, every.name);
    if (setup.options.sample_every < std::chrono::milliseconds(10) ||
        setup.options.sample_every > std::chrono::hours(1)) {
      throw UsageError(every.name + " '" + every.text + "': must be between 10ms and 1h");
    }
  }
  const Setting warmup = pick(f.warmup, "--warmup", s ? &s->warmup : nullptr, plan, "warmup");
  if (!warmup.text.empty()) soak::parse_warmup(warmup.text, warmup.name, setup.options);
  const Setting budgets =
      pick(f.max_growth, "--max-growth", s ? &s->max_growth : nullptr, plan, "max_growth");
  if (!budgets.text.empty())
    setup.options.budgets = soak::parse_budgets(budgets.text, budgets.name);
  setup.options.judged = judged || !setup.options.budgets.empty();
  const Setting limits = pick(f.limit, "--limit", s ? &s->limit : nullptr, plan, "limit");
  if (!limits.text.empty()) setup.options.limits = soak::parse_limits(limits.text, limits.name);
  setup.planned_s = std::chrono::duration<double>(plan.duration).count();
  if (setup.options.warmup &&
      std::chrono::duration<double>(*setup.options.warmup).count() >= setup.planned_s) {
    throw UsageError(warmup.name + " '" + warmup.text + "': as long as the run itself (" +
                     format_duration(plan.duration) + "), nothing would be judged");
  }
  setup.out_path = output.out;
  return std::make_unique<soak::SoakSession>(std::move(setup));
}

}  // namespace strain
