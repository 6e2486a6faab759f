// A WebSocket client over raw_client for conformance tests: writes the frames a test asks for, byte by byte
// as RFC 6455 lays them out (masked or not, any opcode, reserved bits, 7/16/64-bit lengths), and reads the
// server's frames back.
#pragma once

#include "raw_client.hpp"

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace keel_test {

struct ws_frame_in {
  bool fin = false;
  bool rsv1 = false;
  std::uint8_t opcode = 0;
  std::string payload;
  std::uint16_t close_code() const {
    return payload.size() >= 2 ? static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                                            static_cast<unsigned char>(payload[1]))
                               : 0;
  }
};

struct ws_frame_out {
  std::uint8_t opcode = 1;
  std::string_view payload;
  bool fin = true;
  bool mask = true;
  bool rsv1 = false, rsv2 = false, rsv3 = false;
  int length_bytes = 0;  // 0: minimal; 2 or 8 to force the 16/64-bit form
};

inline std::string encode_frame(const ws_frame_out& f) {
  std::string out;
  out.push_back(static_cast<char>((f.fin ? 0x80 : 0) | (f.rsv1 ? 0x40 : 0) | (f.rsv2 ? 0x20 : 0) |
                                  (f.rsv3 ? 0x10 : 0) | (f.opcode & 0x0F)));
  const std::uint64_t n = f.payload.size();
  const char m = f.mask ? static_cast<char>(0x80) : 0;
  if (f.length_bytes == 0 && n < 126) {
    out.push_back(static_cast<char>(m | static_cast<char>(n)));
  } else if (f.length_bytes == 2 || (f.length_bytes == 0 && n < 65536)) {
    out.push_back(static_cast<char>(m | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(m | 127));
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (56 - 8 * i)) & 0xFF));
  }
  const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  if (f.mask) out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < f.payload.size(); ++i)
    out.push_back(f.mask ? static_cast<char>(f.payload[i] ^ key[i & 3]) : f.payload[i]);
  return out;
}

inline std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xFF));
  p.append(reason);
  return p;
}

class ws_client {
 public:
  static constexpr std::string_view sample_key = "dGhlIHNhbXBsZSBub25jZQ==";

  ws_client(std::uint16_t port, int timeout_ms = 5000) : c_("127.0.0.1", port, timeout_ms) {}

  // Sends an upgrade request with `extra` header lines ("Name: value\r\n"...); returns the response head.
  std::string handshake(std::string_view path = "/echo", std::string_view extra = {}) {
    std::string req = "GET " + std::string(path) +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: " +
                      std::string(sample_key) + "\r\nSec-WebSocket-Version: 13\r\n" + std::string(extra) +
                      "\r\n";
    return raw_request(req);
  }
  // Sends `req` as is and returns the response head (and, for a non-101 answer, its body after it).
  std::string raw_request(std::string_view req) {
    if (!c_.send(req)) return {};
    if (!c_.read_until("\r\n\r\n")) return c_.take();
    std::string all = c_.take();
    const std::size_t end = all.find("\r\n\r\n") + 4;
    std::string head = all.substr(0, end);
    buffer_ = all.substr(end);
    if (!head.starts_with("HTTP/1.1 101")) {
      const auto cl = head.find("Content-Length: ");
      if (cl != std::string::npos) {
        const std::size_t len = std::stoul(head.substr(cl + 16));
        while (buffer_.size() < len && fill()) {
        }
        head += buffer_;
      }
    }
    return head;
  }

  bool send(const ws_frame_out& f) { return c_.send(encode_frame(f)); }
  bool send_raw(std::string_view bytes) { return c_.send(bytes); }
  bool text(std::string_view s) { return send({.opcode = 1, .payload = s}); }
  bool binary(std::string_view s) { return send({.opcode = 2, .payload = s}); }
  bool close(std::uint16_t code, std::string_view reason = {}) {
    const std::string p = close_payload(code, reason);
    return send({.opcode = 8, .payload = p});
  }

  // The next frame from the server; nullopt when the connection closed or the read timed out.
  std::optional<ws_frame_in> read() {
    for (;;) {
      if (buffer_.size() >= 2) {
        const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data());
        std::size_t need = 2;
        const unsigned len7 = p[1] & 0x7F;
        std::uint64_t len = len7;
        if (len7 == 126) need = 4;
        if (len7 == 127) need = 10;
        if (buffer_.size() >= need) {
          if (len7 == 126) len = (std::uint64_t{p[2]} << 8) | p[3];
          if (len7 == 127) {
            len = 0;
            for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
          }
          if (buffer_.size() >= need + len) {
            ws_frame_in f;
            f.fin = (p[0] & 0x80) != 0;
            f.rsv1 = (p[0] & 0x40) != 0;
            f.opcode = p[0] & 0x0F;
            f.payload = buffer_.substr(need, len);
            buffer_.erase(0, need + len);
            return f;
          }
        }
      }
      if (!fill()) return std::nullopt;
    }
  }
  // Reads frames until a close frame (returned) or the end; answers nothing.
  std::optional<ws_frame_in> read_until_close() {
    while (auto f = read())
      if (f->opcode == 8) return f;
    return std::nullopt;
  }
  // After the close handshake the server closes the TCP connection.
  bool closed_by_server() {
    std::string rest;
    return c_.read_until_closed(&rest);
  }
  raw_client& raw() { return c_; }

 private:
  bool fill() {
    char chunk[65536];
    const auto n = ::recv(c_.fd(), chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  raw_client c_;
  std::string buffer_;
};

}  // namespace keel_test
