#include "engine/soak/soak_options.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string>

#include "engine/core/error.hpp"
#include "engine/core/units.hpp"

namespace strain::soak {
namespace {

struct KeyInfo {
  std::string_view key;
  bool bytes;  // the value is a size; else a count
};

// The keys a user may type; anything else is a typo worth stopping for, before hours of load.
constexpr std::array<KeyInfo, 11> kKeys{{{"rss", true},
                                         {"memory", true},
                                         {"memory.current", true},
                                         {"disk", true},
                                         {"disk_bytes", true},
                                         {"fds", false},
                                         {"threads", false},
                                         {"files", false},
                                         {"pids", false},
                                         {"pids.current", false},
                                         {"heap", true}}};

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return std::string(s);
}

const KeyInfo* find_key(std::string_view key) {
  for (const KeyInfo& k : kKeys)
    if (k.key == key) return &k;
  return nullptr;
}

std::string known_keys() {
  std::string out;
  for (const KeyInfo& k : kKeys)
    out += (out.empty() ? "" : ", ") + std::string(k.key);
  return out;
}

// A size ("20MiB") or a plain count ("10", "2.5"), checked against the key's unit.
double parse_amount(const KeyInfo& key, std::string_view text, std::string_view flag,
                    const std::string& entry) {
  const std::string what = std::string(flag) + " '" + entry + "'";
  if (key.bytes) return static_cast<double>(parse_size_bytes(text, what));
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(std::string(text), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !std::isfinite(v) || v < 0)
    throw UsageError(what + ": '" + std::string(text) + "' is not a count");
  return v;
}

template <class F>
std::vector<ResourceValue> parse_entries(std::string_view text, std::string_view flag, F value) {
  std::vector<ResourceValue> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string entry = trim(text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    start = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    if (entry.empty()) continue;
    const std::size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size())
      throw UsageError(std::string(flag) + " '" + entry +
                       "': expected key=value, e.g. rss=20MiB/h");
    const std::string key = trim(std::string_view(entry).substr(0, eq));
    const KeyInfo* info = find_key(key);
    if (info == nullptr)
      throw UsageError(std::string(flag) + " '" + entry + "': unknown resource '" + key +
                       "' (known: " + known_keys() + ")");
    if (std::any_of(out.begin(), out.end(), [&](const ResourceValue& r) { return r.key == key; }))
      throw UsageError(std::string(flag) + " '" + entry + "': '" + key + "' given twice");
    out.push_back(
        ResourceValue{key, value(*info, trim(std::string_view(entry).substr(eq + 1)), entry)});
  }
  if (out.empty()) throw UsageError(std::string(flag) + ": nothing given");
  return out;
}

}  // namespace

std::vector<ResourceValue> parse_budgets(std::string_view text, std::string_view flag) {
  return parse_entries(
      text, flag, [flag](const KeyInfo& key, const std::string& v, const std::string& entry) {
        const std::size_t slash = v.rfind('/');
        if (slash == std::string::npos)
          throw UsageError(std::string(flag) + " '" + entry + "': a growth needs a period, e.g. " +
                           std::string(key.key) + (key.bytes ? "=20MiB/h" : "=10/h"));
        const std::string period = v.substr(slash + 1);
        double per_hour = 0;
        if (period == "h")
          per_hour = 1;
        else if (period == "min" || period == "m")
          per_hour = 60;
        else if (period == "s")
          per_hour = 3600;
        else
          throw UsageError(std::string(flag) + " '" + entry + "': period '" + period +
                           "' is not h, min or s");
        return parse_amount(key, std::string_view(v).substr(0, slash), flag, entry) * per_hour;
      });
}

std::vector<ResourceValue> parse_limits(std::string_view text, std::string_view flag) {
  return parse_entries(
      text, flag, [flag](const KeyInfo& key, const std::string& v, const std::string& entry) {
        const double x = parse_amount(key, v, flag, entry);
        if (x <= 0)
          throw UsageError(std::string(flag) + " '" + entry + "': a limit must be above 0");
        return x;
      });
}

void parse_warmup(std::string_view text, std::string_view flag, SoakOptions& out) {
  const std::string t = trim(text);
  if (!t.empty() && t.back() == '%') {
    std::size_t used = 0;
    double pct = -1;
    try {
      pct = std::stod(t.substr(0, t.size() - 1), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used + 1 != t.size() || !(pct >= 0 && pct < 100))
      throw UsageError(std::string(flag) + " '" + t + "': a share of the run must be 0% to 99%");
    out.warmup_fraction = pct / 100.0;
    out.warmup.reset();
    return;
  }
  out.warmup = parse_duration(t, flag);
  out.warmup_fraction.reset();
}

double warmup_seconds(const SoakOptions& o, double planned_s) {
  if (o.warmup) return std::chrono::duration<double>(*o.warmup).count();
  const double fraction = o.warmup_fraction.value_or(0.10);
  const double w = fraction * std::max(0.0, planned_s);
  return o.warmup_fraction ? w : std::min(w, 600.0);
}

bool key_matches(std::string_view key, std::string_view resource) {
  if (key == resource) return true;
  if (key == "rss" || key == "memory") return resource == "rss" || resource == "memory.current";
  if (key == "disk") return resource == "disk_bytes";
  if (key == "pids") return resource == "pids.current";
  if (key == "heap") return resource.find("heap") != std::string_view::npos;
  return false;
}

}  // namespace strain::soak
