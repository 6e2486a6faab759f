// WebSocket wire format (RFC 6455 section 5): frame headers, masking, close payloads and the incremental
// UTF-8 check text messages need. Pure functions over bytes: the connection (keel/ws/websocket.hpp) and the
// frame fuzzer (tests/fuzz/ws_frame_fuzz.cpp) share them.
#pragma once

#include "keel/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace keel {
inline namespace v0 {

// Opcodes (RFC 6455 section 5.2).
enum class ws_opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// Close status codes (RFC 6455 section 7.4.1) the server uses or reports.
namespace ws_close {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t no_status = 1005;  // reported only: the peer's close frame had no code
inline constexpr std::uint16_t abnormal = 1006;   // reported only: the connection dropped without a close
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t mandatory_extension = 1010;
inline constexpr std::uint16_t internal_error = 1011;
inline constexpr std::uint16_t service_restart = 1012;
inline constexpr std::uint16_t try_again_later = 1013;
}  // namespace ws_close

namespace detail::ws {

constexpr bool is_control(std::uint8_t opcode) noexcept { return (opcode & 0x8) != 0; }
constexpr bool is_known_opcode(std::uint8_t opcode) noexcept {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xA);
}

// A code a peer may put in a close frame: the registered ones that are not reserved for reporting
// (1004, 1005, 1006, 1015) and the ranges for libraries (3000-3999) and applications (4000-4999).
constexpr bool valid_close_code(std::uint16_t code) noexcept {
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

// One frame's header. `header_bytes` is its length on the wire (2 to 14).
struct frame_header {
  bool fin = false;
  bool rsv1 = false, rsv2 = false, rsv3 = false;
  std::uint8_t opcode = 0;
  bool masked = false;
  std::uint64_t length = 0;
  std::uint8_t mask[4]{};
  std::size_t header_bytes = 0;
};

enum class header_status : std::uint8_t {
  incomplete,  // fewer bytes than the header needs
  ok,
  bad_length,  // a length in the wrong encoding (RFC 6455 5.2: the minimal number of bytes must be used)
               // or with its most significant bit set
};

// Parses a frame header from the first `n` bytes of `p`.
inline header_status parse_header(const unsigned char* p, std::size_t n, frame_header& h) noexcept {
  if (n < 2) return header_status::incomplete;
  h.fin = (p[0] & 0x80) != 0;
  h.rsv1 = (p[0] & 0x40) != 0;
  h.rsv2 = (p[0] & 0x20) != 0;
  h.rsv3 = (p[0] & 0x10) != 0;
  h.opcode = p[0] & 0x0F;
  h.masked = (p[1] & 0x80) != 0;
  const std::uint8_t len7 = p[1] & 0x7F;
  std::size_t need = 2 + (h.masked ? 4 : 0);
  if (len7 == 126) need += 2;
  if (len7 == 127) need += 8;
  if (n < need) return header_status::incomplete;
  std::size_t at = 2;
  if (len7 < 126) {
    h.length = len7;
  } else if (len7 == 126) {
    h.length = (std::uint64_t{p[2]} << 8) | p[3];
    at = 4;
    if (h.length < 126) return header_status::bad_length;
  } else {
    h.length = 0;
    for (int i = 0; i < 8; ++i) h.length = (h.length << 8) | p[2 + i];
    at = 10;
    if (h.length < 65536 || (h.length >> 63) != 0) return header_status::bad_length;
  }
  if (h.masked) {
    std::memcpy(h.mask, p + at, 4);
    at += 4;
  } else {
    std::memset(h.mask, 0, 4);
  }
  h.header_bytes = at;
  return header_status::ok;
}

// Writes an unmasked (server) frame header for a payload of `length` bytes; returns its size (2, 4 or 10).
inline std::size_t write_header(char* out, ws_opcode opcode, std::uint64_t length, bool fin = true,
                                bool rsv1 = false) noexcept {
  out[0] = static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<std::uint8_t>(opcode));
  if (length < 126) {
    out[1] = static_cast<char>(length);
    return 2;
  }
  if (length < 65536) {
    out[1] = 126;
    out[2] = static_cast<char>(length >> 8);
    out[3] = static_cast<char>(length & 0xFF);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<char>((length >> (56 - 8 * i)) & 0xFF);
  return 10;
}
inline constexpr std::size_t max_server_header = 10;

// XORs `n` bytes with the mask, starting at byte `offset` of the frame's payload (so a payload can be
// unmasked in pieces as it arrives).
inline void unmask(char* data, std::size_t n, const std::uint8_t (&mask)[4], std::uint64_t offset) noexcept {
  std::uint8_t key[8];
  for (std::size_t i = 0; i < 8; ++i) key[i] = mask[(offset + i) & 3];
  std::uint64_t word;
  std::memcpy(&word, key, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, data + i, 8);
    v ^= word;
    std::memcpy(data + i, &v, 8);
  }
  for (; i < n; ++i) data[i] = static_cast<char>(data[i] ^ key[i & 7]);
}

// Incremental UTF-8 validation (RFC 3629): bytes go in as they arrive, so a text message split across frames
// (or a code point split across frames) is judged exactly as the whole would be, and an invalid byte is
// reported where it appears rather than at the end of the message.
class utf8_validator {
 public:
  // false as soon as the bytes so far cannot be the start of valid UTF-8.
  bool feed(const unsigned char* p, std::size_t n) noexcept {
    std::size_t i = 0;
    while (i < n) {
      if (need_ == 0) {
        while (i + 8 <= n) {  // runs of ASCII, a word at a time
          std::uint64_t w;
          std::memcpy(&w, p + i, 8);
          if ((w & 0x8080808080808080ULL) != 0) break;
          i += 8;
        }
        if (i == n) break;
        const unsigned char b = p[i++];
        if (b < 0x80) continue;
        if (b < 0xC2 || b > 0xF4) return fail();
        lo_ = 0x80;
        hi_ = 0xBF;
        if (b < 0xE0) {
          need_ = 1;
        } else if (b < 0xF0) {
          need_ = 2;
          if (b == 0xE0) lo_ = 0xA0;  // no overlong 3-byte forms
          if (b == 0xED) hi_ = 0x9F;  // no surrogates
        } else {
          need_ = 3;
          if (b == 0xF0) lo_ = 0x90;  // no overlong 4-byte forms
          if (b == 0xF4) hi_ = 0x8F;  // nothing above U+10FFFF
        }
      } else {
        const unsigned char b = p[i++];
        if (b < lo_ || b > hi_) return fail();
        lo_ = 0x80;
        hi_ = 0xBF;
        --need_;
      }
    }
    return true;
  }
  bool feed(std::string_view s) noexcept {
    return feed(reinterpret_cast<const unsigned char*>(s.data()), s.size());
  }
  // No code point left unfinished.
  bool complete() const noexcept { return need_ == 0; }
  void reset() noexcept { need_ = 0; }

  static bool valid(std::string_view s) noexcept {
    utf8_validator v;
    return v.feed(s) && v.complete();
  }

 private:
  bool fail() noexcept {
    need_ = 0xFF;
    return false;
  }
  std::uint8_t need_ = 0;
  unsigned char lo_ = 0x80, hi_ = 0xBF;
};

}  // namespace detail::ws
}  // namespace v0
}  // namespace keel
