// JSON output: keel::json_io::write appends a value as JSON to a std::string; to_string returns one.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/type_traits.hpp"
#include "keel/json/enum.hpp"
#include "keel/json/nullable.hpp"
#include "keel/json/reflect.hpp"
#include "keel/json/time.hpp"
#include "keel/json/traits.hpp"
#include "keel/validate/validated.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// Any supported value: DTOs, containers, scalars, enums, time points, variants, validator types, json_traits
// types.
//
// Compact output copies each field's precomputed `"key":` in one block and escapes strings eight bytes at
// a time; nothing is allocated except the growth of `out` (reuse the buffer and there is none).

namespace keel {
inline namespace v0 {
namespace json_io {

struct write_options {
  bool pretty = false;  // newlines and `indent` spaces per level, "key": value
  unsigned indent = 2;
  bool escape_unicode = false;  // non-ASCII as \uXXXX (surrogate pairs above U+FFFF): pure-ASCII output
  bool null_for_empty_optional = false;  // default: an empty std::optional field is left out
};

}  // namespace json_io
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {
namespace detail {

template <class T>
inline constexpr bool is_variant = false;
template <class... T>
inline constexpr bool is_variant<std::variant<T...>> = true;

template <class T>
concept string_like = std::is_convertible_v<const T&, std::string_view> && !std::is_null_pointer_v<T>;

template <class T>
concept string_keyed_map = requires {
  typename T::key_type;
  typename T::mapped_type;
}
&&std::is_convertible_v<const typename T::key_type&, std::string_view>&& std::ranges::range<T>;

template <class T>
concept json_array_like = std::ranges::range<T> && !string_like<T> && !string_keyed_map<T>;

template <class T>
concept system_time_point = std::is_same_v<typename T::clock, std::chrono::system_clock> && requires {
  typename T::duration;
  std::chrono::time_point_cast<std::chrono::milliseconds>(T{});
};

// Flags (high bit of the byte) every byte of `w` that must not be copied as is: < 0x20, '"', '\\', and
// with escape_unicode >= 0x80. The lowest flagged byte is always a real one (borrows only run upward).
KEEL_ALWAYS_INLINE std::uint64_t bytes_needing_escape(std::uint64_t w, bool escape_unicode) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  auto zero_bytes = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
  std::uint64_t control = (w - ones * 0x20) & ~w & highs;
  std::uint64_t quote = zero_bytes(w ^ (ones * '"'));
  std::uint64_t backslash = zero_bytes(w ^ (ones * '\\'));
  return control | quote | backslash | (escape_unicode ? (w & highs) : 0);
}

KEEL_ALWAYS_INLINE std::size_t first_flagged_byte(std::uint64_t mask) noexcept {
  if constexpr (std::endian::native == std::endian::little)
    return static_cast<std::size_t>(std::countr_zero(mask)) / 8;
  else
    return static_cast<std::size_t>(std::countl_zero(mask)) / 8;
}

template <bool Pretty>
class json_writer {
 public:
  // Output starts in a local buffer, so a small document costs one append instead of growing `out` first:
  // std::string cannot grow without zero-filling (resize_and_overwrite is C++23), and that fill of the whole
  // capacity cost more than writing a short body.
  json_writer(std::string& out, const json_io::write_options& options)
      : out_(out), options_(options), begin_(local_), pos_(local_), end_(local_ + local_capacity) {}
  json_writer(const json_writer&) = delete;
  json_writer& operator=(const json_writer&) = delete;
  ~json_writer() {
    if (!local()) out_.resize(static_cast<std::size_t>(pos_ - begin_));
  }

  // Hands the output over to `out`; the destructor alone leaves `out` as it was when writing stayed local
  // (an exception mid-document).
  void finish() {
    if (local()) out_.append(local_, static_cast<std::size_t>(pos_ - local_));
  }

  template <class T>
  void value(const T& v) {
    if constexpr (JsonWritableByTraits<T>) {
      value(json_traits<T>::to_json(v));
    } else if constexpr (Validator<T>) {
      value(v.get());
    } else if constexpr (std::is_same_v<T, bool>) {
      if (v)
        raw("true", 4);
      else
        raw("false", 5);
    } else if constexpr (std::is_integral_v<T>) {
      reserve(24);
      pos_ = std::to_chars(pos_, pos_ + 24, v).ptr;
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!std::isfinite(v)) return raw("null", 4);
      reserve(40);
      pos_ = std::to_chars(pos_, pos_ + 40, v).ptr;
    } else if constexpr (std::is_enum_v<T>) {
      std::string_view name = enum_name(v);
      if (name.empty())
        value(static_cast<std::underlying_type_t<T>>(v));
      else
        string(name);
    } else if constexpr (std::is_null_pointer_v<T> || std::is_same_v<T, std::monostate>) {
      raw("null", 4);
    } else if constexpr (std::is_same_v<T, const char*> || std::is_same_v<T, char*>) {
      if (v)
        string(std::string_view(v));
      else
        raw("null", 4);
    } else if constexpr (string_like<T>) {
      string(std::string_view(v));
    } else if constexpr (system_time_point<T>) {
      reserve(detail::rfc3339_length + 2);
      *pos_++ = '"';
      pos_ = format_rfc3339(pos_, std::chrono::time_point_cast<std::chrono::system_clock::duration>(v));
      *pos_++ = '"';
    } else if constexpr (is_optional<T>) {
      if (v)
        value(*v);
      else
        raw("null", 4);
    } else if constexpr (is_nullable<T>) {
      if (v.has_value())
        value(*v);
      else
        raw("null", 4);
    } else if constexpr (is_variant<T>) {
      std::visit([this](const auto& alternative) { this->value(alternative); }, v);
    } else if constexpr (string_keyed_map<T>) {
      map(v);
    } else if constexpr (json_array_like<T>) {
      array(v);
    } else if constexpr (Dto<T>) {
      object(v);
    } else {
      static_assert(sizeof(T) == 0,
                    "keel::json_io::write: this type has no JSON form. Make it a plain aggregate (a DTO) or "
                    "specialize keel::json_traits<T> with to_json.");
    }
  }

  KEEL_ALWAYS_INLINE void string(std::string_view s) {
    // 8..16 bytes with nothing to escape (most keys and short values): two overlapping words, checked (SSE2,
    // or eight bytes at a time without it) and copied inline, instead of the call into the general loop.
    if (s.size() - 8 <= 8) {
      const std::size_t n = s.size();
      std::uint64_t low, high;
      std::memcpy(&low, s.data(), 8);
      std::memcpy(&high, s.data() + n - 8, 8);
#if defined(__SSE2__)
      const __m128i v = _mm_set_epi64x(static_cast<long long>(high), static_cast<long long>(low));
      const __m128i special = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
          _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v));  // < 0x20
      const auto flagged = _mm_movemask_epi8(options_.escape_unicode ? _mm_or_si128(special, v) : special);
#else
      std::uint64_t flagged = bytes_needing_escape(low, false) | bytes_needing_escape(high, false);
      if (options_.escape_unicode) flagged |= (low | high) & 0x8080808080808080ULL;
#endif
      if (KEEL_LIKELY(flagged == 0)) {
        reserve(n + 2);
        char* const p = pos_;  // a local: stores through char* would make the compiler reload pos_
        p[0] = '"';
        std::memcpy(p + 1, &low, 8);
        std::memcpy(p + 1 + n - 8, &high, 8);
        p[n + 1] = '"';
        pos_ = p + n + 2;
        return;
      }
    }
    string_general(s);
  }

 private:
  KEEL_NOINLINE void string_general(std::string_view s) {
    // Room is reserved for the worst case (every byte \u00XX, +8 for the block copies) per 4 KiB chunk, so
    // a huge string does not make the buffer grow to six times its size at once.
    constexpr std::size_t chunk = 4096;
    if (KEEL_LIKELY(s.size() <= chunk)) {
      reserve(s.size() * 6 + 10);
      *pos_++ = '"';
      escape_into_reserved(s);
      *pos_++ = '"';
      return;
    }
    put('"');
    while (s.size() > chunk) {
      std::size_t cut = chunk;  // never inside a UTF-8 sequence: escape_unicode decodes whole sequences
      while (cut > chunk - 4 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
      reserve(cut * 6 + 8);
      escape_into_reserved(s.substr(0, cut));
      s.remove_prefix(cut);
    }
    reserve(s.size() * 6 + 9);
    escape_into_reserved(s);
    *pos_++ = '"';
  }

  // Escapes `s` into room the caller reserved for its worst case.
  void escape_into_reserved(std::string_view s) {
    const char* in = s.data();
    const char* const last = in + s.size();
    const bool escape_unicode = options_.escape_unicode;
#if defined(__SSE2__)
    // Up to 16 bytes per step, loaded as two words that overlap when fewer than 16 are left, so no load
    // passes `last` and a short string (8..16 bytes) is one step.
    while (last - in >= 8) {
      const auto n = std::min<std::size_t>(static_cast<std::size_t>(last - in), 16);
      std::uint64_t low, high;
      std::memcpy(&low, in, 8);
      std::memcpy(&high, in + n - 8, 8);
      const __m128i v = _mm_set_epi64x(static_cast<long long>(high), static_cast<long long>(low));
      const __m128i special = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
          _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v));  // < 0x20
      const auto flagged =
          static_cast<unsigned>(_mm_movemask_epi8(escape_unicode ? _mm_or_si128(special, v) : special));
      std::memcpy(pos_, &low, 8);
      std::memcpy(pos_ + n - 8, &high, 8);
      if (flagged == 0) {
        pos_ += n;
        in += n;
        continue;
      }
      // Bit i < 8 is in[i]; bit i >= 8 is in[n - 16 + i].
      const std::size_t clean = (flagged & 0xFFu) != 0
                                    ? static_cast<std::size_t>(std::countr_zero(flagged))
                                    : n - 16 + static_cast<std::size_t>(std::countr_zero(flagged));
      pos_ += clean;
      in += clean;
      in = escape_one(in, last);
    }
#else
    while (last - in >= 8) {
      std::uint64_t word;
      std::memcpy(&word, in, 8);
      std::memcpy(pos_, in, 8);
      std::uint64_t flagged = bytes_needing_escape(word, escape_unicode);
      if (flagged == 0) {
        pos_ += 8;
        in += 8;
        continue;
      }
      std::size_t clean = first_flagged_byte(flagged);
      pos_ += clean;
      in += clean;
      in = escape_one(in, last);
    }
#endif
    if constexpr (std::endian::native == std::endian::little) {
      // The last 1..7 bytes of a string of 8 or more: one word ending at `last`, shifted down, with spaces
      // (never escaped) filling the top, instead of a byte loop.
      if (in != last && s.size() >= 8) {
        const auto tail = static_cast<unsigned>(last - in);
        std::uint64_t word;
        std::memcpy(&word, last - 8, 8);
        word = (word >> (8 * (8 - tail))) | (0x2020202020202020ULL << (8 * tail));
        if (bytes_needing_escape(word, escape_unicode) == 0) {
          std::memcpy(pos_, &word, 8);
          pos_ += tail;
          in = last;
        }
      }
    }
    while (in < last) {
      auto c = static_cast<unsigned char>(*in);
      if (c < 0x20 || c == '"' || c == '\\' || (escape_unicode && c >= 0x80))
        in = escape_one(in, last);
      else
        *pos_++ = *in++;
    }
  }

  KEEL_ALWAYS_INLINE void reserve(std::size_t n) {
    if (KEEL_UNLIKELY(static_cast<std::size_t>(end_ - pos_) < n)) grow(n);
  }
  KEEL_NOINLINE void grow(std::size_t n) {
    std::size_t used = static_cast<std::size_t>(pos_ - begin_);
    if (local()) {
      // Leaving the local buffer: from here on the document is written into `out` after its old content.
      const std::size_t base = out_.size();
      out_.resize(std::max(out_.capacity(), base + 2 * (used + n)));
      std::memcpy(out_.data() + base, local_, used);
      used += base;
    } else {
      out_.resize(std::max(out_.size() * 2, used + n));
    }
    begin_ = out_.data();
    pos_ = begin_ + used;
    end_ = begin_ + out_.size();
  }
  bool local() const noexcept { return begin_ == local_; }
  KEEL_ALWAYS_INLINE void raw(const char* text, std::size_t n) {
    reserve(n);
    std::memcpy(pos_, text, n);
    pos_ += n;
  }
  KEEL_ALWAYS_INLINE void put(char c) {
    reserve(1);
    *pos_++ = c;
  }

  void unicode_escape(unsigned code_unit) {
    static constexpr char hex[] = "0123456789abcdef";
    char* p = pos_;
    p[0] = '\\';
    p[1] = 'u';
    p[2] = hex[(code_unit >> 12) & 15];
    p[3] = hex[(code_unit >> 8) & 15];
    p[4] = hex[(code_unit >> 4) & 15];
    p[5] = hex[code_unit & 15];
    pos_ += 6;
  }

  // Escapes the character at `in` (room was reserved by string()), returns where the next one starts.
  const char* escape_one(const char* in, const char* last) {
    auto c = static_cast<unsigned char>(*in);
    if (c < 0x80) {
      const char* short_form = nullptr;
      switch (c) {
        case '"':
          short_form = "\\\"";
          break;
        case '\\':
          short_form = "\\\\";
          break;
        case '\n':
          short_form = "\\n";
          break;
        case '\r':
          short_form = "\\r";
          break;
        case '\t':
          short_form = "\\t";
          break;
        case '\b':
          short_form = "\\b";
          break;
        case '\f':
          short_form = "\\f";
          break;
        default:
          unicode_escape(c);
          return in + 1;
      }
      pos_[0] = short_form[0];
      pos_[1] = short_form[1];
      pos_ += 2;
      return in + 1;
    }
    // Non-ASCII with escape_unicode: decode one UTF-8 sequence; a malformed one becomes U+FFFD.
    std::size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    char32_t cp = length == 4 ? (c & 0x07u) : length == 3 ? (c & 0x0Fu) : (c & 0x1Fu);
    bool valid = length != 0 && static_cast<std::size_t>(last - in) >= length;
    for (std::size_t i = 1; valid && i < length; ++i) {
      auto next = static_cast<unsigned char>(in[i]);
      valid = (next & 0xC0) == 0x80;
      cp = (cp << 6) | (next & 0x3Fu);
    }
    if (!valid) {
      unicode_escape(0xFFFD);
      return in + 1;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unicode_escape(0xD800 + static_cast<unsigned>(cp >> 10));
      unicode_escape(0xDC00 + static_cast<unsigned>(cp & 0x3FF));
    } else {
      unicode_escape(static_cast<unsigned>(cp));
    }
    return in + length;
  }

  void newline() {
    if constexpr (Pretty) {
      std::size_t n = 1 + static_cast<std::size_t>(depth_) * options_.indent;
      reserve(n);
      *pos_++ = '\n';
      std::memset(pos_, ' ', n - 1);
      pos_ += n - 1;
    }
  }

  // Compact containers write a ',' after every element and turn the last one into the closing bracket.
  void close(char bracket, bool any) {
    if constexpr (Pretty) {
      --depth_;
      if (any) newline();
      put(bracket);
    } else {
      if (pos_[-1] == ',')
        pos_[-1] = bracket;
      else
        put(bracket);
    }
  }
  void separate(bool& any) {
    if constexpr (Pretty) {
      if (any) put(',');
      newline();
    }
    any = true;
  }
  void after_element() {
    if constexpr (!Pretty) put(',');
  }

  template <class T>
  void array(const T& items) {
    put('[');
    if constexpr (Pretty) ++depth_;
    bool any = false;
    for (const auto& item : items) {
      separate(any);
      value(item);
      after_element();
    }
    close(']', any);
  }

  template <class T>
  void map(const T& entries) {
    put('{');
    if constexpr (Pretty) ++depth_;
    bool any = false;
    for (const auto& [key, item] : entries) {
      separate(any);
      string(std::string_view(key));
      if constexpr (Pretty)
        raw(": ", 2);
      else
        put(':');
      value(item);
      after_element();
    }
    close('}', any);
  }

  template <class T>
  void object(const T& dto) {
    put('{');
    if constexpr (Pretty) ++depth_;
    bool any = false;
    for_each_field(dto, [&]<std::size_t I>(std::integral_constant<std::size_t, I>, const auto& member) {
      using member_type = std::remove_cvref_t<decltype(member)>;
      if constexpr (is_optional<member_type>)
        if (!member && !options_.null_for_empty_optional) return;
      if constexpr (is_nullable<member_type>)
        if (member.is_absent()) return;  // null is written: it is what the field says
      separate(any);
      constexpr std::string_view key = json_key_token<T, I>;
      raw(key.data(), key.size());
      if constexpr (Pretty) put(' ');
      value(member);
      after_element();
    });
    close('}', any);
  }

  static constexpr std::size_t local_capacity = 512;

  std::string& out_;
  const json_io::write_options& options_;
  char local_[local_capacity];  // written before it is read, so left uninitialised
  char* begin_;
  char* pos_;
  char* end_;
  int depth_ = 0;
};

}  // namespace detail
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {
namespace json_io {

// Appends the JSON form of `value` to `out`.
template <class T>
void write(std::string& out, const T& value, const write_options& options = {}) {
  if (options.pretty) {
    detail::json_writer<true> writer(out, options);
    writer.value(value);
    writer.finish();
  } else {
    detail::json_writer<false> writer(out, options);
    writer.value(value);
    writer.finish();
  }
}

template <class T>
std::string to_string(const T& value, const write_options& options = {}) {
  std::string out;
  write(out, value, options);
  return out;
}

}  // namespace json_io
}  // namespace v0
}  // namespace keel
