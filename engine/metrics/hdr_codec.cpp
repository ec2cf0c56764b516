#include "engine/metrics/hdr_codec.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>

#include "engine/core/error.hpp"

namespace strain {

namespace detail {

// Fills a freshly constructed histogram from decoded counts; nothing else writes counts_.
struct HistogramAccess {
  static std::int64_t* counts(Histogram& h) { return h.counts_.data(); }
  // Re-derives total, min and max from the counts, as Java's establishInternalTackingValues.
  static void finish(Histogram& h, std::int64_t total, std::int32_t first, std::int32_t last) {
    h.total_ = total;
    if (total != 0) {
      h.min_ = h.value_at_index(first);
      h.max_ = h.value_at_index(last);
    }
  }
};

}  // namespace detail

namespace {

constexpr std::uint32_t kCookieBaseMask = ~std::uint32_t{0xf0};
constexpr std::uint32_t kV2Base = 0x1c849303;
constexpr std::uint32_t kV2CompressedBase = 0x1c849304;
constexpr std::uint32_t kV1Base = 0x1c849301;
constexpr std::uint32_t kV1CompressedBase = 0x1c849302;
constexpr std::uint32_t kV0Base = 0x1c849308;
constexpr std::uint32_t kV0CompressedBase = 0x1c849309;
constexpr std::size_t kHeaderBytes = 40;
constexpr std::size_t kCompressedHeaderBytes = 8;
constexpr std::size_t kMaxWordBytes = 9;  // ZigZag LEB128-64b9B

[[noreturn]] void corrupt(const std::string& why) {
  throw Error("corrupt HDR histogram encoding: " + why);
}

std::string hex32(std::uint32_t v) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%08x", v);
  return buf.data();
}

void put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void put_be64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void set_be32(std::vector<std::uint8_t>& out, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) {
    out[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  }
}

std::uint32_t get_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::uint64_t get_be64(const std::uint8_t* p) {
  return (std::uint64_t{get_be32(p)} << 32) | get_be32(p + 4);
}

// Java's ZigZagEncoding.putLong: 7 bits per byte for 8 bytes, then a 9th byte with all 8 of
// the remaining bits (so a 64-bit value never needs a 10th byte).
void put_zigzag(std::vector<std::uint8_t>& out, std::int64_t value) {
  auto u = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  for (int i = 0; i < 8; ++i) {
    if (u < 0x80) {
      out.push_back(static_cast<std::uint8_t>(u));
      return;
    }
    out.push_back(static_cast<std::uint8_t>((u & 0x7f) | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(u));
}

// Returns false when the buffer ends inside a word.
bool get_zigzag(std::span<const std::uint8_t> in, std::size_t& pos, std::int64_t& value) {
  std::uint64_t u = 0;
  bool done = false;
  for (int i = 0; i < 8 && !done; ++i) {
    if (pos >= in.size()) return false;
    const std::uint8_t b = in[pos++];
    u |= std::uint64_t{b & 0x7fu} << (7 * i);
    done = (b & 0x80) == 0;
  }
  if (!done) {
    if (pos >= in.size()) return false;
    u |= std::uint64_t{in[pos++]} << 56;
  }
  value = static_cast<std::int64_t>((u >> 1) ^ (0 - (u & 1)));
  return true;
}

struct Header {
  std::uint32_t cookie = 0;
  std::int32_t payload_bytes = 0;
  std::int32_t normalizing_offset = 0;
  std::int32_t digits = 0;
  std::int64_t lowest = 0;
  std::int64_t highest = 0;
  double ratio = 0.0;
};

std::string cookie_error(std::uint32_t cookie, bool want_compressed) {
  const std::uint32_t base = cookie & kCookieBaseMask;
  if (base == kV2Base && want_compressed)
    return "an uncompressed V2 cookie where a compressed one belongs";
  if (base == kV2CompressedBase && !want_compressed)
    return "a compressed V2 cookie where an uncompressed one belongs";
  if (base == kV1Base || base == kV1CompressedBase || base == kV0Base ||
      base == kV0CompressedBase) {
    return "unsupported pre-V2 encoding (cookie " + hex32(cookie) + ")";
  }
  return "bad cookie " + hex32(cookie);
}

// Parses and validates the 40-byte V2 header; the layout it implies is bounded so that no
// allocation below depends on unchecked input.
Header parse_header(const std::uint8_t* p) {
  Header h;
  h.cookie = get_be32(p);
  if ((h.cookie & kCookieBaseMask) != kV2Base) corrupt(cookie_error(h.cookie, false));
  h.payload_bytes = static_cast<std::int32_t>(get_be32(p + 4));
  h.normalizing_offset = static_cast<std::int32_t>(get_be32(p + 8));
  h.digits = static_cast<std::int32_t>(get_be32(p + 12));
  h.lowest = static_cast<std::int64_t>(get_be64(p + 16));
  h.highest = static_cast<std::int64_t>(get_be64(p + 24));
  h.ratio = std::bit_cast<double>(get_be64(p + 32));
  if (h.payload_bytes < 0) corrupt("negative payload length " + std::to_string(h.payload_bytes));
  if (h.normalizing_offset != 0) {
    corrupt("normalizing index offset " + std::to_string(h.normalizing_offset) +
            " (shifted histograms are not supported)");
  }
  if (h.ratio != 1.0) corrupt("integer-to-double ratio is not 1.0 (a DoubleHistogram?)");
  return h;
}

HistogramLayout checked_layout(const Header& h) {
  HistogramLayout layout;
  try {
    layout = HistogramLayout::compute(h.lowest, h.highest, h.digits);
  } catch (const Error& e) {
    corrupt(std::string("bad header: ") + e.what());
  }
  if (layout.counts_len > kMaxDecodedCountsLen) {
    corrupt("header implies " + std::to_string(layout.counts_len) + " counts (lowest " +
            std::to_string(h.lowest) + ", highest " + std::to_string(h.highest) + ", " +
            std::to_string(h.digits) + " digits), more than the limit of " +
            std::to_string(kMaxDecodedCountsLen));
  }
  const auto max_payload = static_cast<std::int64_t>(kMaxWordBytes) * layout.counts_len;
  if (h.payload_bytes > max_payload) {
    corrupt("payload length " + std::to_string(h.payload_bytes) + " exceeds the " +
            std::to_string(max_payload) + " bytes its layout can need");
  }
  return layout;
}

Histogram decode_counts(const HistogramLayout& layout, std::span<const std::uint8_t> payload) {
  Histogram h(layout.lowest_discernible, layout.highest_trackable, layout.significant_digits);
  std::int64_t* counts = detail::HistogramAccess::counts(h);
  // Buckets whose lowest value is past INT64_MAX exist in the last bucket of very wide
  // layouts; no int64 value maps there, so a count there is corruption.
  const std::int32_t limit =
      std::min(layout.counts_len, h.counts_index(std::numeric_limits<std::int64_t>::max()) + 1);
  std::int64_t total = 0;
  std::int32_t index = 0;
  std::int32_t first = -1;
  std::int32_t last = -1;
  std::size_t pos = 0;
  while (pos < payload.size()) {
    std::int64_t word = 0;
    if (!get_zigzag(payload, pos, word)) corrupt("payload ends inside a count");
    if (word < 0) {
      const std::uint64_t zeros = 0 - static_cast<std::uint64_t>(word);
      if (zeros > static_cast<std::uint64_t>(limit - index)) {
        corrupt("a run of " + std::to_string(zeros) + " zero counts runs past the " +
                std::to_string(limit) + " buckets of the layout");
      }
      index += static_cast<std::int32_t>(zeros);
      continue;
    }
    if (index >= limit) {
      corrupt("more counts than the " + std::to_string(limit) + " buckets of the layout");
    }
    if (word != 0) {
      if (__builtin_add_overflow(total, word, &total)) corrupt("total count overflows int64");
      counts[index] = word;
      if (first < 0) first = index;
      last = index;
    }
    ++index;
  }
  detail::HistogramAccess::finish(h, total, first, last);
  return h;
}

class Inflater {
 public:
  explicit Inflater(std::span<const std::uint8_t> in) {
    stream_.next_in = const_cast<Bytef*>(in.data());  // zlib's API is not const-correct
    stream_.avail_in = static_cast<uInt>(in.size());
    if (inflateInit(&stream_) != Z_OK) throw Error("zlib: inflateInit failed (out of memory?)");
  }
  ~Inflater() { inflateEnd(&stream_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Inflates until `out` is full or the stream ends; returns the bytes written.
  std::size_t read(std::uint8_t* out, std::size_t n) {
    stream_.next_out = out;
    stream_.avail_out = static_cast<uInt>(n);
    while (stream_.avail_out > 0 && !ended_) {
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        ended_ = true;
      } else if (rc == Z_BUF_ERROR) {
        corrupt("zlib stream is truncated");  // no input left and no progress possible
      } else if (rc != Z_OK) {
        corrupt(std::string("zlib: ") +
                (stream_.msg != nullptr ? stream_.msg : "error " + std::to_string(rc)));
      }
    }
    return n - stream_.avail_out;
  }
  bool ended() const noexcept { return ended_; }
  std::size_t input_left() const noexcept { return stream_.avail_in; }

 private:
  z_stream stream_{};
  bool ended_ = false;
};

}  // namespace

std::vector<std::uint8_t> encode_v2(const Histogram& h) {
  std::vector<std::uint8_t> out;
  out.reserve(kHeaderBytes + 64);
  put_be32(out, kHdrV2Cookie);
  put_be32(out, 0);  // payload length, set below
  put_be32(out, 0);  // normalizing index offset
  put_be32(out, static_cast<std::uint32_t>(h.significant_digits()));
  put_be64(out, static_cast<std::uint64_t>(h.lowest_discernible()));
  put_be64(out, static_cast<std::uint64_t>(h.highest_trackable()));
  put_be64(out, std::bit_cast<std::uint64_t>(1.0));
  // Java stops at the max value's bucket (countsArrayIndex(maxValue) + 1 entries); an empty
  // histogram therefore encodes one zero count. A single zero is written as 0, not as a run.
  const std::int32_t limit = h.counts_index(h.total_count() == 0 ? 0 : h.max()) + 1;
  std::int32_t i = 0;
  while (i < limit) {
    const std::int64_t count = h.count_at_index(i++);
    std::int64_t zeros = 0;
    if (count == 0) {
      zeros = 1;
      while (i < limit && h.count_at_index(i) == 0) {
        ++zeros;
        ++i;
      }
    }
    put_zigzag(out, zeros > 1 ? -zeros : count);
  }
  set_be32(out, 4, static_cast<std::uint32_t>(out.size() - kHeaderBytes));
  return out;
}

std::vector<std::uint8_t> encode_compressed_v2(const Histogram& h) {
  const std::vector<std::uint8_t> plain = encode_v2(h);
  uLongf compressed_len = compressBound(static_cast<uLong>(plain.size()));
  std::vector<std::uint8_t> out(kCompressedHeaderBytes + compressed_len);
  const int rc = compress2(out.data() + kCompressedHeaderBytes, &compressed_len, plain.data(),
                           static_cast<uLong>(plain.size()), Z_DEFAULT_COMPRESSION);
  if (rc != Z_OK) throw Error("zlib: compress2 failed with code " + std::to_string(rc));
  out.resize(kCompressedHeaderBytes + compressed_len);
  set_be32(out, 0, kHdrV2CompressedCookie);
  set_be32(out, 4, static_cast<std::uint32_t>(compressed_len));
  return out;
}

Histogram decode_v2(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kHeaderBytes) {
    corrupt("truncated header (" + std::to_string(bytes.size()) + " of " +
            std::to_string(kHeaderBytes) + " bytes)");
  }
  const Header header = parse_header(bytes.data());
  const HistogramLayout layout = checked_layout(header);
  const std::size_t present = bytes.size() - kHeaderBytes;
  if (static_cast<std::size_t>(header.payload_bytes) != present) {
    corrupt("header says " + std::to_string(header.payload_bytes) + " payload bytes, " +
            std::to_string(present) + " present");
  }
  return decode_counts(layout, bytes.subspan(kHeaderBytes));
}

Histogram decode_compressed_v2(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kCompressedHeaderBytes) {
    corrupt("truncated (" + std::to_string(bytes.size()) + " bytes)");
  }
  const std::uint32_t cookie = get_be32(bytes.data());
  if ((cookie & kCookieBaseMask) != kV2CompressedBase) corrupt(cookie_error(cookie, true));
  const auto claimed = static_cast<std::int32_t>(get_be32(bytes.data() + 4));
  const std::size_t present = bytes.size() - kCompressedHeaderBytes;
  if (claimed < 0 || static_cast<std::size_t>(claimed) != present) {
    corrupt("header says " + std::to_string(claimed) + " compressed bytes, " +
            std::to_string(present) + " present");
  }
  // Inflate the fixed header first: the payload buffer is sized only after the layout it
  // implies has been validated, so a hostile stream cannot make us allocate without bound.
  Inflater inflater(bytes.subspan(kCompressedHeaderBytes));
  std::array<std::uint8_t, kHeaderBytes> head{};
  if (inflater.read(head.data(), head.size()) != head.size()) {
    corrupt("decompressed data ends inside the header");
  }
  const Header header = parse_header(head.data());
  const HistogramLayout layout = checked_layout(header);
  // Read up to one byte more than the header admits (to detect a longer stream), growing the
  // buffer with what actually inflates: a small hostile input claiming a large payload gets
  // a small buffer.
  const auto expected = static_cast<std::size_t>(header.payload_bytes);
  std::vector<std::uint8_t> payload;
  while (payload.size() <= expected && !inflater.ended()) {
    const std::size_t have = payload.size();
    const std::size_t chunk = std::min(expected + 1 - have, std::max<std::size_t>(have, 64 * 1024));
    payload.resize(have + chunk);
    payload.resize(have + inflater.read(payload.data() + have, chunk));
  }
  if (payload.size() != expected) {
    corrupt(payload.size() > expected
                ? "decompressed payload is longer than the header's " + std::to_string(expected) +
                      " bytes"
                : "decompressed payload has " + std::to_string(payload.size()) +
                      " of the header's " + std::to_string(expected) + " bytes");
  }
  if (inflater.input_left() != 0) corrupt("trailing bytes after the zlib stream");
  return decode_counts(layout, payload);
}

std::string to_base64_compressed(const Histogram& h) {
  return base64_encode(encode_compressed_v2(h));
}

Histogram from_base64_compressed(std::string_view text) {
  return decode_compressed_v2(base64_decode(text));
}

namespace {
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) |
                            std::uint32_t{bytes[i + 2]};
    for (int shift = 18; shift >= 0; shift -= 6)
      out.push_back(kBase64Alphabet[(v >> shift) & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{bytes[i]} << 16;
    if (rest == 2) v |= std::uint32_t{bytes[i + 1]} << 8;
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::vector<std::uint8_t> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    throw Error("bad base64: length " + std::to_string(text.size()) + " is not a multiple of 4");
  }
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=')
    padding = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last_group = i + 4 == text.size();
    std::uint32_t v = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      int d = base64_value(c);
      if (d < 0) {
        if (c == '=' && last_group && j >= 4 - padding) {
          d = 0;
        } else {
          throw Error("bad base64: unexpected character at offset " + std::to_string(i + j));
        }
      }
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    if (!last_group || padding < 2) out.push_back(static_cast<std::uint8_t>(v >> 8));
    if (!last_group || padding < 1) out.push_back(static_cast<std::uint8_t>(v));
  }
  return out;
}

}  // namespace strain
