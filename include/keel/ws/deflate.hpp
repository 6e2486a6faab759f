// permessage-deflate (RFC 7692) over zlib: raw DEFLATE streams, the 00 00 FF FF tail stripped from each
// compressed message and put back before inflating, a context kept or reset per message as negotiated.
#pragma once

#include "keel/config.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace detail {
namespace ws {

// What the handshake agreed on for one connection.
struct deflate_params {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
};

class deflater {
 public:
  deflater(int window_bits, int level, int mem_level) {
    // Window 8 is not supported by zlib's raw deflate; the handshake never agrees on it.
    ok_ = deflateInit2(&z_, level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  deflater(const deflater&) = delete;
  deflater& operator=(const deflater&) = delete;
  ~deflater() {
    if (ok_) deflateEnd(&z_);
  }
  // Appends the compressed form of `in` (one whole message, tail stripped) to `out`.
  bool compress(std::string_view in, std::string& out, bool reset_after) {
    if (!ok_) return false;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    const std::size_t start = out.size();
    for (;;) {
      const std::size_t have = out.size();
      const std::size_t room = in.size() / 2 + 64;
      out.resize(have + room);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + have);
      z_.avail_out = static_cast<uInt>(room);
      const int rc = deflate(&z_, Z_SYNC_FLUSH);
      out.resize(have + room - z_.avail_out);
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
      if (z_.avail_in == 0 && z_.avail_out != 0) break;
    }
    // A sync flush ends with an empty stored block, 00 00 FF FF: the receiver adds it back.
    if (out.size() - start >= 4 && out.compare(out.size() - 4, 4, std::string_view("\0\0\xff\xff", 4)) == 0)
      out.resize(out.size() - 4);
    if (out.size() == start) out.push_back('\0');  // an empty message still needs one byte
    if (reset_after) deflateReset(&z_);
    return true;
  }

 private:
  z_stream z_{};
  bool ok_ = false;
};

enum class inflate_status : std::uint8_t { ok, too_big, bad_data };

class inflater {
 public:
  inflater() {
    // The largest window: a peer that agreed on a smaller one stays inside it.
    ok_ = inflateInit2(&z_, -15) == Z_OK;
  }
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;
  ~inflater() {
    if (ok_) inflateEnd(&z_);
  }
  // Inflates one piece of a compressed message onto `out`; the output may not make `out` longer than
  // `limit` (a deflate bomb is stopped as soon as it passes the limit, not after it expanded).
  inflate_status feed(const char* data, std::size_t n, std::string& out, std::size_t limit) {
    if (!ok_) return inflate_status::bad_data;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z_.avail_in = static_cast<uInt>(n);
    for (;;) {
      const std::size_t have = out.size();
      if (have >= limit + 1) return inflate_status::too_big;
      std::size_t room = std::max<std::size_t>(n * 2, 1024);
      room = std::min(room, limit + 1 - have);
      out.resize(have + room);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + have);
      z_.avail_out = static_cast<uInt>(room);
      const int rc = inflate(&z_, Z_SYNC_FLUSH);
      out.resize(have + room - z_.avail_out);
      if (out.size() > limit) return inflate_status::too_big;
      if (rc == Z_STREAM_END) {
        // A final block: what follows is not part of a stream; only the tail may come.
        if (z_.avail_in != 0) return inflate_status::bad_data;
        inflateReset(&z_);
        break;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) return inflate_status::bad_data;
      if (z_.avail_out != 0) break;  // all input taken and all output given (or no progress without input)
    }
    return inflate_status::ok;
  }
  // The end of a message: feeds the stripped 00 00 FF FF back.
  inflate_status finish(std::string& out, std::size_t limit, bool reset_after) {
    static constexpr char tail[4] = {0, 0, '\xff', '\xff'};
    const inflate_status s = feed(tail, 4, out, limit);
    if (reset_after) inflateReset(&z_);
    return s;
  }
  void reset() {
    if (ok_) inflateReset(&z_);
  }

 private:
  z_stream z_{};
  bool ok_ = false;
};

}  // namespace ws
}  // namespace detail
}  // namespace v0
}  // namespace keel
