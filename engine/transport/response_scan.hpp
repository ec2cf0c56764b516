// Byte-level scanning for the response parser: token characters, line ends, hex digits, with
// SSE2 where it pays. Internal to engine/transport; inline, since the parser's hot loop uses it.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace strain::http::scan {

// RFC 9110 §5.6.2 token characters: what a field name may contain.
constexpr std::array<bool, 256> make_tchar() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c)
    t[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c)
    t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c)
    t[static_cast<std::size_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~"))
    t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kTchar = make_tchar();

inline bool is_tchar(char c) {
  return kTchar[static_cast<unsigned char>(c)];
}

inline char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
}

inline std::uint64_t load64(const char* s) {
  std::uint64_t v;
  std::memcpy(&v, s, sizeof v);
  return v;
}

// Compares a field name with a lower-case literal of at least 8 bytes, 8 bytes at a time.
// `s` holds only token characters, so OR-ing 0x20 folds case without aliasing onto the
// lower-case letters and '-' of `lit`.
inline bool name_is(const char* s, std::string_view lit) {
  constexpr std::uint64_t kFold = 0x2020202020202020ull;
  std::size_t i = 0;
  for (; i + 8 <= lit.size(); i += 8) {
    if ((load64(s + i) | kFold) != load64(lit.data() + i)) return false;
  }
  if (i < lit.size()) {
    i = lit.size() - 8;
    if ((load64(s + i) | kFold) != load64(lit.data() + i)) return false;
  }
  return true;
}

// Case-insensitive equality with a lower-case literal, for field values (any bytes).
inline bool value_is(std::string_view v, std::string_view lit) {
  if (v.size() != lit.size()) return false;
  for (std::size_t i = 0; i < lit.size(); ++i) {
    if (lower(v[i]) != lit[i]) return false;
  }
  return true;
}

#if defined(__SSE2__)
// Bytes of a 16-byte block that are tchar, as a bit mask. SSE2 only (no pshufb): each range
// is one wrapping subtract, one saturating subtract and one compare.
inline unsigned tchar_mask(__m128i x) {
  const __m128i zero = _mm_setzero_si128();
  auto in = [&](__m128i v, char lo, char hi) {
    return _mm_cmpeq_epi8(_mm_subs_epu8(_mm_sub_epi8(v, _mm_set1_epi8(lo)),
                                        _mm_set1_epi8(static_cast<char>(hi - lo))),
                          zero);
  };
  __m128i t = in(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 'z');
  t = _mm_or_si128(t, in(x, '0', '9'));
  t = _mm_or_si128(t, in(x, '#', '\''));
  t = _mm_or_si128(t, in(x, '*', '+'));
  t = _mm_or_si128(t, in(x, '-', '.'));
  t = _mm_or_si128(t, in(x, '^', '`'));
  t = _mm_or_si128(t, _mm_cmpeq_epi8(x, _mm_set1_epi8('!')));
  t = _mm_or_si128(t, _mm_cmpeq_epi8(x, _mm_set1_epi8('|')));
  t = _mm_or_si128(t, _mm_cmpeq_epi8(x, _mm_set1_epi8('~')));
  return static_cast<unsigned>(_mm_movemask_epi8(t));
}
#endif

// First byte at or after p that is not a tchar. The caller knows one exists before `end`.
inline const char* skip_tchars(const char* p, const char* end) {
#if defined(__SSE2__)
  if (end - p >= 16) {
    const unsigned other =
        ~tchar_mask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))) & 0xffffu;
    if (other != 0) return p + __builtin_ctz(other);
    p += 16;
  }
#endif
  (void)end;
  while (is_tchar(*p))
    ++p;
  return p;
}

// Most lines are short: a few inline SSE2 compares beat the call into libc's memchr, which
// takes over for long lines and bodies.
inline const char* find_lf(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n');
  for (int i = 0; i < 4 && end - p >= 16; ++i, p += 16) {
    const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(block, lf)));
    if (mask != 0) return p + __builtin_ctz(mask);
  }
#endif
  return static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  const char l = static_cast<char>(c | 0x20);
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;
}

}  // namespace strain::http::scan
