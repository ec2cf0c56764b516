#include "tools/target/stats.hpp"

namespace strain::target {
namespace {

// The API counters by name, in the order both outputs list them.
template <typename F>
void for_each_api_field(const ApiStats& api, F&& f) {
  f("requests", api.requests);
  f("logins_ok", api.logins_ok);
  f("logins_failed", api.logins_failed);
  f("unauthorized", api.unauthorized);
  f("items_created", api.items_created);
  f("items_updated", api.items_updated);
  f("items_deleted", api.items_deleted);
  f("items_read", api.items_read);
  f("carts_created", api.carts_created);
  f("cart_adds", api.cart_adds);
  f("orders", api.orders);
  f("item_count", api.item_count);
}

template <typename F>
void for_each_fault_field(const FaultStats& faults, F&& f) {
  f("hung", faults.hung);
  f("reset", faults.reset);
  f("garbage", faults.garbage);
  f("errors_injected", faults.errors_injected);
  f("trickled", faults.trickled);
}

// One phase's counts by name, in the order both outputs list them.
template <typename F>
void for_each_phase_count(const PhaseStats& p, F&& f) {
  f("offset_ms", p.offset_ms);
  f("for_ms", p.for_ms);
  f("entered", p.entered);
  f("requests", p.requests);
  f("served", p.served);
  f("errors_injected", p.errors_injected);
  f("hung", p.hung);
  f("reset", p.reset);
  f("garbage", p.garbage);
  f("trickled", p.trickled);
}

}  // namespace

void ApiStats::add(const ApiCounters& c) {
  constexpr auto relaxed = std::memory_order_relaxed;
  requests += c.requests.load(relaxed);
  logins_ok += c.logins_ok.load(relaxed);
  logins_failed += c.logins_failed.load(relaxed);
  unauthorized += c.unauthorized.load(relaxed);
  items_created += c.items_created.load(relaxed);
  items_updated += c.items_updated.load(relaxed);
  items_deleted += c.items_deleted.load(relaxed);
  items_read += c.items_read.load(relaxed);
  carts_created += c.carts_created.load(relaxed);
  cart_adds += c.cart_adds.load(relaxed);
  orders += c.orders.load(relaxed);
}

void StatsSnapshot::add(const WorkerCounters& counters) {
  served += counters.served.load(std::memory_order_relaxed);
  for (std::size_t status = 0; status < counters.by_status.size(); ++status) {
    const auto n = counters.by_status[status].load(std::memory_order_relaxed);
    if (n != 0) by_status[static_cast<int>(status)] += n;
  }
  api.add(counters.api);
  constexpr auto relaxed = std::memory_order_relaxed;
  faults.hung += counters.hung.load(relaxed);
  faults.reset += counters.reset.load(relaxed);
  faults.garbage += counters.garbage.load(relaxed);
  faults.errors_injected += counters.errors_injected.load(relaxed);
  faults.trickled += counters.trickled.load(relaxed);
  if (churn) {
    churn->blocks += counters.churn_blocks.load(relaxed);
    churn->bytes += counters.churn_bytes.load(relaxed);
  }
  if (phases) {
    for (std::size_t i = 0; i < phases->list.size() && i < counters.phases.size(); ++i) {
      const auto& c = counters.phases[i];
      auto& p = phases->list[i];
      p.requests += c.requests.load(relaxed);
      p.served += c.served.load(relaxed);
      p.errors_injected += c.errors_injected.load(relaxed);
      p.hung += c.hung.load(relaxed);
      p.reset += c.reset.load(relaxed);
      p.garbage += c.garbage.load(relaxed);
      p.trickled += c.trickled.load(relaxed);
    }
  }
  // Also without the flag: a ?cpu_work= alone should still show what it cost.
  const auto burns = counters.cpu_work_requests.load(relaxed);
  if (burns > 0 && !cpu_work) cpu_work.emplace();
  if (cpu_work) {
    cpu_work->requests += burns;
    cpu_work->cpu_ns += counters.cpu_work_ns.load(relaxed);
  }
}

std::string format_stats_line(const StatsSnapshot& stats) {
  std::string out = "strain-target served=" + std::to_string(stats.served) + " by_status=";
  bool first = true;
  for (const auto& [status, n] : stats.by_status) {
    if (!first) out += ',';
    first = false;
    out += std::to_string(status) + ':' + std::to_string(n);
  }
  out += " connections=" + std::to_string(stats.connections);
  // Appended, never interleaved: tools that parse the line without the API keep working.
  if (stats.api.requests > 0) {
    for_each_api_field(stats.api, [&out](const char* name, std::uint64_t n) {
      out += " api_";
      out += name;
      out += '=' + std::to_string(n);
    });
  }
  if (const auto& c = stats.capacity) {
    out += " in_service_max=" + std::to_string(c->in_service_max);
    out += " queued_max=" + std::to_string(c->queued_max);
    out += " queue_rejected=" + std::to_string(c->rejected);
  }
  if (const auto& l = stats.leak) {
    out += " leaked_bytes=" + std::to_string(l->leaked_bytes);
    out += " leak_limit_reached=" + std::to_string(l->limit_reached ? 1 : 0);
  }
  if (stats.faults_enabled || stats.faults.any()) {
    for_each_fault_field(stats.faults, [&out](const char* name, std::uint64_t n) {
      out += ' ';
      out += name;
      out += '=' + std::to_string(n);
    });
  }
  if (const auto& c = stats.churn) {
    out += " churn_blocks=" + std::to_string(c->blocks);
    out += " churn_bytes=" + std::to_string(c->bytes);
  }
  if (const auto& t = stats.transient) out += " transient_cycles=" + std::to_string(t->cycles);
  if (const auto& f = stats.fd_leak) {
    out += " leaked_fds=" + std::to_string(f->leaked_fds);
    out += " fd_leak_limit_reached=" + std::to_string(f->limit_reached ? 1 : 0);
  }
  if (const auto& c = stats.cpu_work) {
    out += " cpu_work_requests=" + std::to_string(c->requests);
    out += " cpu_work_ns=" + std::to_string(c->cpu_ns);
  }
  return out;
}

std::string format_stats_json(const StatsSnapshot& stats) {
  std::string out = "{\"served\":" + std::to_string(stats.served) + ",\"by_status\":{";
  bool first = true;
  for (const auto& [status, n] : stats.by_status) {
    if (!first) out += ',';
    first = false;
    out += '"' + std::to_string(status) + "\":" + std::to_string(n);
  }
  out += "},\"connections\":" + std::to_string(stats.connections);
  out += ",\"open_connections\":" + std::to_string(stats.open_connections);
  out += ",\"rejected_connections\":" + std::to_string(stats.rejected_connections);
  out += ",\"uptime_ms\":" + std::to_string(stats.uptime_ms);
  out += ",\"api\":{";
  first = true;
  for_each_api_field(stats.api, [&](const char* name, std::uint64_t n) {
    if (!first) out += ',';
    first = false;
    out += '"';
    out += name;
    out += "\":" + std::to_string(n);
  });
  out += "},\"faults\":{";
  first = true;
  for_each_fault_field(stats.faults, [&](const char* name, std::uint64_t n) {
    if (!first) out += ',';
    first = false;
    out += '"';
    out += name;
    out += "\":" + std::to_string(n);
  });
  out += '}';
  if (const auto& c = stats.capacity) {
    out += ",\"capacity\":{\"in_service_max\":" + std::to_string(c->in_service_max);
    out += ",\"queued_max\":" + std::to_string(c->queued_max);
    out += ",\"rejected\":" + std::to_string(c->rejected) + '}';
  }
  if (const auto& st = stats.stalls) {
    out += ",\"stalls\":{\"start_epoch_ms\":" + std::to_string(st->start_epoch_ms);
    out += ",\"every_ms\":" + std::to_string(st->every_ms);
    out += ",\"for_ms\":" + std::to_string(st->for_ms) + ",\"windows\":[";
    first = true;
    for (const auto& [from, to] : st->windows) {
      if (!first) out += ',';
      first = false;
      out += '[' + std::to_string(from) + ',' + std::to_string(to) + ']';
    }
    out += "]}";
  }
  if (const auto& l = stats.leak) {
    out += ",\"leak\":{\"leaked_bytes\":" + std::to_string(l->leaked_bytes);
    out += ",\"limit_reached\":";
    out += l->limit_reached ? "true}" : "false}";
  }
  if (const auto& c = stats.churn) {
    out += ",\"churn\":{\"blocks\":" + std::to_string(c->blocks);
    out += ",\"bytes\":" + std::to_string(c->bytes) + '}';
  }
  if (const auto& t = stats.transient) {
    out += ",\"transient\":{\"bytes\":" + std::to_string(t->bytes);
    out += ",\"every_ms\":" + std::to_string(t->every_ms);
    out += ",\"hold_ms\":" + std::to_string(t->hold_ms);
    out += ",\"cycles\":" + std::to_string(t->cycles);
    out += ",\"held_bytes\":" + std::to_string(t->held_bytes) + '}';
  }
  if (const auto& f = stats.fd_leak) {
    out += ",\"fd_leak\":{\"leaked_fds\":" + std::to_string(f->leaked_fds);
    out += ",\"limit\":" + std::to_string(f->limit);
    out += ",\"limit_reached\":";
    out += f->limit_reached ? "true}" : "false}";
  }
  if (const auto& c = stats.cpu_work) {
    out += ",\"cpu_work\":{\"requests\":" + std::to_string(c->requests);
    out += ",\"cpu_ns\":" + std::to_string(c->cpu_ns) + '}';
  }
  if (const auto& ph = stats.phases) {
    out += ",\"phases\":{\"start_epoch_ms\":" + std::to_string(ph->start_epoch_ms);
    out += ",\"cycle_ms\":" + std::to_string(ph->cycle_ms);
    out += ",\"current\":" + std::to_string(ph->current) + ",\"list\":[";
    first = true;
    for (const auto& p : ph->list) {
      if (!first) out += ',';
      first = false;
      // Names and queries hold no quote, backslash or control character (parse_phases).
      out += "{\"name\":\"" + p.name + "\",\"query\":\"" + p.query + '"';
      for_each_phase_count(p, [&out](const char* name, std::uint64_t n) {
        out += ",\"";
        out += name;
        out += "\":" + std::to_string(n);
      });
      out += '}';
    }
    out += "]}";
  }
  out += '}';
  return out;
}

std::string format_phase_line(const PhasesStats& phases, std::size_t index) {
  const auto& p = phases.list.at(index);
  std::string out = "strain-target phase index=" + std::to_string(index) + " name=" + p.name;
  for_each_phase_count(p, [&out](const char* name, std::uint64_t n) {
    out += ' ';
    out += name;
    out += '=' + std::to_string(n);
  });
  out += " query=" + p.query;
  return out;
}

}  // namespace strain::target
