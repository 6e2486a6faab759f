// keel::http::body_decoder: takes a request body (Content-Length or chunked) apart as its bytes arrive, for
// handlers that read the body in pieces (keel::body_stream) instead of having it buffered whole.
//
// It applies the same framing rules as request_parser (the chunk-size and trailer lines go through the
// parser's own line readers), so a streamed body is refused exactly where a buffered one would be. Trailer
// fields are validated and counted against max_header_bytes but not kept: nothing holds them while the body
// is read in a moving window.
#pragma once

#include "keel/config.hpp"
#include "keel/http/parser.hpp"
#include "keel/http/status.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace http {

class body_decoder {
 public:
  enum class state : std::uint8_t { data, chunk_line, chunk_end, trailers, done, failed };

  struct step {
    std::size_t consumed = 0;  // input bytes used (framing and data)
    std::string_view data;     // body bytes found, a view into the input
  };

  void start_fixed(std::uint64_t length, std::uint64_t limit) noexcept {
    *this = body_decoder{};
    limit_ = limit;
    remaining_ = length;
    state_ = length == 0 ? state::done : state::data;
  }
  // `max_trailer_fields`: the header fields the request may still have (max_headers minus those of its head).
  void start_chunked(std::uint64_t limit, std::size_t max_trailer_bytes,
                     std::size_t max_trailer_fields) noexcept {
    *this = body_decoder{};
    limit_ = limit;
    chunked_ = true;
    max_trailer_bytes_ = max_trailer_bytes;
    max_trailer_fields_ = max_trailer_fields;
    state_ = state::chunk_line;
  }

  // Decodes from the start of [p, p + n): framing is consumed until the next body bytes, which are returned
  // (as many as there are, up to the end of the current chunk). An empty `data` with consumed < n never
  // happens unless the body is done or failed; with consumed == n more input is needed.
  step next(const char* p, std::size_t n) noexcept {
    step out;
    const char* const end = p + n;
    while (p != end || state_ == state::data) {
      switch (state_) {
        case state::data: {
          const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, end - p));
          if (take == 0) return out;
          out.data = std::string_view(p, take);
          out.consumed += take;
          remaining_ -= take;
          decoded_ += take;
          if (remaining_ == 0) state_ = chunked_ ? state::chunk_end : state::done;
          return out;
        }
        case state::chunk_line: {
          const auto line = request_parser::parse_chunk_line(p, end);
          if (line.status == parse_status::error) return fail(out, status::bad_request);
          if (line.status == parse_status::incomplete) return out;
          framing_ += static_cast<std::size_t>(line.data - p);
          out.consumed += static_cast<std::size_t>(line.data - p);
          p = line.data;
          if (line.size == 0) {
            state_ = state::trailers;
            break;
          }
          if (line.size > limit_ - decoded_) return fail(out, status::payload_too_large);
          if (framing_ > limit_ + request_parser::max_chunk_framing_slack)
            return fail(out, status::payload_too_large);
          remaining_ = line.size;
          state_ = state::data;
          break;
        }
        case state::chunk_end: {
          if (end - p < 2) return out;  // judged on both bytes, as request_parser does
          if (p[0] != '\r' || p[1] != '\n') return fail(out, status::bad_request);
          p += 2;
          out.consumed += 2;
          framing_ += 2;
          state_ = state::chunk_line;
          break;
        }
        case state::trailers: {
          const auto line = request_parser::parse_field_line(p, end);
          if (line.status == parse_status::error) return fail(out, status::bad_request);
          if (line.status == parse_status::incomplete) {
            if (trailer_bytes_ + static_cast<std::size_t>(end - p) > max_trailer_bytes_)
              return fail(out, status::request_header_fields_too_large);
            return out;
          }
          const auto used = static_cast<std::size_t>(line.next - p);
          trailer_bytes_ += used;
          if (trailer_bytes_ > max_trailer_bytes_) return fail(out, status::request_header_fields_too_large);
          out.consumed += used;
          p = line.next;
          if (line.empty) {
            state_ = state::done;
            return out;
          }
          if (++trailer_fields_ > max_trailer_fields_)
            return fail(out, status::request_header_fields_too_large);
          break;
        }
        case state::done:
        case state::failed:
          return out;
      }
    }
    return out;
  }

  bool done() const noexcept { return state_ == state::done; }
  bool failed() const noexcept { return state_ == state::failed; }
  // The status a failed body answers with (400, 413 or 431).
  http::status error() const noexcept { return error_; }
  std::uint64_t decoded() const noexcept { return decoded_; }

 private:
  step fail(step out, http::status s) noexcept {
    state_ = state::failed;
    error_ = s;
    return out;
  }

  std::uint64_t limit_ = 0;
  std::uint64_t remaining_ = 0;
  std::uint64_t decoded_ = 0;
  std::size_t framing_ = 0;
  std::size_t trailer_bytes_ = 0;
  std::size_t max_trailer_bytes_ = 0;
  std::size_t trailer_fields_ = 0;
  std::size_t max_trailer_fields_ = 0;
  http::status error_ = status::bad_request;
  state state_ = state::done;
  bool chunked_ = false;
};

}  // namespace http
}  // namespace v0
}  // namespace keel
