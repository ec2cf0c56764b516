#include "engine/stress/resource_tap.hpp"

#include <algorithm>

namespace strain::stress {

namespace {

// More watchers than this are refused by the command line long before; a bad index is dropped.
constexpr std::size_t kMaxWatchers = 256;

const watch::Reading* find_reading(const ComponentReadings& c, const std::string& resource) {
  for (const watch::Reading& r : c.readings)
    if (r.resource == resource) return &r;
  return nullptr;
}

const watch::Limit* find_limit(const ComponentReadings& c, const std::string& resource) {
  for (const watch::Limit& l : c.limits)
    if (l.resource == resource) return &l;
  return nullptr;
}

}  // namespace

void ResourceTap::on_sample(double t_s, std::size_t watcher, const watch::Watcher& w,
                            const watch::Sample& sample, const std::vector<watch::Limit>* limits) {
  if (watcher >= kMaxWatchers) return;
  std::lock_guard lock(mutex_);
  if (latest_.size() <= watcher) latest_.resize(watcher + 1);
  ComponentReadings& c = latest_[watcher];
  c.component = w.component();
  c.source = w.source();
  c.t_s = t_s;
  c.readings = sample.readings;
  if (limits != nullptr) c.limits = *limits;
  apply_known(c);
}

void ResourceTap::apply_known(ComponentReadings& c) const {
  if (known_.empty() || !matches_) return;
  for (const watch::Reading& r : c.readings) {
    for (const KnownLimit& k : known_) {
      if (!matches_(k.key, r.resource)) continue;
      // One limit per resource (bounded by the readings): the user's replaces the system's.
      auto it = std::find_if(c.limits.begin(), c.limits.end(),
                             [&](const watch::Limit& l) { return l.resource == r.resource; });
      if (it == c.limits.end())
        it = c.limits.insert(c.limits.end(), watch::Limit{r.resource, 0, {}});
      it->value = k.value;
      it->source = "--limit";
      break;
    }
  }
}

std::vector<ComponentReadings> ResourceTap::snapshot() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

std::vector<StressResource> step_resources(const std::vector<ComponentReadings>& from,
                                           const std::vector<ComponentReadings>& to) {
  std::vector<StressResource> out;
  for (std::size_t i = 0; i < to.size(); ++i) {
    const ComponentReadings& b = to[i];
    if (b.t_s < 0 || b.readings.empty()) continue;
    const ComponentReadings* a = i < from.size() ? &from[i] : nullptr;
    const double dt = a != nullptr && a->t_s >= 0 ? b.t_s - a->t_s : 0;
    for (const watch::Reading& r : b.readings) {
      StressResource s;
      s.component = b.component;
      s.resource = r.resource;
      s.read_at_s = b.t_s;
      if (r.kind == watch::Kind::counter) {
        const watch::Reading* before = a != nullptr ? find_reading(*a, r.resource) : nullptr;
        // A restart resets a counter: no rate across it.
        if (before == nullptr || dt <= 0 || r.value < before->value) continue;
        s.value = (r.value - before->value) / dt;
        s.unit = r.resource == "cpu" ? "cores" : r.unit + "/s";
      } else {
        s.value = r.value;
        s.unit = r.unit;
      }
      if (const watch::Limit* l = find_limit(b, r.resource); l != nullptr && l->value > 0) {
        s.limit = l->value;
        s.limit_source = l->source;
        s.utilisation = s.value / l->value;
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace strain::stress
