#include "engine/watch/prometheus_text.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include "engine/core/error.hpp"

namespace strain::watch {
namespace {

bool is_name_start(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

bool is_name_char(char c, bool colon) {
  return is_name_start(c, colon) || (c >= '0' && c <= '9');
}

// One line (or selector) read left to right. Every take_* leaves pos_ at the failure, so a
// caller can name the column, and sets error_ to what it expected.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}

  std::size_t pos() const { return pos_; }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  const char* error() const { return error_; }
  std::string_view rest() const { return s_.substr(pos_); }

  bool skip_blanks() {
    const std::size_t start = pos_;
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t'))
      ++pos_;
    return pos_ > start;
  }
  bool take(char c, const char* expected) {
    if (peek() != c) return fail(expected);
    ++pos_;
    return true;
  }
  // Metric names may hold ':' (recording rules); label names may not.
  bool take_name(std::string& out, bool colon, const char* expected) {
    if (at_end() || !is_name_start(s_[pos_], colon)) return fail(expected);
    const std::size_t start = pos_;
    while (!at_end() && is_name_char(s_[pos_], colon))
      ++pos_;
    out.assign(s_.substr(start, pos_ - start));
    return true;
  }
  // A run of non-blank characters.
  std::string_view take_token() {
    const std::size_t start = pos_;
    while (!at_end() && s_[pos_] != ' ' && s_[pos_] != '\t')
      ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // `{name="value",...}` with an optional trailing comma; the '{' is already taken.
  bool take_labels(Labels& out) {
    skip_blanks();
    while (peek() != '}') {
      std::string name, value;
      if (!take_name(name, false, "a label name")) return false;
      for (const auto& [n, v] : out)
        if (n == name) return fail("each label once");
      skip_blanks();
      if (!take('=', "'='")) return false;
      skip_blanks();
      if (!take('"', "'\"' opening the label value") || !take_quoted(value)) return false;
      out.emplace_back(std::move(name), std::move(value));
      skip_blanks();
      if (peek() == ',') {
        ++pos_;
        skip_blanks();
      } else if (peek() != '}') {
        return fail("',' or '}'");
      }
    }
    ++pos_;
    return true;
  }

 private:
  bool fail(const char* expected) {
    error_ = expected;
    return false;
  }
  bool take_quoted(std::string& out) {
    while (!at_end()) {
      const char c = s_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      const char e = peek();
      if (e == '\\' || e == '"')
        out += e;
      else if (e == 'n')
        out += '\n';
      else
        return fail("an escape \\\\, \\\" or \\n");
      ++pos_;
    }
    return fail("'\"' closing the label value");
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  const char* error_ = "";
};

// Go's ParseFloat spellings as the client libraries write them: "NaN", "+Inf", "-Inf", "1e-06".
std::optional<double> parse_value(std::string_view t) {
  if (t.size() > 1 && t.front() == '+' && t[1] != '-' && t[1] != '+') t.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ptr != t.data() + t.size() || t.empty()) return std::nullopt;
  // Out of range: from_chars leaves v unset; the exposition means an overflow to ±Inf or 0.
  if (ec == std::errc::result_out_of_range) {
    const std::size_t e = t.find_first_of("eE");
    const bool negative = t.front() == '-';
    if (e != std::string_view::npos && e + 1 < t.size() && t[e + 1] == '-')
      return negative ? -0.0 : 0.0;
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  if (ec != std::errc()) return std::nullopt;
  return v;
}

bool parse_comment(Cursor& c, Exposition& out) {
  c.skip_blanks();
  const std::string_view keyword = c.take_token();
  if (keyword != "HELP" && keyword != "TYPE") return true;  // any other comment is free text
  if (!c.skip_blanks()) return false;
  std::string family;
  if (!c.take_name(family, true, "a metric name")) return false;
  if (keyword == "HELP") {
    // Docstrings may escape only backslash and newline.
    const std::string_view doc = c.rest();
    for (std::size_t i = 0; i < doc.size(); ++i) {
      if (doc[i] != '\\') continue;
      if (i + 1 >= doc.size() || (doc[i + 1] != '\\' && doc[i + 1] != 'n')) return false;
      ++i;
    }
    return true;
  }
  if (!c.skip_blanks()) return false;
  const std::string type(c.take_token());
  c.skip_blanks();
  if (!c.at_end()) return false;
  if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
      type != "untyped")
    return false;
  return out.types.emplace(family, type).second;  // a second # TYPE for a family is malformed
}

bool parse_sample(Cursor& c, Series& out) {
  if (!c.take_name(out.name, true, "a metric name")) return false;
  c.skip_blanks();
  if (c.peek() == '{') {
    c.take('{', "'{'");
    if (!c.take_labels(out.labels)) return false;
    c.skip_blanks();
  }
  const auto value = parse_value(c.take_token());
  if (!value) return false;
  out.value = *value;
  c.skip_blanks();
  if (c.at_end()) return true;
  const std::string_view ts = c.take_token();
  std::int64_t ms = 0;
  auto [ptr, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), ms);
  if (ec != std::errc() || ptr != ts.data() + ts.size()) return false;
  out.timestamp_ms = ms;
  c.skip_blanks();
  return c.at_end();
}

}  // namespace

std::string_view Exposition::type_of(std::string_view series_name) const {
  if (const auto it = types.find(std::string(series_name)); it != types.end()) return it->second;
  for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (series_name.size() <= suffix.size() ||
        series_name.substr(series_name.size() - suffix.size()) != suffix)
      continue;
    const auto it =
        types.find(std::string(series_name.substr(0, series_name.size() - suffix.size())));
    if (it != types.end() && (it->second == "histogram" || it->second == "summary"))
      return it->second;
  }
  return "untyped";
}

Exposition parse_prometheus_text(std::string_view text) {
  Exposition out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++out.lines;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Cursor c(line);
    c.skip_blanks();
    if (c.at_end()) continue;
    bool ok = true;
    if (c.peek() == '#') {
      c.take('#', "'#'");
      ok = parse_comment(c, out);
    } else {
      Series s;
      ok = parse_sample(c, s);
      if (ok) out.series.push_back(std::move(s));
    }
    if (!ok) {
      ++out.bad_lines;
      if (out.first_bad_line == 0) out.first_bad_line = out.lines;
    }
  }
  return out;
}

bool SeriesSelector::matches(const Series& series) const {
  if (series.name != name) return false;
  for (const auto& [key, want] : labels) {
    const std::string* have = nullptr;
    for (const auto& [k, v] : series.labels)
      if (k == key) have = &v;
    if (have != nullptr ? *have != want : !want.empty()) return false;
  }
  return true;
}

SeriesSelector parse_series_selector(std::string_view text) {
  std::size_t lead = 0;
  while (lead < text.size() && (text[lead] == ' ' || text[lead] == '\t'))
    ++lead;
  std::string_view body = text.substr(lead);
  while (!body.empty() && (body.back() == ' ' || body.back() == '\t'))
    body.remove_suffix(1);

  SeriesSelector sel;
  sel.text = std::string(body);
  Cursor c(body);
  bool ok = c.take_name(sel.name, true, "a metric name");
  if (ok) c.skip_blanks();
  if (ok && c.peek() == '{') {
    c.take('{', "'{'");
    ok = c.take_labels(sel.labels);
    if (ok) c.skip_blanks();
  }
  const std::string where = "series selector '" + std::string(text) + "': ";
  const std::string column = " at column " + std::to_string(lead + c.pos() + 1);
  if (!ok) throw UsageError(where + "expected " + c.error() + column);
  if (!c.at_end()) throw UsageError(where + "unexpected '" + c.peek() + "'" + column);
  return sel;
}

}  // namespace strain::watch
