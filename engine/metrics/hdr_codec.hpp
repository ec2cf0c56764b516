// Lossless histogram encodings compatible with HdrHistogram's V2 format (Java 2.1.x,
// HdrHistogram_c).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/metrics/histogram.hpp"

namespace strain {

// Cookies as written on the wire: the V2 bases 0x1c849303 / 0x1c849304 with the 0x10 word-size
// flag that Java and HdrHistogram_c set. Decoders compare (cookie & ~0xf0) with the base.
inline constexpr std::uint32_t kHdrV2Cookie = 0x1c849313;
inline constexpr std::uint32_t kHdrV2CompressedCookie = 0x1c849314;

// Decoders refuse headers whose layout needs more counts than this (32 MiB of int64): enough
// for 4 digits over the whole int64 range and for 5 digits up to 2^48; the default
// (1 µs .. 1 h, 3 digits) needs 23,552.
inline constexpr std::int32_t kMaxDecodedCountsLen = 1 << 22;

// V2 as Java's encodeIntoByteBuffer writes it: big-endian cookie, payload length, normalizing
// index offset (0), significant digits, lowest, highest (int64), int-to-double ratio (1.0),
// then ZigZag LEB128 counts up to the max value's bucket, runs of zeros as negative numbers.
std::vector<std::uint8_t> encode_v2(const Histogram& h);

// Compressed V2 as Java's encodeIntoCompressedByteBuffer writes it: cookie, length, then the
// zlib stream (RFC 1950, default level) of encode_v2's bytes.
std::vector<std::uint8_t> encode_compressed_v2(const Histogram& h);

// Decoders: the buffer must hold exactly one histogram. Throw strain::Error with a clear
// message on any corrupt or unsupported input (V0/V1 cookies, non-zero normalizing offset,
// non-integer histograms); memory use is bounded by kMaxDecodedCountsLen. The result's min
// and max are those of its buckets; saturated_count() is 0 (the format does not carry it).
Histogram decode_v2(std::span<const std::uint8_t> bytes);
Histogram decode_compressed_v2(std::span<const std::uint8_t> bytes);

// Base64 (RFC 4648, padded) of encode_compressed_v2: the payload of an .hlog line.
std::string to_base64_compressed(const Histogram& h);
Histogram from_base64_compressed(std::string_view text);

// RFC 4648 base64 with padding. Decoding is strict (no whitespace) and throws strain::Error.
std::string base64_encode(std::span<const std::uint8_t> bytes);
std::vector<std::uint8_t> base64_decode(std::string_view text);

}  // namespace strain
