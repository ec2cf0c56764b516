// --watch-metrics: a Prometheus endpoint on loopback, scraped once per sample.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "engine/watch/http_scraper.hpp"
#include "engine/watch/prometheus_text.hpp"
#include "engine/watch/watcher.hpp"

namespace strain::watch {

// Readings from the standard process metrics every client library exports:
// process_resident_memory_bytes → "rss" (bytes, gauge), process_open_fds → "fds" (count,
// gauge), process_cpu_seconds_total → "cpu" (seconds, counter); process_max_fds → a Limit on
// "fds". Each extra selector adds a reading named by its text: unit "bytes" for names ending
// _bytes, "seconds" for _seconds, else "count" (a _total or _sum suffix is looked through);
// kind counter when # TYPE says counter, the name ends _total, or it is a histogram's or
// summary's _bucket, _sum or _count; else gauge. A selector matching several series reads
// their sum. Gaps: a failed scrape, or none of the selected series in it.
class MetricsWatcher final : public Watcher {
 public:
  // Throws UsageError unless `url` is http:// to loopback. Makes no request.
  MetricsWatcher(const std::string& url, std::string component,
                 std::vector<SeriesSelector> extra = {},
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

  const std::string& component() const override { return component_; }
  const std::string& source() const override { return source_; }
  // One GET, bounded by the timeout.
  Sample sample() override;
  // process_max_fds as of the last scrape that had it (no request of its own); on the thread
  // that calls sample().
  std::vector<Limit> limits() override;

  // The names of the selected series, defaults first, for messages.
  std::vector<std::string> selected() const;

 private:
  struct Mapping {
    SeriesSelector selector;
    std::string resource;             // reading name
    std::optional<std::string> unit;  // fixed unit, or derived from the series name
    std::optional<Kind> kind;         // fixed kind, or derived from the scrape's # TYPE
  };

  std::string component_;
  std::string source_ = "metrics";
  HttpScraper scraper_;
  std::vector<Mapping> mappings_;
  std::optional<double> max_fds_;  // process_max_fds from the last scrape that had it
};

}  // namespace strain::watch
