// HdrHistogram V2 encodings, plain and compressed (what .hlog lines and saved results carry):
// any bytes decode to a histogram or a strain::Error, within bounded memory; what decodes
// encodes and decodes again to an equal histogram.
#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/metrics/hdr_codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace strain;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 256 * 1024) return 0;
  const std::span<const std::uint8_t> bytes(data + 1, size - 1);
  try {
    const Histogram h = (data[0] & 1) != 0 ? decode_compressed_v2(bytes) : decode_v2(bytes);
    FUZZ_CHECK(h.total_count() >= 0);
    const Histogram again = decode_v2(encode_v2(h));
    FUZZ_CHECK(again == h);
    FUZZ_CHECK(decode_compressed_v2(encode_compressed_v2(h)) == h);
  } catch (const Error& e) {
    fuzz::check_message(e.what());
  }
  return 0;
}
