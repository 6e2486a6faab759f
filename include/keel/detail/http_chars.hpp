// keel::detail: HTTP character classes (RFC 9110 tchar, field values, request-target) and fast scanners.
#pragma once

#include "keel/config.hpp"

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace keel {
inline namespace v0 {
namespace detail {

// One bit per class, so one table serves every check the parser makes per byte.
enum http_char_class : std::uint8_t {
  char_tchar = 1,    // token character (method, field name, transfer-coding)
  char_target = 2,   // allowed in a request-target: VCHAR (0x21..0x7E)
  char_field = 4,    // allowed inside a field value: VCHAR, obs-text, SP, HTAB
  char_hex = 8,      // hexadecimal digit (chunk size)
  char_scheme = 16,  // URI scheme character after the first: ALPHA DIGIT + - .
};

inline constexpr std::array<std::uint8_t, 256> http_char_table = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t bits = 0;
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (alpha || digit ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos)
      bits |= char_tchar;
    if (c >= 0x21 && c <= 0x7E) bits |= char_target;
    if ((c >= 0x20 && c != 0x7F) || c == '\t') bits |= char_field;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) bits |= char_hex;
    if (alpha || digit || c == '+' || c == '-' || c == '.') bits |= char_scheme;
    t[static_cast<std::size_t>(c)] = bits;
  }
  return t;
}();

KEEL_ALWAYS_INLINE bool is_char(char c, http_char_class cls) noexcept {
  return (http_char_table[static_cast<unsigned char>(c)] & cls) != 0;
}

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

KEEL_ALWAYS_INLINE std::uint64_t load_u64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
KEEL_ALWAYS_INLINE std::uint32_t load_u32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
KEEL_ALWAYS_INLINE std::uint16_t load_u16(const char* p) noexcept {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The value load_uN returns for these bytes in memory, so a literal compares as one integer.
template <class Word, std::size_t N>
constexpr Word word_of(const char (&text)[N]) noexcept {
  static_assert(N - 1 == sizeof(Word));
  Word w = 0;
  for (std::size_t i = 0; i < sizeof(Word); ++i) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = static_cast<Word>(w | static_cast<Word>(static_cast<unsigned char>(text[i]))
                                  << (8 * (sizeof(Word) - 1 - i)));
#else
    w = static_cast<Word>(w | static_cast<Word>(static_cast<unsigned char>(text[i])) << (8 * i));
#endif
  }
  return w;
}
template <std::size_t N>
constexpr std::uint16_t word16(const char (&text)[N]) noexcept {
  return word_of<std::uint16_t>(text);
}
template <std::size_t N>
constexpr std::uint32_t word32(const char (&text)[N]) noexcept {
  return word_of<std::uint32_t>(text);
}
template <std::size_t N>
constexpr std::uint64_t word64(const char (&text)[N]) noexcept {
  return word_of<std::uint64_t>(text);
}

// The first byte in [p, end) that is not a tchar, or end. Almost every method and field name is letters,
// digits and '-', which SSE2 range checks find 16 bytes at a time; any other byte is looked up in the table
// (the rarer tchars like '_' or '.' continue the scan, anything else ends the token).
KEEL_ALWAYS_INLINE const char* find_token_end(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i case_bit = _mm_set1_epi8(0x20);
  const __m128i letter_a = _mm_set1_epi8('a');
  const __m128i letter_span = _mm_set1_epi8(25);
  const __m128i digit_0 = _mm_set1_epi8('0');
  const __m128i digit_span = _mm_set1_epi8(9);
  const __m128i dash = _mm_set1_epi8('-');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i letter_offset = _mm_sub_epi8(_mm_or_si128(v, case_bit), letter_a);
    const __m128i digit_offset = _mm_sub_epi8(v, digit_0);
    const __m128i letter = _mm_cmpeq_epi8(_mm_min_epu8(letter_offset, letter_span), letter_offset);
    const __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(digit_offset, digit_span), digit_offset);
    const __m128i common = _mm_or_si128(_mm_or_si128(letter, digit), _mm_cmpeq_epi8(v, dash));
    const unsigned other = ~static_cast<unsigned>(_mm_movemask_epi8(common)) & 0xFFFFu;
    if (other == 0) {
      p += 16;
      continue;
    }
    p += __builtin_ctz(other);
    if (!is_char(*p, char_tchar)) return p;
    ++p;
  }
#endif
  while (p != end && is_char(*p, char_tchar)) ++p;
  return p;
}

// The first byte in [p, end) that may not appear in a request-target (anything outside 0x21..0x7E), or end.
// Targets are the longest token on the request line, so this one is vectorised. `question` is set to the
// first '?' before that byte (the start of the query), or left alone when there is none.
KEEL_ALWAYS_INLINE const char* find_target_end(const char* p, const char* end,
                                               const char*& question) noexcept {
#if defined(__SSE2__)
  const __m128i low = _mm_set1_epi8(0x20);
  const __m128i high = _mm_set1_epi8(0x7F);
  const __m128i question_mark = _mm_set1_epi8('?');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i bad = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, low), v),    // v <= 0x20
                                     _mm_cmpeq_epi8(_mm_max_epu8(v, high), v));  // v >= 0x7F
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(bad));
    unsigned questions = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, question_mark)));
    if (mask != 0) questions &= (mask & (0u - mask)) - 1;  // only the '?'s before the first bad byte
    if (questions != 0 && question == nullptr) question = p + __builtin_ctz(questions);
    if (mask != 0) return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  while (p != end && is_char(*p, char_target)) {
    if (*p == '?' && question == nullptr) question = p;
    ++p;
  }
  return p;
}

// The first byte in [p, end) that is a control character other than HTAB, or DEL, or end. In a well-formed
// field line that byte is the CR ending the line; HTAB is rare, so it stops the vector loop and is stepped
// over.
KEEL_ALWAYS_INLINE const char* find_field_value_end(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i low = _mm_set1_epi8(0x1F);
  const __m128i del = _mm_set1_epi8(0x7F);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i stop = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, low), v),  // v <= 0x1F
                                      _mm_cmpeq_epi8(v, del));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(stop));
    while (mask != 0) {
      const char* hit = p + __builtin_ctz(mask);
      if (*hit != '\t') return hit;
      mask &= mask - 1;
    }
    p += 16;
  }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  // SWAR over 8 bytes for the short tail (the last field line before the blank line usually ends here).
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  while (end - p >= 8) {
    const std::uint64_t x = load_u64(p);
    const std::uint64_t below_space =
        (x - ones * 0x20) & ~x;  // high bit set where a byte < 0x20 (first one exact)
    const std::uint64_t del = x ^ (ones * 0x7F);
    const std::uint64_t is_del = (del - ones) & ~del;  // high bit set where a byte == 0x7F (first one exact)
    const std::uint64_t stop = (below_space | is_del) & highs;
    if (stop == 0) {
      p += 8;
      continue;
    }
    const char* hit = p + __builtin_ctzll(stop) / 8;  // little-endian: the lowest set bit is the first byte
    if (*hit != '\t') return hit;
    p = hit + 1;
  }
#endif
  while (p != end && is_char(*p, char_field)) ++p;
  return p;
}

// A window over a request's header section, classified once: bit i of `control` describes base[i]. The
// parser finds every line end (and every byte a field value may not hold) from it instead of scanning each
// value again; names are short and checked per line. Bits at or past the end of the data are set, so every
// search stops there. 32 bytes: a bare GET with Host classifies little more than it has (64 cost minimal
// requests 7% more instructions), and longer heads step through windows inline.
inline constexpr std::size_t head_window_bytes = 32;
struct head_window {
  const char* base = nullptr;
  std::uint32_t control = 0;  // bytes below 0x20 and DEL: CR, LF, HTAB and every byte a value may not hold
};

// The control mask of 16 bytes at p.
KEEL_ALWAYS_INLINE std::uint32_t control_bytes(const char* p) noexcept {
#if defined(__SSE2__)
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i below_space = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v);
  const __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F));
  return static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_or_si128(below_space, del)));
#else
  std::uint32_t control = 0;
  for (unsigned i = 0; i < 16; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c == 0x7F) control |= 1u << i;
  }
  return control;
#endif
}

// The window starting at `at`; reads only [begin, end) (begin <= at: the start of the request).
KEEL_ALWAYS_INLINE head_window load_head_window(const char* at, const char* begin, const char* end) noexcept {
  head_window window{at, 0};
  const auto available = static_cast<std::size_t>(end - at);
  for (std::size_t offset = 0; offset < head_window_bytes; offset += 16) {
    std::uint32_t control = 0xFFFF;
    if (available >= offset + 16) {
      control = control_bytes(at + offset);
    } else if (available > offset) {
      // The data ends inside this chunk: the 16 bytes ending at `end`, shifted into place (a copy padded with
      // NULs when the request is shorter; a load right after a small memcpy stalls store forwarding).
      const std::size_t have = available - offset;
      if (end - begin >= 16) {
        control = control_bytes(end - 16) >> (16 - have);
      } else {
        char copy[16] = {};
        std::memcpy(copy, at + offset, have);
        control = control_bytes(copy);
      }
      control |= 0xFFFFu << have;  // past the end: stop there
    }
    window.control |= control << offset;
  }
  return window;
}

// The first control byte at or after `from` (<= end), moving the window forward as needed; `end` when the
// data ends first.
KEEL_ALWAYS_INLINE const char* find_control_in_head(head_window& window, const char* from, const char* begin,
                                                    const char* end) noexcept {
  for (;;) {
    const auto offset = static_cast<std::size_t>(from - window.base);
    if (KEEL_LIKELY(offset < head_window_bytes)) {
      const std::uint32_t rest = window.control >> offset;
      if (KEEL_LIKELY(rest != 0)) return from + std::countr_zero(rest);
      from = window.base + head_window_bytes;  // <= end: the bit at `end` would have been set otherwise
    }
    window = load_head_window(from, begin, end);
  }
}

// Case-insensitive comparison against a lower-case literal of letters, digits and '-', a word at a time.
// Valid when `token` holds no control characters (tokens and field values): every literal byte has bit 0x20
// set, and OR-ing 0x20 into such input only ever maps upper-case letters onto literal bytes.
template <std::size_t N>
KEEL_ALWAYS_INLINE bool token_equals_lower(std::string_view token, const char (&lower)[N]) noexcept {
  constexpr std::size_t n = N - 1;
  if (token.size() != n) return false;
  const char* t = token.data();
  if constexpr (n >= 8) {
    constexpr std::uint64_t case_bits = 0x2020202020202020ull;
    for (std::size_t i = 0; i + 8 <= n; i += 8)
      if ((load_u64(t + i) | case_bits) != load_u64(lower + i)) return false;
    if constexpr (n % 8 != 0) return (load_u64(t + n - 8) | case_bits) == load_u64(lower + n - 8);
    return true;
  } else if constexpr (n >= 4) {
    constexpr std::uint32_t case_bits = 0x20202020u;
    return (load_u32(t) | case_bits) == load_u32(lower) &&
           (load_u32(t + n - 4) | case_bits) == load_u32(lower + n - 4);
  } else {
    for (std::size_t i = 0; i < n; ++i)
      if ((static_cast<unsigned char>(t[i]) | 0x20u) != static_cast<unsigned char>(lower[i])) return false;
    return true;
  }
}

// Calls fn(element) for each non-empty element of a comma-separated list, with optional whitespace trimmed
// (RFC 9110 section 5.6.1). Stops early and returns false when fn returns false.
template <class Fn>
constexpr bool for_each_list_element(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view element = list.substr(0, comma);
    while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) element.remove_prefix(1);
    while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) element.remove_suffix(1);
    if (!element.empty() && !fn(element)) return false;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return true;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
