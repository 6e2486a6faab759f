// keel::compress: gzip / brotli response compression, and keel::decompress_requests: gzip / brotli request
// bodies with a limit on the decoded size. Both need zlib and libbrotli: include <keel/compress.hpp> and link
// keel::compress.
//
//   keel::app{api}.use(keel::compress{})                                  // defaults below
//   keel::app{api}.use(keel::compress{.min_size = 256, .brotli_quality = 5},
//                      keel::decompress_requests{.max_bytes = 1 << 20})
//
// keel::compress compresses a buffered response when
//  - the request's Accept-Encoding accepts br or gzip (q-values honoured; br wins a tie),
//  - its Content-Type starts with one of `types` (text, JSON, JavaScript, XML, SVG, WebAssembly by default),
//  - its body has at least `min_size` bytes,
//  - it has no Content-Encoding yet, is not a 206, 204 or 304, and has no `Cache-Control: no-transform`,
// and the result is smaller. Every response that passes the type and size test carries
// `Vary: Accept-Encoding`, compressed or not, so caches keep the variants apart; a strong ETag becomes weak
// when the body is compressed. Streamed responses (keel::stream_writer) of an allowed type are compressed as
// they stream, each write flushed so it decodes at once (not with set_length(): an announced length stays
// exact). Files (keel::file, keel::static_files: their precompressed siblings serve that purpose), ranges and
// upgrades go out as they are.
//
// An app or route without it compiles to the same code as before: nothing in the core knows about it.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/detail/stream_channel.hpp"
#include "keel/error.hpp"
#include "keel/http/response.hpp"
#include "keel/http/status.hpp"
#include "keel/middleware/middleware.hpp"
#include "keel/static_files.hpp"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

namespace detail {

// One deflate stream per thread and level, reset between responses: zlib's ~270 KB of state is allocated
// once per thread instead of once per response.
class gzip_encoder {
 public:
  gzip_encoder() = default;
  gzip_encoder(const gzip_encoder&) = delete;
  gzip_encoder& operator=(const gzip_encoder&) = delete;
  ~gzip_encoder() {
    if (ready_) deflateEnd(&z_);
  }

  // Compresses `in` into `out` (replaced). false on a zlib error.
  bool compress(std::string_view in, int level, std::string& out) {
    if (ready_ && level != level_) {
      deflateEnd(&z_);
      ready_ = false;
    }
    if (!ready_) {
      z_ = {};
      if (deflateInit2(&z_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
      ready_ = true;
      level_ = level;
    } else if (deflateReset(&z_) != Z_OK) {
      return false;
    }
    out.resize(deflateBound(&z_, static_cast<uLong>(in.size())));
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z_, Z_FINISH);
    if (rc != Z_STREAM_END) return false;
    out.resize(z_.total_out);
    return true;
  }

 private:
  z_stream z_{};
  bool ready_ = false;
  int level_ = 0;
};

inline bool brotli_compress(std::string_view in, int quality, std::string& out) {
  std::size_t size = BrotliEncoderMaxCompressedSize(in.size());
  if (size == 0) return false;
  out.resize(size);
  if (!BrotliEncoderCompress(quality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, in.size(),
                             reinterpret_cast<const std::uint8_t*>(in.data()), &size,
                             reinterpret_cast<std::uint8_t*>(out.data())))
    return false;
  out.resize(size);
  return true;
}

enum class decode_result : std::uint8_t { ok, too_large, corrupt };

// Inflates gzip (or zlib) data into `out`, stopping at `limit` decoded bytes.
inline decode_result gunzip(std::string_view in, std::size_t limit, std::string& out) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) return decode_result::corrupt;  // gzip or zlib header
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  out.clear();
  decode_result result = decode_result::corrupt;
  char buf[16384];
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    const int rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t got = sizeof buf - z.avail_out;
    if (out.size() + got > limit) {
      result = decode_result::too_large;
      break;
    }
    out.append(buf, got);
    if (rc == Z_STREAM_END) {
      result = z.avail_in == 0 ? decode_result::ok : decode_result::corrupt;
      break;
    }
    if (rc != Z_OK || (got == 0 && z.avail_in == 0)) break;  // error, or truncated input
  }
  inflateEnd(&z);
  return result;
}

inline decode_result unbrotli(std::string_view in, std::size_t limit, std::string& out) {
  BrotliDecoderState* s = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  if (s == nullptr) return decode_result::corrupt;
  out.clear();
  const std::uint8_t* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
  std::size_t avail_in = in.size();
  decode_result result = decode_result::corrupt;
  std::uint8_t buf[16384];
  for (;;) {
    std::uint8_t* next_out = buf;
    std::size_t avail_out = sizeof buf;
    const BrotliDecoderResult rc =
        BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    const std::size_t got = sizeof buf - avail_out;
    if (out.size() + got > limit) {
      result = decode_result::too_large;
      break;
    }
    out.append(reinterpret_cast<const char*>(buf), got);
    if (rc == BROTLI_DECODER_RESULT_SUCCESS) {
      result = avail_in == 0 ? decode_result::ok : decode_result::corrupt;
      break;
    }
    if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) continue;
    break;  // error, or input ended early
  }
  BrotliDecoderDestroyInstance(s);
  return result;
}

inline bool has_token(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (iequals(trim_ows(list.substr(0, comma)), token)) return true;
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return false;
}

// The encoder of one compressed stream (keel::stream_writer under keel::compress): each write is flushed
// (Z_SYNC_FLUSH / BROTLI_OPERATION_FLUSH), so what the handler wrote decodes at the client before the stream
// ends; a server-sent event is not held back for a bigger block.
class stream_encoder {
 public:
  stream_encoder(bool brotli, int level) : brotli_(brotli) {
    if (brotli_) {
      br_ = BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
      if (br_ == nullptr) throw std::bad_alloc();
      BrotliEncoderSetParameter(br_, BROTLI_PARAM_QUALITY, static_cast<std::uint32_t>(level));
      BrotliEncoderSetParameter(br_, BROTLI_PARAM_LGWIN, 18);
      BrotliEncoderSetParameter(br_, BROTLI_PARAM_MODE, BROTLI_MODE_TEXT);
    } else if (deflateInit2(&z_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::bad_alloc();
    }
  }
  stream_encoder(const stream_encoder&) = delete;
  stream_encoder& operator=(const stream_encoder&) = delete;
  ~stream_encoder() {
    if (brotli_)
      BrotliEncoderDestroyInstance(br_);
    else
      deflateEnd(&z_);
  }

  std::string_view encode(std::string_view in, bool finish) {
    out_.clear();
    return brotli_ ? encode_br(in, finish) : encode_gz(in, finish);
  }

 private:
  std::string_view encode_gz(std::string_view in, bool finish) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    const int mode = finish ? Z_FINISH : Z_SYNC_FLUSH;
    for (;;) {
      const std::size_t had = out_.size();
      const std::size_t room = deflateBound(&z_, z_.avail_in) + 64;
      out_.resize(had + room);
      z_.next_out = reinterpret_cast<Bytef*>(out_.data() + had);
      z_.avail_out = static_cast<uInt>(room);
      const int rc = deflate(&z_, mode);
      out_.resize(had + room - z_.avail_out);
      if (rc == Z_STREAM_END || (!finish && z_.avail_in == 0 && z_.avail_out != 0)) break;
      if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("keel::compress: deflate failed");
    }
    return out_;
  }
  std::string_view encode_br(std::string_view in, bool finish) {
    const std::uint8_t* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    std::size_t avail_in = in.size();
    const BrotliEncoderOperation op = finish ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_FLUSH;
    for (;;) {
      const std::size_t had = out_.size();
      const std::size_t room = avail_in + 1024;
      out_.resize(had + room);
      std::uint8_t* next_out = reinterpret_cast<std::uint8_t*>(out_.data() + had);
      std::size_t avail_out = room;
      if (!BrotliEncoderCompressStream(br_, op, &avail_in, &next_in, &avail_out, &next_out, nullptr))
        throw std::runtime_error("keel::compress: brotli failed");
      out_.resize(had + room - avail_out);
      if (avail_in == 0 && !BrotliEncoderHasMoreOutput(br_) && (!finish || BrotliEncoderIsFinished(br_)))
        break;
    }
    return out_;
  }

  bool brotli_;
  z_stream z_{};
  BrotliEncoderState* br_ = nullptr;
  std::string out_;
};

template <class Layer>
struct compress_stream_filter {
  static void* start(const void* layer, void* ctx, bool length_declared) {
    return static_cast<const Layer*>(layer)->start_stream(*static_cast<request_context*>(ctx),
                                                          length_declared);
  }
  static std::string_view encode(void* encoder, std::string_view in, bool finish) {
    return static_cast<stream_encoder*>(encoder)->encode(in, finish);
  }
  static void release(void* encoder) noexcept { delete static_cast<stream_encoder*>(encoder); }
  static constexpr stream_filter filter{&start, &encode, &release};
};

}  // namespace detail

struct compress {
  // Content-Type prefixes that are compressed (case-insensitive); anything else goes out as it is.
  std::vector<std::string> types = {"text/",           "application/json",          "application/javascript",
                                    "application/xml", "application/manifest+json", "application/wasm",
                                    "image/svg+xml",   "application/problem+json"};
  std::size_t min_size = 1024;  // smaller bodies gain little and cost a deflate/brotli setup
  int gzip_level = 6;           // 1..9
  int brotli_quality = 4;       // 0..11: 4-5 is the usual choice for dynamic responses
  bool gzip = true;
  bool brotli = true;
  // Streamed bodies (keel::stream_writer) of an allowed type are compressed as they stream, each write
  // flushed; one without set_length() only (an announced length stays exact). Each such stream holds its own
  // encoder while it runs (zlib: ~270 KB; brotli at the quality above with a 256 KiB window: ~1 MB).
  bool streams = true;

  void before(request_context& ctx) const {
    if (!streams) return;
    if (detail::stream_channel* ch = detail::context_access::channel(ctx)) {
      ch->filter = &detail::compress_stream_filter<compress>::filter;
      ch->filter_layer = this;
    }
  }

  void after(request_context& ctx) const {
    if (detail::stream_channel* ch = detail::context_access::channel(ctx); ch && ch->filter_layer == this) {
      ch->filter = nullptr;  // a stream that started keeps its encoder until it ends
      ch->filter_layer = nullptr;
    }
    const detail::body_kind kind = detail::context_access::kind(ctx);
    if (kind != detail::body_kind::buffered && kind != detail::body_kind::request_body) return;
    response& res = ctx.response();
    if (!transformable(res) || res.body().size() < min_size) return;
    const int coding = negotiate(ctx.request(), res);
    if (coding == 0) return;
    thread_local std::string out;
    thread_local detail::gzip_encoder gz;
    const std::string_view body = res.body();
    const bool ok =
        coding == 2 ? detail::brotli_compress(body, brotli_quality, out) : gz.compress(body, gzip_level, out);
    if (!ok || out.size() >= body.size()) return;
    out.swap(res.body_buffer());  // the old body's buffer becomes this thread's next output buffer
    mark_encoded(res, coding);
  }

  // A stream's first write: whether (and how) its body is compressed. Called through the stream filter.
  void* start_stream(request_context& ctx, bool length_declared) const {
    response& res = ctx.response();
    if (length_declared || !transformable(res)) return nullptr;
    const int coding = negotiate(ctx.request(), res);
    if (coding == 0) return nullptr;
    auto* encoder = new detail::stream_encoder(coding == 2, coding == 2 ? brotli_quality : gzip_level);
    mark_encoded(res, coding);
    return encoder;
  }

  bool type_allowed(std::string_view type) const noexcept {
    for (const std::string& t : types)
      if (type.size() >= t.size() && detail::iequals(type.substr(0, t.size()), t)) return true;
    return false;
  }

 private:
  // Whether the response may be compressed at all (status, type, an encoding of its own, no-transform).
  bool transformable(const response& res) const noexcept {
    const int code = res.status_code();
    if (code < 200 || code == 204 || code == 206 || code == 304) return false;
    if (!type_allowed(res.content_type()) || res.has_header("Content-Encoding")) return false;
    return !detail::has_token(res.header("Cache-Control"), "no-transform");
  }
  // Adds Vary: Accept-Encoding, then picks the coding the request accepts: 2 brotli, 1 gzip, 0 none.
  int negotiate(const http::request& req, response& res) const {
    if (!detail::has_token(res.header("Vary"), "Accept-Encoding") && res.header("Vary") != "*")
      res.header("Vary", "Accept-Encoding");
    if (!req.headers.contains("Accept-Encoding")) return 0;
    const std::string_view accept = req.header("Accept-Encoding");
    const int qbr = brotli ? detail::accept_encoding_q(accept, "br") : 0;
    const int qgz = gzip ? detail::accept_encoding_q(accept, "gzip") : 0;
    if (qbr <= 0 && qgz <= 0) return 0;
    return qbr > 0 && qbr >= qgz ? 2 : 1;
  }
  static void mark_encoded(response& res, int coding) {
    res.header("Content-Encoding", coding == 2 ? "br" : "gzip");
    const std::string_view etag = res.header("ETag");
    if (!etag.empty() && !etag.starts_with("W/")) {
      std::string weak = "W/" + std::string(etag);
      res.set_header("ETag", weak);
    }
  }
};

// Decodes request bodies sent with `Content-Encoding: gzip` (or x-gzip, deflate as zlib data) or `br` before
// the handler sees them: the handler reads the decoded body (ctx.request().body, keel::json<T>, ...). More
// than `max_bytes` decoded is a 413 (a small body can inflate to gigabytes), undecodable data a 400, another
// coding a 415. Only buffered bodies are decoded: a keel::body_stream route reads the bytes as sent. The
// decoded body lives in the request's state (keel::decoded_body); use it app-wide.
struct decoded_body {
  std::string bytes;
};

struct decompress_requests {
  using state = decoded_body;
  std::size_t max_bytes = std::size_t(8) << 20;

  template <class Ctx>
  flow before(Ctx& ctx) const {
    http::request& req = ctx.request();
    const std::string_view coding = detail::trim_ows(req.header("Content-Encoding"));
    if (coding.empty() || detail::iequals(coding, "identity")) return flow::next;
    if (req.body.empty()) return flow::next;  // streamed (or empty): left alone
    std::string& out = ctx.template state<decoded_body>().bytes;
    detail::decode_result r;
    if (detail::iequals(coding, "gzip") || detail::iequals(coding, "x-gzip") ||
        detail::iequals(coding, "deflate")) {
      r = detail::gunzip(req.body, max_bytes, out);
    } else if (detail::iequals(coding, "br")) {
      r = detail::unbrotli(req.body, max_bytes, out);
    } else {
      ctx.fail(http_error(http::status::unsupported_media_type, "unsupported Content-Encoding",
                          "unsupported_content_encoding")
                   .with_header("Accept-Encoding", "gzip, br"));
      return flow::respond;
    }
    if (r == detail::decode_result::too_large) {
      ctx.fail(http_error(http::status::payload_too_large, "the decoded request body is too large"));
      return flow::respond;
    }
    if (r == detail::decode_result::corrupt) {
      ctx.fail(
          http_error(http::status::bad_request, "the request body does not decode", "bad_content_encoding"));
      return flow::respond;
    }
    req.body = out;
    return flow::next;
  }
};

}  // namespace v0
}  // namespace keel
