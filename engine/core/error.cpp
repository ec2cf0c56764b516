#include "engine/core/error.hpp"

namespace strain {

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::string one_line(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '\n') {
      // A message of several lines (Lua's "module not found" lists every path it tried):
      // its lines joined, their indentation dropped.
      while (i + 1 < message.size() && (message[i + 1] == '\t' || message[i + 1] == ' '))
        ++i;
      if (i + 1 < message.size()) out += !out.empty() && out.back() == ':' ? " " : "; ";
    } else if (c == '\t') {
      out += ' ';
    } else if (c == '\r') {
      continue;
    } else {
      out += printable(std::string_view(&message[i], 1));
    }
  }
  return out;
}

Error::Error(std::string_view message, ExitCode code)
    : std::runtime_error(one_line(message)), code_(code) {}

}  // namespace strain
