// Strict base64url (RFC 4648 section 5) without padding, as JOSE uses it (RFC 7515 section 2): decoding
// refuses '=', characters outside the alphabet, a length of 1 modulo 4 and non-zero unused trailing bits, so
// every byte string has exactly one accepted encoding.
#pragma once

#include "keel/config.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace auth {
namespace detail {

inline constexpr std::string_view base64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 0..63 for alphabet characters, 0xff for anything else.
inline constexpr std::array<std::uint8_t, 256> base64url_values = [] {
  std::array<std::uint8_t, 256> table{};
  for (auto& v : table) v = 0xff;
  for (std::size_t i = 0; i < base64url_alphabet.size(); ++i)
    table[static_cast<unsigned char>(base64url_alphabet[i])] = static_cast<std::uint8_t>(i);
  return table;
}();

constexpr std::size_t base64url_encoded_size(std::size_t bytes) { return (bytes * 4 + 2) / 3; }

// The decoded size of a valid encoding of `chars` characters (nullopt: no valid encoding has that length).
constexpr std::optional<std::size_t> base64url_decoded_size(std::size_t chars) {
  if (chars % 4 == 1) return std::nullopt;
  return chars / 4 * 3 + (chars % 4 == 0 ? 0 : chars % 4 - 1);
}

// Writes base64url_encoded_size(size) characters to out.
inline void base64url_encode(const unsigned char* in, std::size_t size, char* out) noexcept {
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    *out++ = base64url_alphabet[(v >> 18) & 63];
    *out++ = base64url_alphabet[(v >> 12) & 63];
    *out++ = base64url_alphabet[(v >> 6) & 63];
    *out++ = base64url_alphabet[v & 63];
  }
  const std::size_t rest = size - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16;
    *out++ = base64url_alphabet[(v >> 18) & 63];
    *out++ = base64url_alphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    *out++ = base64url_alphabet[(v >> 18) & 63];
    *out++ = base64url_alphabet[(v >> 12) & 63];
    *out++ = base64url_alphabet[(v >> 6) & 63];
  }
}

inline void base64url_append(std::string& out, std::string_view bytes) {
  const std::size_t at = out.size();
  out.resize(at + base64url_encoded_size(bytes.size()));
  base64url_encode(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out.data() + at);
}

inline std::string base64url_encode(std::string_view bytes) {
  std::string out;
  base64url_append(out, bytes);
  return out;
}

// Decodes `in` into `out`, which must hold base64url_decoded_size(in.size()) bytes. Returns the number of
// bytes written, or nullopt for an input that is not canonical unpadded base64url.
inline std::optional<std::size_t> base64url_decode(std::string_view in, unsigned char* out) noexcept {
  const auto expected = base64url_decoded_size(in.size());
  if (!expected) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t full = in.size() / 4 * 4;
  std::uint8_t bad = 0;
  std::size_t o = 0;
  for (std::size_t i = 0; i < full; i += 4) {
    const std::uint8_t a = base64url_values[p[i]], b = base64url_values[p[i + 1]],
                       c = base64url_values[p[i + 2]], d = base64url_values[p[i + 3]];
    bad |= a | b | c | d;
    const std::uint32_t v = (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) | (std::uint32_t{c} << 6) | d;
    out[o++] = static_cast<unsigned char>(v >> 16);
    out[o++] = static_cast<unsigned char>(v >> 8);
    out[o++] = static_cast<unsigned char>(v);
  }
  if ((bad & 0xc0) != 0) return std::nullopt;  // 0xff marks a character outside the alphabet
  const std::size_t rest = in.size() - full;
  if (rest == 2) {
    const std::uint8_t a = base64url_values[p[full]], b = base64url_values[p[full + 1]];
    if (((a | b) & 0xc0) != 0 || (b & 0x0f) != 0) return std::nullopt;  // unused low bits must be zero
    out[o++] = static_cast<unsigned char>((a << 2) | (b >> 4));
  } else if (rest == 3) {
    const std::uint8_t a = base64url_values[p[full]], b = base64url_values[p[full + 1]],
                       c = base64url_values[p[full + 2]];
    if (((a | b | c) & 0xc0) != 0 || (c & 0x03) != 0) return std::nullopt;
    out[o++] = static_cast<unsigned char>((a << 2) | (b >> 4));
    out[o++] = static_cast<unsigned char>((b << 4) | (c >> 2));
  }
  return o;
}

// Convenience for cold paths (keys, tests): nullopt when invalid.
inline std::optional<std::string> base64url_decode(std::string_view in) {
  const auto size = base64url_decoded_size(in.size());
  if (!size) return std::nullopt;
  std::string out(*size, '\0');
  const auto n = base64url_decode(in, reinterpret_cast<unsigned char*>(out.data()));
  if (!n) return std::nullopt;
  out.resize(*n);
  return out;
}

}  // namespace detail
}  // namespace auth
}  // namespace v0
}  // namespace keel
