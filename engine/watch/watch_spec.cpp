#include "engine/watch/watch_spec.hpp"

#include <unistd.h>

#include <map>
#include <optional>

#include "engine/core/error.hpp"
#include "engine/core/open_sockets.hpp"
#include "engine/watch/cgroup_watcher.hpp"
#include "engine/watch/http_scraper.hpp"
#include "engine/watch/metrics_watcher.hpp"
#include "engine/watch/path_watcher.hpp"
#include "engine/watch/proc_watcher.hpp"
#include "engine/watch/process_watcher.hpp"

namespace strain::watch {
namespace {

// Linux's PID_MAX_LIMIT: no pid is larger.
constexpr std::int64_t pid_limit = 4'194'304;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

std::optional<std::int64_t> parse_pid(std::string_view v) {
  if (v.empty() || v.size() > 7) return std::nullopt;
  std::int64_t pid = 0;
  for (const char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    pid = pid * 10 + (c - '0');
  }
  if (pid <= 0 || pid > pid_limit) return std::nullopt;
  return pid;
}

// The last element of a path: "system.slice/api.service/" → "api.service".
std::string last_element(std::string path) {
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash + 1 == path.size()) return path;
  return path.substr(slash + 1);
}

// Builds the watchers of one flag, prefixing every UsageError with the flag and the text.
class Builder {
 public:
  explicit Builder(std::vector<std::unique_ptr<Watcher>>& out) : out_(out) {}

  template <typename Make>
  void each(std::string_view flag, const std::vector<std::string>& texts, Make make) {
    for (const std::string& text : texts) {
      const std::string where = std::string(flag) + " " + text;
      try {
        const NamedValue nv = parse_named_value(flag, text);
        add(where, make(nv));
      } catch (const UsageError& e) {
        const std::string m = e.what();
        if (m.rfind(where + ":", 0) == 0) throw;
        throw UsageError(where + ": " + m);
      }
    }
  }

  void add(const std::string& where, std::unique_ptr<Watcher> w) {
    const auto [it, fresh] = names_.emplace(w->component(), where);
    if (!fresh)
      throw UsageError(where + ": the component name \"" + w->component() +
                       "\" is already used by " + it->second);
    out_.push_back(std::move(w));
  }

 private:
  std::vector<std::unique_ptr<Watcher>>& out_;
  std::map<std::string, std::string> names_;  // component → the flag and text that named it
};

}  // namespace

NamedValue parse_named_value(std::string_view flag, std::string_view text) {
  NamedValue nv;
  nv.value = std::string(text);
  const std::size_t eq = text.find('=');
  if (eq != std::string_view::npos) {
    const std::string_view name = text.substr(0, eq);
    bool plain = true;
    for (const char c : name)
      plain = plain && is_name_char(c);
    if (plain) {
      nv.name = std::string(name);
      nv.value = std::string(text.substr(eq + 1));
      if (name.empty())
        throw UsageError(std::string(flag) + " " + std::string(text) + ": empty name before '='");
    }
  }
  if (nv.value.empty())
    throw UsageError(std::string(flag) + " " + std::string(text) + ": nothing to watch");
  return nv;
}

namespace {

// strain's own process, plus the connections its transports hold open ("connections"): the
// soak judges descriptors net of them (engine/soak/soak_recorder.cpp).
// Its "rss" is its private resident memory: file-backed pages (its code and libraries, paged in
// as first used) are left out. They rise for minutes before they level off, which a short soak
// judged as strain leaking (seen in CI: +17 MiB/h over a 60 s run whose live heap grew 22 KiB;
// the allocator's part of that is held down in tools/strain/main.cpp). Memory strain allocates
// and keeps still shows in full.
class SelfWatcher final : public Watcher {
 public:
  explicit SelfWatcher(const std::string& proc_root)
      : proc_(static_cast<std::int64_t>(::getpid()), "strain", "self", proc_root) {
    proc_.read_private_rss();
  }
  const std::string& component() const override { return proc_.component(); }
  const std::string& source() const override { return proc_.source(); }
  Sample sample() override {
    Sample s = proc_.sample();
    if (!s.readings.empty())
      s.readings.push_back({std::string(kConnectionsReading), "count", Kind::gauge,
                            static_cast<double>(open_sockets())});
    return s;
  }
  std::vector<Limit> limits() override { return proc_.limits(); }

 private:
  ProcWatcher proc_;
};

}  // namespace

std::unique_ptr<Watcher> make_self_watcher(const std::string& proc_root) {
  return std::make_unique<SelfWatcher>(proc_root);
}

std::vector<std::unique_ptr<Watcher>> make_watchers(const WatchSpecs& specs) {
  std::vector<SeriesSelector> series;
  for (const std::string& text : specs.series)
    try {
      series.push_back(parse_series_selector(text));
    } catch (const UsageError& e) {
      throw UsageError(std::string("--metric: ") + e.what());
    }

  std::vector<std::unique_ptr<Watcher>> out;
  Builder b(out);
  if (specs.self) b.add("strain itself", make_self_watcher(specs.proc_root));

  b.each("--watch-pid", specs.pids, [&](const NamedValue& nv) -> std::unique_ptr<Watcher> {
    const auto pid = parse_pid(nv.value);
    if (!pid) throw UsageError("not a pid");
    const std::string name = nv.name.empty() ? "pid " + nv.value : nv.name;
    return std::make_unique<ProcWatcher>(*pid, name, "pid", specs.proc_root);
  });
  b.each("--watch-process", specs.processes, [&](const NamedValue& nv) {
    auto w = std::make_unique<ProcessWatcher>(nv.value, nv.name.empty() ? nv.value : nv.name,
                                              specs.proc_root);
    // A name that matches nothing at start is far more often a typo than a target yet to start.
    if (!w->tracked()) throw UsageError("no process named " + nv.value);
    return w;
  });
  b.each("--watch-cgroup", specs.cgroups, [&](const NamedValue& nv) {
    const std::string name = nv.name.empty() ? last_element(nv.value) : nv.name;
    return std::make_unique<CgroupWatcher>(nv.value, name, specs.cgroup_root);
  });
  b.each("--watch-metrics", specs.metrics, [&](const NamedValue& nv) {
    const LoopbackUrl url = parse_loopback_url(nv.value);
    const std::string name = nv.name.empty() ? url.host + ":" + url.port : nv.name;
    auto w = std::make_unique<MetricsWatcher>(nv.value, name, series, specs.scrape_timeout);
    const Sample first = w->sample();
    if (first.readings.empty()) {
      std::string why = first.gap_reason;
      if (why == "no selected series in the scrape") {
        why += " (looked for";
        for (const std::string& s : w->selected())
          why += " " + s;
        why += ")";
      }
      throw UsageError(why);
    }
    return w;
  });
  b.each("--watch-path", specs.paths, [&](const NamedValue& nv) {
    return std::make_unique<PathWatcher>(nv.value, nv.name.empty() ? nv.value : nv.name);
  });
  return out;
}

}  // namespace strain::watch
