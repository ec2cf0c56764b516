#include "reporters/junit.hpp"

#include <fmt/format.h>

#include <iterator>
#include <string_view>
#include <vector>

#include "reporters/html/html_escape.hpp"

namespace strain {

namespace {

// Markup escaping is the HTML report's (&#39; is XML too); XML 1.0 also allows no control
// characters but tab, newline and carriage return.
std::string xml_escape(std::string_view text) {
  std::string clean(text);
  for (char& c : clean)
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') c = ' ';
  return html::escape(clean);
}

// One <testcase>: passed when `failure` is empty.
struct Case {
  std::string classname;  // the group: strain.thresholds, strain.soak, strain.stress, ...
  std::string name;
  std::string failure;  // the message shown on a failure, with the measured value
  std::string type;     // the failure's type attribute
  std::string output;   // system-out: what was measured, pass or fail
  bool error = false;   // <error> instead of <failure>: the run itself went wrong
};

std::string fmt_number(double v) {
  return fmt::format("{:.6g}", v);
}

void threshold_cases(const RunResult& r, std::vector<Case>& cases) {
  for (const ThresholdVerdict& t : r.thresholds) {
    Case c{"strain.thresholds", t.expression + " " + t.condition, {}, "threshold", {}, false};
    const std::string seen = t.observed ? "observed " + fmt_number(*t.observed) : t.note;
    c.output = seen;
    if (!t.passed) c.failure = t.expression + " " + t.condition + " failed: " + seen;
    cases.push_back(std::move(c));
  }
}

void soak_cases(const SoakReport& soak, std::vector<Case>& cases) {
  for (const SoakVerdict& v : soak.verdicts) {
    const std::string what = v.component + " " + v.resource;
    const std::string measured =
        fmt::format("{}: slope {} {}/h (95% CI {} .. {}), p {:.3g}; {}", v.verdict,
                    fmt_number(v.slope_per_hour), v.unit, fmt_number(v.ci_low),
                    fmt_number(v.ci_high), v.p_value, v.reason);
    Case verdict{"strain.soak", "no leak: " + what, {}, "leak", measured, false};
    if (v.fails_run && !v.budget_broken) verdict.failure = what + " " + measured;
    cases.push_back(std::move(verdict));
    if (v.budget_per_hour) {
      Case budget{
          "strain.soak.budget",
          fmt::format("growth of {} <= {} {}/h", what, fmt_number(*v.budget_per_hour), v.unit),
          {},
          "budget",
          measured,
          false};
      if (v.budget_broken)
        budget.failure = fmt::format("{} grew {} {}/h, over the budget of {} {}/h", what,
                                     fmt_number(v.slope_per_hour), v.unit,
                                     fmt_number(*v.budget_per_hour), v.unit);
      cases.push_back(std::move(budget));
    }
  }
}

void stress_cases(const StressReport& s, std::vector<Case>& cases) {
  std::string found;
  if (s.max_sustainable_rps)
    found += fmt::format("max sustainable {:.1f}/s", *s.max_sustainable_rps);
  if (s.first_failure) found += (found.empty() ? "" : "; ") + s.first_failure->detail;
  Case slo{"strain.stress", "SLO " + s.slo + ": breaking point found", {}, "slo", found, false};
  if (s.generator_limited())
    slo.failure = "strain could not offer the load that would decide (generator-bound): " + found;
  cases.push_back(std::move(slo));
  if (s.headroom) {
    const StressHeadroom& h = *s.headroom;
    Case peak{"strain.stress",
              h.expected_peak_vus
                  ? fmt::format("expected peak of {} VUs holds the SLO", *h.expected_peak_vus)
                  : fmt::format("expected peak of {:.1f}/s holds the SLO", h.expected_peak_rps),
              {},
              "headroom",
              fmt::format("{:.0f}% of the sustainable load", h.share_of_sustainable * 100),
              false};
    if (h.exceeds)
      peak.failure = fmt::format("the expected peak is {:.0f}% of what the target sustained; {}",
                                 h.share_of_sustainable * 100, s.verdict);
    cases.push_back(std::move(peak));
  }
}

}  // namespace

std::string render_junit(const RunResult& r) {
  std::vector<Case> cases;
  // The run itself: aborted or generator-bound runs are not the target's verdict.
  Case ran{"strain.run", "the run completed", {}, "aborted", {}, false};
  if (!r.aborted_reason.empty()) {
    ran.failure = "the run ended early: " + r.aborted_reason;
    ran.error = true;
  } else if (r.partial) {
    ran.failure = "the run was interrupted: the figures cover what ran";
    ran.error = true;
  }
  cases.push_back(std::move(ran));
  Case kept{"strain.run", "strain kept its schedule", {}, "generator_bound", {}, false};
  if (r.generator.generator_bound) {
    kept.failure = "strain, not the target, limited the run";
    for (const std::string& n : r.generator.notes)
      kept.failure += "; " + n;
  }
  cases.push_back(std::move(kept));
  threshold_cases(r, cases);
  if (r.soak) soak_cases(*r.soak, cases);
  if (r.stress) stress_cases(*r.stress, cases);

  std::size_t failures = 0;
  std::size_t errors = 0;
  for (const Case& c : cases) {
    if (c.failure.empty()) continue;
    (c.error ? errors : failures) += 1;
  }
  const std::string suite = "strain " + r.config.command + " " +
                            (r.config.script.empty() ? r.config.url : r.config.script);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  fmt::format_to(std::back_inserter(out),
                 "<testsuites name=\"strain\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
                 "time=\"{:.3f}\">\n",
                 cases.size(), failures, errors, r.duration_s + r.drain_s);
  fmt::format_to(std::back_inserter(out),
                 "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
                 "skipped=\"0\" time=\"{:.3f}\" timestamp=\"{}\">\n",
                 xml_escape(suite), cases.size(), failures, errors, r.duration_s + r.drain_s,
                 xml_escape(r.started_at.substr(0, 19)));
  fmt::format_to(std::back_inserter(out),
                 "    <properties>\n"
                 "      <property name=\"requests\" value=\"{}\"/>\n"
                 "      <property name=\"throughput_rps\" value=\"{:.3f}\"/>\n"
                 "      <property name=\"p99_ms\" value=\"{:.3f}\"/>\n"
                 "    </properties>\n",
                 r.total.responses, r.throughput_rps(), summarize_us(r.total.response_time_us).p99);
  for (const Case& c : cases) {
    fmt::format_to(std::back_inserter(out), "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
                   xml_escape(c.classname), xml_escape(c.name));
    if (c.failure.empty() && c.output.empty()) {
      out += "/>\n";
      continue;
    }
    out += ">\n";
    if (!c.failure.empty())
      fmt::format_to(std::back_inserter(out), "      <{} message=\"{}\" type=\"{}\">{}</{}>\n",
                     c.error ? "error" : "failure", xml_escape(c.failure), xml_escape(c.type),
                     xml_escape(c.failure), c.error ? "error" : "failure");
    if (!c.output.empty())
      fmt::format_to(std::back_inserter(out), "      <system-out>{}</system-out>\n",
                     xml_escape(c.output));
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace strain
