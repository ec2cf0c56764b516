#include "engine/metrics/hdr_codec.hpp"

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "tests/metrics/samples.hpp"

using namespace strain;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes from_hex(std::string_view hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Bytes as_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

// An independent writer of the V2 layout, for hand-made (and hand-broken) encodings.
struct V2 {
  std::uint32_t cookie = 0x1c849313;
  std::optional<std::int32_t> payload_len;  // unset: the real payload length
  std::int32_t offset = 0;
  std::int32_t digits = 3;
  std::int64_t lowest = 1;
  std::int64_t highest = 3'600'000'000;
  double ratio = 1.0;
  Bytes payload;

  Bytes bytes() const {
    Bytes out;
    auto be = [&](std::uint64_t v, int n) {
      for (int i = n - 1; i >= 0; --i)
        out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    };
    std::uint64_t ratio_bits = 0;
    std::memcpy(&ratio_bits, &ratio, sizeof ratio_bits);
    be(cookie, 4);
    be(static_cast<std::uint32_t>(payload_len.value_or(static_cast<std::int32_t>(payload.size()))),
       4);
    be(static_cast<std::uint32_t>(offset), 4);
    be(static_cast<std::uint32_t>(digits), 4);
    be(static_cast<std::uint64_t>(lowest), 8);
    be(static_cast<std::uint64_t>(highest), 8);
    be(ratio_bits, 8);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
  }
};

// ZigZag + LEB128 as the format defines it (here for values needing at most 8 bytes).
void put_word(Bytes& out, std::int64_t v) {
  auto u = static_cast<std::uint64_t>((v << 1) ^ (v >> 63));
  while (u >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(u | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(u));
}

Bytes zlib(const Bytes& plain) {
  uLongf len = compressBound(static_cast<uLong>(plain.size()));
  Bytes out(len);
  REQUIRE(compress2(out.data(), &len, plain.data(), static_cast<uLong>(plain.size()), 6) == Z_OK);
  out.resize(len);
  return out;
}

Bytes compressed(const Bytes& plain, std::uint32_t cookie = 0x1c849314) {
  const Bytes z = zlib(plain);
  Bytes out;
  for (int i = 3; i >= 0; --i)
    out.push_back(static_cast<std::uint8_t>(cookie >> (8 * i)));
  const auto len = static_cast<std::uint32_t>(z.size());
  for (int i = 3; i >= 0; --i)
    out.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
  out.insert(out.end(), z.begin(), z.end());
  return out;
}

// Runs `decode` and reports: 0 decoded, 1 threw strain::Error. Anything else fails the test.
template <class F>
int outcome(F&& decode) {
  try {
    decode();
    return 0;
  } catch (const Error&) {
    return 1;
  } catch (const std::exception& e) {
    FAIL("decoder threw a non-strain exception: " << e.what());
  }
  return 2;
}

std::string error_of(const Bytes& b, bool compressed_form) {
  try {
    if (compressed_form) {
      (void)decode_compressed_v2(b);
    } else {
      (void)decode_v2(b);
    }
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

Histogram java_a() {
  Histogram h(1, 3600000000LL, 3);
  h.record_n(0, 3);
  for (const std::int64_t v : {1, 2, 3, 1000, 2047, 2048})
    h.record(v);
  h.record_n(2049, 5);
  h.record_n(100000, 7);
  h.record(3599999999LL);
  return h;
}

Histogram java_b() {
  Histogram h(1000, 10000000000LL, 2);
  for (const std::int64_t v : {0LL, 999LL, 1000LL, 1500LL})
    h.record(v);
  h.record_n(123456789, 2);
  h.record(9999999999LL);
  return h;
}

// Printed by Java HdrHistogram 2.1.11 (encodeIntoByteBuffer, and Base64 of
// encodeIntoCompressedByteBuffer) for java_a(), java_b() and empty / single-value histograms.
constexpr std::string_view kJavaHexA =
    "1c849313000000120000000000000003000000000000000100000000d693a4003ff0000000000000"
    "06020202c70f02ab10020cb1580eb1f20102";
constexpr std::string_view kJavaB64A =
    "HISTFAAAADN4nJNpmSzMwMAgxAABzFCaEURcm7yEwf4DRICNiYnpOD/TagEmno0RfBs/MTIBAMetCQM=";
constexpr std::string_view kJavaHexB =
    "1c84931300000009000000000000000200000000000003e800000002540be4003ff0000000000000"
    "020402cf1704d10c02";
constexpr std::string_view kJavaB64B =
    "HISTFAAAACl4nJNpmSzMwMDAyQABTBCK+QWIHcL9hMH+A1SChem8OMtFHiYAioQGgg==";
constexpr std::string_view kJavaHexEmpty =
    "1c849313000000010000000000000003000000000000000100000000d693a4003ff000000000000000";
constexpr std::string_view kJavaB64Empty = "HISTFAAAAB94nJNpmSzMwMDAyAABzFAazL82eQmD/QeoCABVgwSI";
constexpr std::string_view kJavaHexSingle1 =
    "1c849313000000020000000000000003000000000000000100000000d693a4003ff00000000000000002";

}  // namespace

TEST_CASE("base64 matches the RFC 4648 test vectors") {
  const std::pair<std::string_view, std::string_view> vectors[] = {{"", ""},
                                                                   {"f", "Zg=="},
                                                                   {"fo", "Zm8="},
                                                                   {"foo", "Zm9v"},
                                                                   {"foob", "Zm9vYg=="},
                                                                   {"fooba", "Zm9vYmE="},
                                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& row : vectors) {
    CAPTURE(row.first);
    CHECK(base64_encode(as_bytes(row.first)) == row.second);
    CHECK(base64_decode(row.second) == as_bytes(row.first));
  }
  const Bytes all = [] {
    Bytes b;
    for (int i = 0; i < 256; ++i)
      b.push_back(static_cast<std::uint8_t>(i));
    return b;
  }();
  CHECK(base64_decode(base64_encode(all)) == all);
  for (const std::string_view bad : {"Zg=", "Zg", "Z===", "====", "Zg==Zg==", "Zm9v\n", "Zm 9",
                                     "Zm9-", "Zm9_", "=m9v", "Zm=v"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(base64_decode(bad), Error);
  }
}

TEST_CASE("V2 encoding is byte-identical to Java's") {
  CHECK(encode_v2(java_a()) == from_hex(kJavaHexA));
  CHECK(encode_v2(java_b()) == from_hex(kJavaHexB));
  CHECK(encode_v2(Histogram()) == from_hex(kJavaHexEmpty));
  Histogram single;
  single.record(1);
  CHECK(encode_v2(single) == from_hex(kJavaHexSingle1));
}

TEST_CASE("compressed encoding: Java's cookie, Java's bytes inside") {
  const Bytes c = encode_compressed_v2(java_a());
  REQUIRE(c.size() > 8);
  CHECK(c[0] == 0x1c);
  CHECK(c[1] == 0x84);
  CHECK(c[2] == 0x93);
  CHECK(c[3] == 0x14);
  const std::uint32_t len =
      (std::uint32_t{c[4]} << 24) | (std::uint32_t{c[5]} << 16) | (std::uint32_t{c[6]} << 8) | c[7];
  CHECK(len == c.size() - 8);
  // The zlib stream inflates (with zlib itself, not our decoder) to Java's V2 bytes.
  Bytes plain(4096);
  uLongf plain_len = static_cast<uLongf>(plain.size());
  REQUIRE(uncompress(plain.data(), &plain_len, c.data() + 8, static_cast<uLong>(len)) == Z_OK);
  plain.resize(plain_len);
  CHECK(plain == from_hex(kJavaHexA));
  CHECK(to_base64_compressed(java_a()).starts_with("HISTFAAAA"));
}

TEST_CASE("Java's compressed encodings decode to what Java recorded") {
  const Histogram a = from_base64_compressed(kJavaB64A);
  CHECK(a == java_a());
  CHECK(a.total_count() == 22);
  CHECK(a.count_at_value(0) == 3);
  CHECK(a.count_at_value(2049) == 6);  // 2048 and 2049 share a bucket
  CHECK(a.count_at_value(100000) == 7);
  CHECK(a.min() == 0);
  CHECK(a.max() == 3600809983LL);  // Java's getMaxValue
  CHECK(a.value_at_percentile(75) == 100031);

  const Histogram b = from_base64_compressed(kJavaB64B);
  CHECK(b == java_b());
  CHECK(b.lowest_discernible() == 1000);
  CHECK(b.significant_digits() == 2);
  CHECK(b.total_count() == 7);
  CHECK(b.max() == 10066329599LL);

  const Histogram e = from_base64_compressed(kJavaB64Empty);
  CHECK(e == Histogram());
  CHECK(e.total_count() == 0);
}

TEST_CASE("round trips are lossless, bucket for bucket") {
  std::vector<Histogram> cases;
  for (const auto shape : {test::Shape::uniform, test::Shape::lognormal, test::Shape::bimodal}) {
    Histogram h;
    for (const auto v :
         test::make_samples(shape, 200'000, 21 + static_cast<std::uint64_t>(shape))) {
      h.record(v);
    }
    cases.push_back(h);
  }
  cases.emplace_back();  // empty
  Histogram zeros;
  zeros.record_n(0, 5);
  cases.push_back(zeros);
  Histogram saturated;
  saturated.record(1'000'000'000'000);
  saturated.record(3);
  cases.push_back(saturated);
  Histogram wide(1, std::numeric_limits<std::int64_t>::max(), 3);
  wide.record(std::numeric_limits<std::int64_t>::max());
  wide.record(1);
  cases.push_back(wide);
  Histogram fine(7, 1'000'000, 5);
  for (std::int64_t v = 0; v < 1'000'000; v += 997)
    fine.record(v);
  cases.push_back(fine);
  cases.push_back(java_b());

  for (const Histogram& h : cases) {
    CAPTURE(h.total_count());
    const Histogram plain = decode_v2(encode_v2(h));
    const Histogram packed = decode_compressed_v2(encode_compressed_v2(h));
    const Histogram text = from_base64_compressed(to_base64_compressed(h));
    for (const Histogram* d : {&plain, &packed, &text}) {
      CHECK(*d == h);
      CHECK(d->total_count() == h.total_count());
      CHECK(d->min() == h.min());
      CHECK(d->max() == h.max());
      CHECK(d->value_at_percentile(99.9) == h.value_at_percentile(99.9));
    }
    CHECK(encode_v2(plain) == encode_v2(h));  // decoding loses nothing the format carries
  }
}

TEST_CASE("corrupt input: every truncation throws strain::Error") {
  const Histogram h = [] {
    Histogram x;
    for (const auto v : test::make_samples(test::Shape::bimodal, 5'000, 8))
      x.record(v);
    return x;
  }();
  const Bytes packed = encode_compressed_v2(h);
  const Bytes plain = encode_v2(h);
  for (std::size_t n = 0; n < packed.size(); ++n) {
    CAPTURE(n);
    const Bytes cut(packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(outcome([&] { (void)decode_compressed_v2(cut); }) == 1);
    // The same cut with a consistent length field reaches the zlib stream itself.
    if (n >= 8) {
      Bytes patched = cut;
      const auto len = static_cast<std::uint32_t>(n - 8);
      for (int i = 0; i < 4; ++i)
        patched[4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(len >> (24 - 8 * i));
      CHECK(outcome([&] { (void)decode_compressed_v2(patched); }) == 1);
    }
  }
  for (std::size_t n = 0; n < plain.size(); ++n) {
    const Bytes cut(plain.begin(), plain.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(outcome([&] { (void)decode_v2(cut); }) == 1);
  }
  const std::string text = to_base64_compressed(h);
  for (std::size_t n = 0; n < text.size(); n += 3) {
    CHECK(outcome([&] { (void)from_base64_compressed(std::string_view(text).substr(0, n)); }) == 1);
  }
}

TEST_CASE("corrupt input: flipped bits never crash") {
  const Histogram h = [] {
    Histogram x;
    for (const auto v : test::make_samples(test::Shape::lognormal, 3'000, 9))
      x.record(v);
    return x;
  }();
  const Bytes packed = encode_compressed_v2(h);
  int rejected = 0;
  for (std::size_t i = 0; i < packed.size(); ++i) {
    for (const int mask : {0x01, 0x10, 0x80, 0xff}) {
      Bytes b = packed;
      b[i] = static_cast<std::uint8_t>(b[i] ^ mask);
      rejected += outcome([&] { (void)decode_compressed_v2(b); });
    }
  }
  // The cookie, the length and zlib's Adler-32 catch nearly every flip; the only survivors
  // are the cookie's word-size nibble, which every V2 decoder ignores.
  CHECK(rejected >= static_cast<int>(packed.size() * 4) - 8);

  // Uncompressed V2 has no checksum: a flipped count may decode, it must just not crash.
  const Bytes plain = encode_v2(h);
  for (std::size_t i = 0; i < plain.size(); ++i) {
    for (const int mask : {0x01, 0x40, 0x80, 0xff}) {
      Bytes b = plain;
      b[i] = static_cast<std::uint8_t>(b[i] ^ mask);
      CHECK(outcome([&] { (void)decode_v2(b); }) <= 1);
    }
  }
}

TEST_CASE("corrupt input: random bytes never crash") {
  std::mt19937_64 rng(2024);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(0, 300);
  for (int round = 0; round < 3000; ++round) {
    Bytes b(length(rng));
    for (auto& x : b)
      x = static_cast<std::uint8_t>(byte(rng));
    if (round % 2 == 0 && b.size() >= 8) {  // a valid cookie gets the fuzz past the first check
      b[0] = 0x1c, b[1] = 0x84, b[2] = 0x93, b[3] = round % 4 == 0 ? 0x14 : 0x13;
    }
    CHECK(outcome([&] { (void)decode_compressed_v2(b); }) <= 1);
    CHECK(outcome([&] { (void)decode_v2(b); }) <= 1);
    const std::string text = base64_encode(b);
    CHECK(outcome([&] { (void)from_base64_compressed(text); }) <= 1);
  }
  // Fuzz inside a valid zlib stream: random payloads behind a valid header.
  for (int round = 0; round < 2000; ++round) {
    V2 v;
    v.payload.resize(length(rng));
    for (auto& x : v.payload)
      x = static_cast<std::uint8_t>(byte(rng));
    CHECK(outcome([&] { (void)decode_compressed_v2(compressed(v.bytes())); }) <= 1);
  }
}

TEST_CASE("corrupt input: clear messages for each kind of damage") {
  Histogram one;
  one.record(5);
  const Bytes good = encode_v2(one);

  SUBCASE("bad base64") {
    try {
      (void)from_base64_compressed("HIST$AAA");
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(contains(e.what(), "base64"));
    }
  }
  SUBCASE("cookies") {
    V2 v;
    v.payload = {0x02};
    v.cookie = 0xdeadbeef;
    CHECK(contains(error_of(v.bytes(), false), "bad cookie 0xdeadbeef"));
    v.cookie = 0x1c849301;  // V1
    CHECK(contains(error_of(v.bytes(), false), "pre-V2"));
    v.cookie = 0x1c849308;  // V0
    CHECK(contains(error_of(v.bytes(), false), "pre-V2"));
    CHECK(contains(error_of(encode_compressed_v2(one), false), "compressed V2 cookie"));
    CHECK(contains(error_of(good, true), "uncompressed V2 cookie"));
    CHECK(contains(error_of(compressed(good, 0x1c849302), true), "pre-V2"));
    CHECK(contains(error_of(compressed(good, 0x12345678), true), "bad cookie"));
  }
  SUBCASE("lengths") {
    Bytes c = encode_compressed_v2(one);
    c[4] = 0x7f, c[5] = 0xff, c[6] = 0xff, c[7] = 0xff;  // claims 2 GiB
    CHECK(contains(error_of(c, true), "compressed bytes"));
    c[4] = 0xff;  // negative
    CHECK(contains(error_of(c, true), "compressed bytes"));
    Bytes trailing = encode_compressed_v2(one);
    trailing.push_back(0);
    CHECK(contains(error_of(trailing, true), "present"));

    V2 v;
    v.payload = {0x02};
    v.payload_len = 5;
    CHECK(contains(error_of(v.bytes(), false), "payload bytes"));
    v.payload_len = -3;
    CHECK(contains(error_of(v.bytes(), false), "negative payload length"));
    v.payload_len = 0x7fffffff;
    CHECK(contains(error_of(v.bytes(), false), "exceeds"));
    CHECK(contains(error_of(compressed(v.bytes()), true), "exceeds"));
    v.payload_len = 9;  // admissible, but the zlib stream holds only 1 byte of payload
    CHECK(contains(error_of(compressed(v.bytes()), true), "1 of the header's 9 bytes"));
    v.payload_len = 0;  // the zlib stream holds more than the header admits
    CHECK(contains(error_of(compressed(v.bytes()), true), "longer"));
  }
  SUBCASE("a zlib bomb is cut off at the header's payload length") {
    V2 v;
    v.payload_len = 1000;
    v.payload.assign(64 * 1024 * 1024, 0);  // 64 MiB of zero counts: compresses to ~64 KiB
    CHECK(contains(error_of(compressed(v.bytes()), true), "longer"));
  }
  SUBCASE("headers implying absurd sizes or unsupported forms") {
    V2 v;
    v.payload = {0x02};
    v.highest = std::numeric_limits<std::int64_t>::max();
    v.digits = 5;  // 6,160,384 counts: a legal Java layout, over our decoding limit
    CHECK(contains(error_of(v.bytes(), false), "limit"));
    CHECK(contains(error_of(compressed(v.bytes()), true), "limit"));
    v = V2{};
    v.payload = {0x02};
    v.digits = 6;
    CHECK(contains(error_of(v.bytes(), false), "significant digits"));
    v.digits = 3;
    v.lowest = 0;
    CHECK(contains(error_of(v.bytes(), false), "lowest discernible"));
    v.lowest = 1;
    v.highest = 1;
    CHECK(contains(error_of(v.bytes(), false), "highest trackable"));
    v.highest = 3'600'000'000;
    v.offset = 4;
    CHECK(contains(error_of(v.bytes(), false), "normalizing"));
    v.offset = 0;
    v.ratio = 0.001;
    CHECK(contains(error_of(v.bytes(), false), "ratio"));
  }
  SUBCASE("counts that do not fit the layout") {
    V2 v;
    put_word(v.payload, -1'000'000'000);  // a zero run far past 23,552 buckets
    put_word(v.payload, 1);
    CHECK(contains(error_of(v.bytes(), false), "zero counts"));
    v.payload.clear();
    put_word(v.payload, -23'552);  // exactly fills the layout ...
    put_word(v.payload, 1);        // ... so one more count is too many
    CHECK(contains(error_of(v.bytes(), false), "more counts"));
    v.payload.clear();
    put_word(v.payload, std::numeric_limits<std::int64_t>::max());
    put_word(v.payload, std::numeric_limits<std::int64_t>::max());
    CHECK(contains(error_of(v.bytes(), false), "overflows"));
    v.payload = {0x02, 0x80};  // a word cut short
    CHECK(contains(error_of(v.bytes(), false), "ends inside"));
    v.payload = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};  // 9-byte word, 9th missing
    CHECK(contains(error_of(v.bytes(), false), "ends inside"));
  }
  SUBCASE("the widest legal words decode") {
    V2 v;
    // 9-byte word: ZigZag(INT64_MIN) = 2^64 - 1, a run of 2^63 zeros: too long for any layout.
    v.payload = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK(contains(error_of(v.bytes(), false), "zero counts"));
    v.payload = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};  // 2^56 / 2 = 2^55
    const Histogram h = decode_v2(v.bytes());
    CHECK(h.count_at_value(0) == (std::int64_t{1} << 55));
  }
}
