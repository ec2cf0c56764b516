#include "engine/results/merge.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <utility>

#include "engine/core/error.hpp"
#include "engine/results/thresholds.hpp"

namespace strain {
namespace {

constexpr std::size_t kMaxSoakGaps = 1000;      // as SoakReport bounds them
constexpr std::size_t kMaxSoakRestarts = 1000;  // (same)

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// 0-based indices as the command line writes them: "1, 3".
std::string one_based(const std::vector<std::uint32_t>& indices) {
  std::string s;
  for (std::uint32_t i : indices)
    s += (s.empty() ? "" : ", ") + std::to_string(i + 1);
  return s;
}

std::string joined(const std::vector<std::string>& items, const char* sep) {
  std::string s;
  for (const std::string& item : items)
    s += (s.empty() ? "" : sep) + item;
  return s;
}

// What says which test a result is of, when no fingerprint does (files of an older strain).
std::vector<std::string> config_differences(const RunConfig& a, const RunConfig& b) {
  std::vector<std::string> d;
  const auto field = [&d](const char* name, const std::string& x, const std::string& y) {
    if (x != y) d.push_back(std::string(name) + " " + quoted(x) + " vs " + quoted(y));
  };
  field("script", a.script, b.script);
  field("URL", a.url, b.url);
  field("executor", a.executor, b.executor);
  field("method", a.method, b.method);
  if (a.scenarios != b.scenarios) d.emplace_back("scenarios differ");
  if (a.planned_duration_s != b.planned_duration_s)
    d.push_back("duration " + number(a.planned_duration_s) + "s vs " +
                number(b.planned_duration_s) + "s");
  return d;
}

// Refuses parts that are not segments of one test.
void check_one_test(const std::vector<NamedResult>& parts, std::vector<std::string>& notes) {
  for (const NamedResult& p : parts) {
    if (p.result.stress || p.result.config.command == "stress")
      throw UsageError(quoted(p.name) +
                       " is a stress result: a breaking-point search steers one process's load "
                       "step by step, and its steps cannot be merged");
    if (p.result.config.segments.empty())
      throw UsageError(quoted(p.name) + " holds no segment (config.segments is empty)");
  }
  const NamedResult& first = parts.front();
  const RunConfig& a = first.result.config;
  bool fingerprint_noted = false;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const NamedResult& p = parts[i];
    const RunConfig& b = p.result.config;
    if (a.command != b.command)
      throw UsageError(quoted(p.name) + " is a " + b.command + " result but " + quoted(first.name) +
                       " is a " + a.command + " result: merge the segments of one test");
    if (a.segment_count != b.segment_count)
      throw UsageError(quoted(p.name) + " is a segment of a test split in " +
                       std::to_string(b.segment_count) + " but " + quoted(first.name) +
                       " of one split in " + std::to_string(a.segment_count) +
                       ": merge the segments of one test");
    const std::vector<std::string> diffs = config_differences(b, a);  // this file vs the first
    if (!a.fingerprint.empty() && !b.fingerprint.empty()) {
      if (a.fingerprint != b.fingerprint)
        throw UsageError(quoted(p.name) + " is not of the same test as " + quoted(first.name) +
                         ": the script or the load options differ (" +
                         (diffs.empty() ? "fingerprint " + b.fingerprint + " vs " + a.fingerprint
                                        : joined(diffs, "; ")) +
                         ")");
      continue;
    }
    if (!diffs.empty())
      throw UsageError(quoted(p.name) + " is not of the same test as " + quoted(first.name) + ": " +
                       joined(diffs, "; "));
    if (!fingerprint_noted) {
      fingerprint_noted = true;
      notes.push_back(
          "no fingerprint in " + quoted(a.fingerprint.empty() ? first.name : p.name) +
          " (written by an older strain): taken for one test because script, URL, executor, "
          "method, scenarios and duration agree; other options were not compared");
    }
  }
}

// Refuses overlapping segments, and missing ones unless allowed. Returns every segment held.
std::vector<std::uint32_t> check_segments(const std::vector<NamedResult>& parts,
                                          const MergeOptions& options,
                                          std::vector<std::string>& notes) {
  const std::uint32_t count = parts.front().result.config.segment_count;
  std::map<std::uint32_t, const NamedResult*> holder;
  for (const NamedResult& p : parts) {
    for (std::uint32_t s : p.result.config.segments) {
      const auto [it, inserted] = holder.emplace(s, &p);
      if (inserted) continue;
      throw UsageError(
          quoted(it->second->name) + " and " + quoted(p.name) + " both hold segment " +
          std::to_string(s + 1) + "/" + std::to_string(count) +
          (count == 1 ? ": each is a whole run (not run with --segment), and whole runs do not "
                        "merge"
                      : ": each segment may be merged once"));
    }
  }
  std::vector<std::uint32_t> held;
  std::vector<std::uint32_t> missing;
  for (std::uint32_t s = 0; s < count; ++s)
    (holder.contains(s) ? held : missing).push_back(s);
  if (!missing.empty()) {
    const std::string which = std::string(missing.size() == 1 ? "segment " : "segments ") +
                              one_based(missing) + " of " + std::to_string(count);
    if (!options.allow_partial)
      throw UsageError(which + (missing.size() == 1 ? " is" : " are") +
                       " missing: merge every segment of the test, or pass --allow-partial");
    notes.push_back("partial: " + which + " missing (--allow-partial); the figures cover " +
                    "segment" + (held.size() == 1 ? " " : "s ") + one_based(held) + " only");
  }
  return held;
}

// Soak components and notes of a one-segment part say which segment they came from; a part
// that is itself a merge already says so.
std::string marked(const std::string& text, const RunConfig& config) {
  if (config.segments.size() != 1 || config.segment_count == 1) return text;
  return text + " (" + segment_label(config) + ")";
}
std::string prefixed(const std::string& text, const RunConfig& config) {
  if (config.segments.size() != 1 || config.segment_count == 1) return text;
  return segment_label(config) + ": " + text;
}

// Folds `b` into `m`, two points of the same wall-clock interval. Counts add; medians are
// response-weighted; percentiles and peaks keep the larger (a peak is never hidden by a merge).
// They come from different processes: their busy VUs add too.
void fold_point(IntervalPoint& m, const IntervalPoint& b) {
  const auto wa = static_cast<double>(m.responses);
  const auto wb = static_cast<double>(b.responses);
  const double w = wa + wb;
  m.p50_ms = w > 0 ? (m.p50_ms * wa + b.p50_ms * wb) / w : 0.0;
  m.service_p50_ms = w > 0 ? (m.service_p50_ms * wa + b.service_p50_ms * wb) / w : 0.0;
  m.length_s = std::max(m.length_s, b.length_s);
  m.responses += b.responses;
  m.errors += b.errors;
  m.started += b.started;
  m.failed_status += b.failed_status;
  for (std::size_t k = 0; k < m.errors_by_kind.size(); ++k)
    m.errors_by_kind[k] += b.errors_by_kind[k];
  m.p90_ms = std::max(m.p90_ms, b.p90_ms);
  m.p99_ms = std::max(m.p99_ms, b.p99_ms);
  m.max_ms = std::max(m.max_ms, b.max_ms);
  m.schedule_lag_p99_ms = std::max(m.schedule_lag_p99_ms, b.schedule_lag_p99_ms);
  m.service_p99_ms = std::max(m.service_p99_ms, b.service_p99_ms);
  m.active_vus += b.active_vus;
}

// Timelines by wall clock: each part's points are at start_s from its own start, moved here by
// `offsets_s` (its start − the earliest). Points of different parts less than half an interval
// apart are one interval. Grouping neighbours rather than cutting a fixed grid keeps them
// together when the interval timers drift (each tick is timed from the last one) over hours.
std::vector<IntervalPoint> merge_timelines(const std::vector<NamedResult>& parts,
                                           const std::vector<double>& offsets_s) {
  struct Entry {
    double start_s;    // on the merged clock
    std::size_t part;  // index into parts
    const IntervalPoint* point;
  };
  std::vector<Entry> all;
  std::vector<double> lengths;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    for (const IntervalPoint& q : parts[i].result.timeline) {
      all.push_back(Entry{offsets_s[i] + q.start_s, i, &q});
      lengths.push_back(q.length_s);
    }
  }
  if (all.empty()) return {};
  const auto mid = lengths.begin() + static_cast<std::ptrdiff_t>(lengths.size() / 2);
  std::nth_element(lengths.begin(), mid, lengths.end());
  const double step_s = *mid > 0 ? *mid : 1.0;
  std::stable_sort(all.begin(), all.end(),
                   [](const Entry& a, const Entry& b) { return a.start_s < b.start_s; });

  std::vector<IntervalPoint> out;
  IntervalPoint group;
  double group_first_s = 0;              // start of the group's first point: what joins it
  std::size_t anchor = 0;                // the part whose start the group shows
  std::vector<std::size_t> group_parts;  // at most one point of each part per group
  for (const Entry& e : all) {
    const bool joins =
        !group_parts.empty() && e.start_s - group_first_s < step_s / 2 &&
        std::find(group_parts.begin(), group_parts.end(), e.part) == group_parts.end();
    if (!joins) {
      if (!group_parts.empty()) append_point(out, group);
      group = *e.point;
      group.start_s = e.start_s;
      group_first_s = e.start_s;
      anchor = e.part;
      group_parts.assign(1, e.part);
      continue;
    }
    fold_point(group, *e.point);
    group_parts.push_back(e.part);
    // The earliest part's seconds are the merged clock's: the group starts at its point.
    if (offsets_s[e.part] < offsets_s[anchor]) {
      group.start_s = e.start_s;
      anchor = e.part;
    }
  }
  append_point(out, group);
  return out;
}

void merge_scenarios(std::vector<ScenarioResult>& into, const std::vector<ScenarioResult>& part,
                     double offset_s) {
  for (ScenarioResult sc : part) {
    sc.start_s += offset_s;
    auto it = std::find_if(into.begin(), into.end(),
                           [&](const ScenarioResult& mine) { return mine.name == sc.name; });
    if (it == into.end()) {
      into.push_back(std::move(sc));
      continue;
    }
    it->start_s = std::min(it->start_s, sc.start_s);
    it->active_s = std::max(it->active_s, sc.active_s);
    // Each segment offered its share of the rate: the shares add up to the whole's.
    if (sc.offered_rps) it->offered_rps = it->offered_rps.value_or(0) + *sc.offered_rps;
    it->iterations += sc.iterations;
    it->iterations_failed += sc.iterations_failed;
    it->iterations_interrupted += sc.iterations_interrupted;
    it->schedule.add(sc.schedule);
  }
}

void merge_series(std::vector<RequestMetrics>& into, const std::vector<RequestMetrics>& part) {
  for (const RequestMetrics& m : part) {
    auto it = std::find_if(into.begin(), into.end(), [&](const RequestMetrics& mine) {
      return mine.name == m.name && mine.tags == m.tags;
    });
    if (it == into.end())
      into.push_back(m);
    else
      it->add(m);
  }
}

void merge_generator(GeneratorStats& g, const GeneratorStats& part, const RunConfig& config,
                     bool first) {
  for (const std::string& n : part.notes)
    g.notes.push_back(prefixed(n, config));
  if (first) {
    g.cpu_user_s = part.cpu_user_s;
    g.cpu_system_s = part.cpu_system_s;
    g.peak_rss_bytes = part.peak_rss_bytes;
    g.connects = part.connects;
    g.stale_retries = part.stale_retries;
    g.connect_backoffs = part.connect_backoffs;
    g.started = part.started;
    g.in_flight_at_stop = part.in_flight_at_stop;
    g.generator_bound = part.generator_bound;
    g.loop_lag_us = part.loop_lag_us;
    return;
  }
  g.cpu_user_s += part.cpu_user_s;
  g.cpu_system_s += part.cpu_system_s;
  g.peak_rss_bytes = std::max(g.peak_rss_bytes, part.peak_rss_bytes);  // each its own process
  g.connects += part.connects;
  g.stale_retries += part.stale_retries;
  g.connect_backoffs += part.connect_backoffs;
  g.started += part.started;
  g.in_flight_at_stop += part.in_flight_at_stop;
  g.generator_bound = g.generator_bound || part.generator_bound;
  if (part.loop_lag_us.total_count() > 0) g.loop_lag_us.add(part.loop_lag_us);
}

// Soak verdicts stay each part's: a leak seen by any segment's watchers fails the whole.
// Times move onto the merged clock; components say which segment watched.
void merge_soak(SoakReport& s, const SoakReport& part, const RunConfig& config, double offset_s,
                bool first) {
  if (first) {
    s.sample_every_s = part.sample_every_s;
    s.warmup_s = part.warmup_s;
  }
  s.judged = s.judged || part.judged;
  s.sample_rounds += part.sample_rounds;
  s.sampler_cpu_s += part.sampler_cpu_s;
  for (SoakVerdict v : part.verdicts) {
    v.component = marked(v.component, config);
    s.verdicts.push_back(std::move(v));
  }
  s.gaps_left_out += part.gaps_left_out;
  for (SoakGap g : part.gaps) {
    if (s.gaps.size() >= kMaxSoakGaps) {
      ++s.gaps_left_out;
      continue;
    }
    g.component = marked(g.component, config);
    g.from_s += offset_s;
    g.to_s += offset_s;
    s.gaps.push_back(std::move(g));
  }
  for (SoakRestart r : part.restarts) {
    if (s.restarts.size() >= kMaxSoakRestarts) break;
    r.component = marked(r.component, config);
    r.t_s += offset_s;
    s.restarts.push_back(std::move(r));
  }
  for (SoakSeries series : part.series) {
    series.component = marked(series.component, config);
    for (double& t : series.t_s)
      t += offset_s;
    s.series.push_back(std::move(series));
  }
}

// Every threshold any part was judged on, judged again on the whole: a global p99 from the
// merged histogram, counts and rates of all segments together.
std::vector<ThresholdVerdict> judge_again(const std::vector<NamedResult>& parts,
                                          const RunResult& whole, std::vector<std::string>& notes) {
  std::vector<ThresholdVerdict> out;
  for (const NamedResult& p : parts) {
    for (const ThresholdVerdict& v : p.result.thresholds) {
      const bool seen = std::any_of(out.begin(), out.end(), [&](const ThresholdVerdict& o) {
        return o.expression == v.expression && o.condition == v.condition;
      });
      if (seen) continue;
      try {
        out.push_back(evaluate_thresholds({parse_threshold(v.expression, v.condition)}, whole)[0]);
      } catch (const UsageError& e) {
        out.push_back(ThresholdVerdict{v.expression, v.condition, std::nullopt, false,
                                       std::string("cannot be judged again: ") + e.what()});
      }
    }
  }
  // Where segments alone said otherwise, say so (one line per threshold, at most three files
  // named): that is what judging the whole is for.
  for (const ThresholdVerdict& w : out) {
    std::vector<const NamedResult*> differ;
    for (const NamedResult& p : parts) {
      for (const ThresholdVerdict& v : p.result.thresholds) {
        if (v.expression == w.expression && v.condition == w.condition && v.passed != w.passed)
          differ.push_back(&p);
      }
    }
    if (differ.empty()) continue;
    std::string where;
    if (differ.size() == 1) {
      where = quoted(differ[0]->name) + " (" + segment_label(differ[0]->result.config) + ")";
    } else {
      where = std::to_string(differ.size()) + " segments (";
      for (std::size_t k = 0; k < differ.size() && k < 3; ++k)
        where += (k == 0 ? "" : ", ") + quoted(differ[k]->name);
      where += differ.size() > 3 ? ", ...)" : ")";
    }
    notes.push_back(w.expression + " " + w.condition + ": " + (w.passed ? "failed" : "passed") +
                    " on " + where + " alone, " + (w.passed ? "passes" : "fails") +
                    " on the merged whole");
  }
  return out;
}

}  // namespace

std::string segment_label(const RunConfig& config) {
  const std::string of = std::to_string(config.segment_count);
  if (config.segments.size() == 1)
    return "segment " + std::to_string(config.segments[0] + 1) + "/" + of;
  std::string s = "segments ";
  for (std::size_t i = 0; i < config.segments.size(); ++i)
    s += (i == 0 ? "" : ",") + std::to_string(config.segments[i] + 1);
  return s + " of " + of;
}

MergeOutcome merge_results(std::vector<NamedResult> parts, const MergeOptions& options) {
  if (parts.empty()) throw UsageError("nothing to merge: name the results of every segment");
  MergeOutcome outcome;
  std::vector<std::string>& notes = outcome.notes;
  check_one_test(parts, notes);
  std::vector<std::uint32_t> held = check_segments(parts, options, notes);
  std::stable_sort(parts.begin(), parts.end(), [](const NamedResult& a, const NamedResult& b) {
    return a.result.config.segments.front() < b.result.config.segments.front();
  });

  RunResult& m = outcome.result;
  const RunResult& lead = parts.front().result;
  m.config = lead.config;
  m.config.segments = std::move(held);
  m.config.vus = 0;  // each segment's config holds its share: the shares add up
  m.config.threads = 0;
  m.partial = m.config.segments.size() < m.config.segment_count;

  // The merged clock starts with the earliest part; files without a start time (older ones)
  // keep their own origin.
  const RunResult* earliest = &lead;
  for (const NamedResult& p : parts) {
    const double t = p.result.started_at_unix_ms;
    if (t > 0 && (earliest->started_at_unix_ms <= 0 || t < earliest->started_at_unix_ms))
      earliest = &p.result;
  }
  m.started_at = earliest->started_at;
  m.started_at_unix_ms = earliest->started_at_unix_ms;
  std::vector<double> offsets_s;
  for (const NamedResult& p : parts) {
    const double t = p.result.started_at_unix_ms;
    offsets_s.push_back(t > 0 && m.started_at_unix_ms > 0 ? (t - m.started_at_unix_ms) / 1000.0
                                                          : 0.0);
  }
  const double spread_s = *std::max_element(offsets_s.begin(), offsets_s.end());
  if (spread_s > 1.0)
    notes.push_back("the segments started up to " + number(std::round(spread_s * 10) / 10) +
                    " s apart (use --start-at to start them together): rates are over the "
                    "longest segment's duration, the timeline is by wall clock");

  bool all_phases = true;
  bool any_phases = false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const RunResult& r = parts[i].result;
    const std::string& name = parts[i].name;
    const bool first = i == 0;
    m.config.vus += r.config.vus;
    m.config.threads += r.config.threads;
    if (r.partial) {
      m.partial = true;
      notes.push_back(quoted(name) + " (" + segment_label(r.config) +
                      ") is partial: its run stopped early");
    }
    m.duration_s = std::max(m.duration_s, r.duration_s);
    m.drain_s = std::max(m.drain_s, r.drain_s);
    m.drained_responses += r.drained_responses;
    if (!r.aborted_reason.empty())
      m.aborted_reason +=
          (m.aborted_reason.empty() ? "" : "; ") + prefixed(r.aborted_reason, r.config);
    if (m.threshold_abort.empty() && !r.threshold_abort.empty())
      m.threshold_abort = marked(r.threshold_abort, r.config);
    if (r.offered_rps) m.offered_rps = m.offered_rps.value_or(0) + *r.offered_rps;
    if (first) {
      m.total = r.total;
      m.schedule = r.schedule;
      m.script = r.script;
    } else {
      m.total.add(r.total);
      m.schedule.add(r.schedule);
      m.script.add(r.script);
    }
    merge_series(m.by_name, r.by_name);
    merge_scenarios(m.scenarios, r.scenarios, offsets_s[i]);
    merge_generator(m.generator, r.generator, r.config, first);
    if (r.soak) {
      const bool first_soak = !m.soak.has_value();
      if (first_soak) m.soak.emplace();
      merge_soak(*m.soak, *r.soak, r.config, offsets_s[i], first_soak);
    }
    if (r.phases) {
      if (!any_phases)
        m.phases = r.phases;
      else
        m.phases->add(*r.phases);
      any_phases = true;
    } else {
      all_phases = false;
    }
  }
  double busy = 0;
  for (const NamedResult& p : parts)
    busy += p.result.generator.busy_fraction;
  m.generator.busy_fraction = busy / static_cast<double>(parts.size());
  if (any_phases && !all_phases) {
    m.phases.reset();
    notes.emplace_back(
        "request phases left out: some results do not have them (written by an older strain)");
  }
  m.timeline = merge_timelines(parts, offsets_s);
  m.thresholds = judge_again(parts, m, notes);
  if (m.soak) {
    std::stable_sort(m.soak->gaps.begin(), m.soak->gaps.end(),
                     [](const SoakGap& a, const SoakGap& b) { return a.from_s < b.from_s; });
    std::stable_sort(m.soak->restarts.begin(), m.soak->restarts.end(),
                     [](const SoakRestart& a, const SoakRestart& b) { return a.t_s < b.t_s; });
  }
  // The result file says it too, for reports rendered from it later.
  for (const std::string& n : notes)
    if (n.starts_with("partial: ")) m.generator.notes.push_back("merge: " + n.substr(9));
  return outcome;
}

}  // namespace strain
