#include "engine/metrics/hlog_writer.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <ctime>
#include <istream>
#include <ostream>

#include "engine/core/error.hpp"
#include "engine/metrics/hdr_codec.hpp"

namespace strain {

namespace {

// "%.3f" without the C locale's say: a process that called setlocale must still write '.'.
std::string fixed3(double v) {
  if (!std::isfinite(v)) v = 0.0;
  std::array<char, 64> buf{};
  const auto res =
      std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed, 3);
  return std::string(buf.data(), res.ptr);
}

// java.util.Date.toString() in UTC ("Wed May 29 16:26:40 UTC 2024"), spelled out by hand
// because strftime's %a and %b follow the locale.
std::string java_date_utc(double epoch_s) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto t = static_cast<std::time_t>(std::floor(std::isfinite(epoch_s) ? epoch_s : 0.0));
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "unknown";
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%s %s %02d %02d:%02d:%02d UTC %d",
                kDays[static_cast<std::size_t>(tm.tm_wday)],
                kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_mday, tm.tm_hour, tm.tm_min,
                tm.tm_sec, tm.tm_year + 1900);
  return buf.data();
}

std::string header(double start_time_s) {
  std::string h = "#[Histogram log format version 1.3]\n";
  h += "#[StartTime: " + fixed3(start_time_s) + " (seconds since epoch), " +
       java_date_utc(start_time_s) + "]\n";
  h += "#[BaseTime: " + fixed3(start_time_s) + " (seconds since epoch)]\n";
  h +=
      "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";
  return h;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

[[noreturn]] void bad_line(std::size_t line_no, const std::string& why) {
  throw Error("hlog line " + std::to_string(line_no) + ": " + why);
}

std::optional<double> parse_double(std::string_view s) {
  double v = 0.0;
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc{} || res.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// The number after a "#[StartTime: " style prefix, up to the next space or ']'.
std::optional<double> header_number(std::string_view line, std::string_view prefix) {
  if (!line.starts_with(prefix)) return std::nullopt;
  line.remove_prefix(prefix.size());
  line = trim(line);
  const std::size_t end = line.find_first_of(" ]");
  return parse_double(line.substr(0, end));
}

}  // namespace

HlogWriter::HlogWriter(std::ostream& out, double start_time_s, double max_value_unit_ratio)
    : stream_(&out), max_value_unit_ratio_(max_value_unit_ratio) {
  write(header(start_time_s));
}

HlogWriter::HlogWriter(std::FILE* out, double start_time_s, double max_value_unit_ratio)
    : file_(out), max_value_unit_ratio_(max_value_unit_ratio) {
  write(header(start_time_s));
}

bool HlogWriter::write_interval(const Histogram& h, double start_s, double length_s,
                                std::string_view tag) {
  std::string line;
  const std::string clean = sanitize_tag(tag);
  if (!clean.empty()) line += "Tag=" + clean + ",";
  line += fixed3(start_s) + "," + fixed3(length_s) + "," +
          fixed3(static_cast<double>(h.max()) / max_value_unit_ratio_) + "," +
          to_base64_compressed(h) + "\n";
  return write(line);
}

bool HlogWriter::write_comment(std::string_view text) {
  std::string line = "#";
  for (const char c : text)
    line.push_back(c == '\n' || c == '\r' ? ' ' : c);
  line.push_back('\n');
  return write(line);
}

std::string HlogWriter::sanitize_tag(std::string_view tag) {
  std::string out(tag);
  for (char& c : out) {
    if (c == ',' || c == ' ' || c == '\r' || c == '\n') c = '_';
  }
  return out;
}

bool HlogWriter::write(const std::string& text) {
  bool ok = false;
  if (stream_ != nullptr) {
    stream_->write(text.data(), static_cast<std::streamsize>(text.size()));
    stream_->flush();
    ok = stream_->good();
  } else if (file_ != nullptr) {
    ok = std::fwrite(text.data(), 1, text.size(), file_) == text.size() && std::fflush(file_) == 0;
  }
  good_ = good_ && ok;
  return ok;
}

HlogLog hlog_read(std::istream& in) {
  HlogLog log;
  std::string raw;
  std::size_t line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string_view line = trim(raw);
    if (line.empty()) continue;
    if (line.front() == '#') {
      if (auto v = header_number(line, "#[StartTime:")) log.start_time_s = *v;
      if (auto v = header_number(line, "#[BaseTime:")) log.base_time_s = *v;
      continue;
    }
    if (line.starts_with("\"StartTimestamp\"")) continue;

    std::vector<std::string_view> fields;
    std::string_view rest = line;
    while (true) {
      const std::size_t comma = rest.find(',');
      fields.push_back(trim(rest.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    std::string tag;
    std::size_t first = 0;
    if (!fields.empty() && fields[0].starts_with("Tag=")) {
      tag = std::string(fields[0].substr(4));
      first = 1;
    }
    if (fields.size() - first != 4) {
      bad_line(line_no, "expected [Tag=name,]start,length,max,histogram; got " +
                            std::to_string(fields.size()) + " fields");
    }
    const auto start = parse_double(fields[first]);
    const auto length = parse_double(fields[first + 1]);
    const auto max = parse_double(fields[first + 2]);
    if (!start || !length || !max) bad_line(line_no, "start, length and max must be numbers");
    try {
      log.intervals.push_back(HlogInterval{std::move(tag), *start, *length, *max,
                                           from_base64_compressed(fields[first + 3])});
    } catch (const Error& e) {
      bad_line(line_no, e.what());
    }
  }
  if (in.bad()) throw Error("hlog: read error after line " + std::to_string(line_no));
  return log;
}

}  // namespace strain
