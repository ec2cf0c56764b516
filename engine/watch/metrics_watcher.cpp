#include "engine/watch/metrics_watcher.hpp"

#include <algorithm>

namespace strain::watch {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string unit_of(std::string_view name) {
  if (ends_with(name, "_total")) name.remove_suffix(6);
  if (ends_with(name, "_sum")) name.remove_suffix(4);  // a histogram's sum has its unit
  if (ends_with(name, "_bytes")) return "bytes";
  if (ends_with(name, "_seconds")) return "seconds";
  return "count";
}

Kind kind_of(std::string_view name, const Exposition& scrape) {
  const std::string_view type = scrape.type_of(name);
  if (type == "counter" || ends_with(name, "_total")) return Kind::counter;
  // Buckets, sums and counts of histograms and summaries only ever grow.
  if ((type == "histogram" || type == "summary") &&
      (ends_with(name, "_bucket") || ends_with(name, "_sum") || ends_with(name, "_count")))
    return Kind::counter;
  return Kind::gauge;
}

std::optional<double> sum_of(const SeriesSelector& sel, const Exposition& scrape) {
  std::optional<double> sum;
  for (const Series& s : scrape.series)
    if (sel.matches(s)) sum = sum.value_or(0.0) + s.value;
  return sum;
}

SeriesSelector by_name(const char* name) {
  SeriesSelector s;
  s.text = s.name = name;
  return s;
}

}  // namespace

MetricsWatcher::MetricsWatcher(const std::string& url, std::string component,
                               std::vector<SeriesSelector> extra, std::chrono::milliseconds timeout)
    : component_(std::move(component)), scraper_(parse_loopback_url(url).url, timeout) {
  mappings_.push_back({by_name("process_resident_memory_bytes"), "rss", "bytes", Kind::gauge});
  mappings_.push_back({by_name("process_open_fds"), "fds", "count", Kind::gauge});
  mappings_.push_back({by_name("process_cpu_seconds_total"), "cpu", "seconds", Kind::counter});
  for (SeriesSelector& sel : extra) {
    const bool seen = std::any_of(mappings_.begin(), mappings_.end(),
                                  [&](const Mapping& m) { return m.resource == sel.text; });
    if (seen) continue;
    std::string resource = sel.text;
    mappings_.push_back({std::move(sel), std::move(resource), std::nullopt, std::nullopt});
  }
}

Sample MetricsWatcher::sample() {
  Sample s;
  const ScrapeResult r = scraper_.get();
  if (!r.ok) {
    s.gap_reason = "could not scrape " + scraper_.url() + ": " + r.error;
    return s;
  }
  const Exposition scrape = parse_prometheus_text(r.body);
  if (const auto max_fds = sum_of(by_name("process_max_fds"), scrape)) max_fds_ = max_fds;
  for (const Mapping& m : mappings_) {
    const auto value = sum_of(m.selector, scrape);
    if (!value) continue;
    s.readings.push_back({m.resource, m.unit.value_or(unit_of(m.selector.name)),
                          m.kind.value_or(kind_of(m.selector.name, scrape)), *value});
  }
  if (!s.readings.empty()) return s;
  if (scrape.series.empty() && scrape.bad_lines > 0)
    s.gap_reason = "nothing parsed in the scrape (first malformed line: " +
                   std::to_string(scrape.first_bad_line) + ")";
  else
    s.gap_reason = "no selected series in the scrape";
  return s;
}

std::vector<Limit> MetricsWatcher::limits() {
  if (!max_fds_) return {};
  return {Limit{"fds", *max_fds_, "process_max_fds"}};
}

std::vector<std::string> MetricsWatcher::selected() const {
  std::vector<std::string> out;
  for (const Mapping& m : mappings_)
    out.push_back(m.selector.text);
  return out;
}

}  // namespace strain::watch
