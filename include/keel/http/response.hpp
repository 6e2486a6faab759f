// keel::response: status, headers and body of one HTTP response.
//
// The connection keeps one response per request slot and reuses it, so its buffers keep their capacity and a
// steady-state request allocates nothing. Content-Length, Date, Server and Connection are written by the
// response writer, never stored here: the writer is the only place that can get them right.
#pragma once

#include "keel/config.hpp"
#include "keel/http/status.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace keel {
inline namespace v0 {

namespace detail {
constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}
}  // namespace detail

class response {
 public:
  response() = default;
  explicit response(http::status s) : status_(s) {}
  response(http::status s, std::string body, std::string_view content_type = "text/plain; charset=utf-8")
      : status_(s), body_(std::move(body)) {
    this->content_type(content_type);
  }

  // --- status
  http::status status() const { return status_; }
  response& status(http::status s) {
    status_ = s;
    return *this;
  }
  int status_code() const { return http::to_int(status_); }

  // --- headers (kept pre-formatted as "Name: value\r\n" lines, written verbatim; Content-Type is kept apart,
  // since nearly every response sets it and it must never appear twice)
  // Adds a header line. Several lines with the same name are allowed (Set-Cookie). Names the writer owns
  // (Content-Length, Transfer-Encoding, Date, Connection) are ignored: see set_close() for Connection.
  // Content-Type replaces the previous value.
  response& header(std::string_view name, std::string_view value) {
    if (is_content_type(name)) return content_type(value);
    if (is_writer_owned(name)) return *this;
    headers_.append(name).append(": ", 2).append(value).append("\r\n", 2);
    return *this;
  }
  // Replaces every line named `name` with one line (or adds it).
  response& set_header(std::string_view name, std::string_view value) {
    remove_header(name);
    return header(name, value);
  }
  // The first value of header `name` (case-insensitive), or "" when absent.
  std::string_view header(std::string_view name) const {
    if (is_content_type(name)) return content_type();
    std::string_view rest = headers_;
    while (!rest.empty()) {
      auto eol = rest.find("\r\n");
      auto line = rest.substr(0, eol);
      auto colon = line.find(':');
      if (colon != std::string_view::npos && detail::iequals(line.substr(0, colon), name)) {
        auto v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        return v;
      }
      rest.remove_prefix(eol + 2);
    }
    return {};
  }
  bool has_header(std::string_view name) const {
    if (is_content_type(name)) return has_content_type_;
    std::string_view rest = headers_;
    while (!rest.empty()) {
      auto eol = rest.find("\r\n");
      auto colon = rest.find(':');
      if (colon < eol && detail::iequals(rest.substr(0, colon), name)) return true;
      rest.remove_prefix(eol + 2);
    }
    return false;
  }
  void remove_header(std::string_view name) {
    if (is_content_type(name)) {
      has_content_type_ = false;
      return;
    }
    std::size_t pos = 0;
    while (pos < headers_.size()) {
      auto eol = headers_.find("\r\n", pos);
      auto colon = headers_.find(':', pos);
      if (colon < eol && detail::iequals(std::string_view(headers_).substr(pos, colon - pos), name)) {
        headers_.erase(pos, eol + 2 - pos);
      } else {
        pos = eol + 2;
      }
    }
  }
  // All header lines, "Name: value\r\n" each, Content-Type first. Builds a copy when a Content-Type is set:
  // writers use content_type() and extra_header_lines() instead.
  std::string_view header_block() const {
    if (!has_content_type_) return headers_;
    const std::string_view type = content_type();
    block_.assign("Content-Type: ").append(type).append("\r\n").append(headers_);
    return block_;
  }
  // The header lines other than Content-Type.
  std::string_view extra_header_lines() const noexcept { return headers_; }

  response& content_type(std::string_view type) {
    const std::size_t n = type.size();
    if (n <= inline_type_capacity) {
      // Copied through a local: `type` may be a view of this response's own value.
      char copy[inline_type_capacity];
      if (n != 0) std::memcpy(copy, type.data(), n);
      if (n != 0) std::memcpy(type_inline_, copy, n);
    } else {
      type_heap_.assign(type.data(), n);
    }
    type_size_ = static_cast<std::uint32_t>(n);
    has_content_type_ = true;
    return *this;
  }
  // The Content-Type value, "" when none is set.
  std::string_view content_type() const noexcept {
    if (!has_content_type_) return {};
    return {type_size_ <= inline_type_capacity ? type_inline_ : type_heap_.data(), type_size_};
  }
  bool has_content_type() const noexcept { return has_content_type_; }

  // --- body
  // Copies `b` (it may be a view of this response's own body).
  response& body(std::string_view b) {
    const auto at = reinterpret_cast<std::uintptr_t>(b.data());
    const auto own = reinterpret_cast<std::uintptr_t>(body_.data());
    if (at >= own && at <= own + body_.size()) {
      body_.assign(b.data(), b.size());
    } else {
      body_.clear();
      body_.append(b.data(), b.size());
    }
    borrowed_ = false;
    return *this;
  }
  response& body(std::string&& b) {
    body_ = std::move(b);
    borrowed_ = false;
    return *this;
  }
  response& body(const char* b) { return body(std::string_view(b)); }
  // Uses `b` as the body without copying it: it must stay valid until the response is written (literals,
  // app-lifetime data). body_buffer() copies it first.
  response& borrow_body(std::string_view b) noexcept {
    borrowed_body_ = b;
    borrowed_ = true;
    return *this;
  }
  std::string_view body() const noexcept { return borrowed_ ? borrowed_body_ : std::string_view(body_); }
  // The body buffer itself, for writers that append (JSON encoders, templates).
  std::string& body_buffer() {
    if (borrowed_) {
      body_.assign(borrowed_body_.data(), borrowed_body_.size());
      borrowed_ = false;
    }
    return body_;
  }

  // --- connection
  // Ask the server to close the connection after this response ("Connection: close").
  response& set_close(bool close = true) {
    close_ = close;
    return *this;
  }
  bool close() const { return close_; }

  // Back to a fresh 200 with no headers and no body, keeping the buffers' capacity.
  void reset() noexcept {
    status_ = http::status::ok;
    close_ = false;
    has_content_type_ = false;
    borrowed_ = false;
    headers_.clear();
    body_.clear();
  }

  // After reset(): gives back the memory of buffers that grew past `keep` bytes (a server reusing this
  // response for another connection keeps only usual-sized ones).
  void release_storage(std::size_t keep) noexcept {
    for (std::string* s : {&headers_, &body_, &type_heap_, &block_})
      if (s->capacity() > keep) std::string().swap(*s);
  }

  // Appends a complete "Name: value\r\n" line as it is, even for a name the writer owns: for the server,
  // which decides those (Connection: keep-alive to an HTTP/1.0 client that keeps its connection).
  void append_owned_header_line(std::string_view line) { headers_.append(line); }

  static response text(std::string body, http::status s = http::status::ok) {
    return response(s, std::move(body), "text/plain; charset=utf-8");
  }
  static response html(std::string body, http::status s = http::status::ok) {
    return response(s, std::move(body), "text/html; charset=utf-8");
  }
  // `body` must already be JSON text.
  static response json_text(std::string body, http::status s = http::status::ok) {
    return response(s, std::move(body), "application/json");
  }
  static response redirect(std::string_view location, http::status s = http::status::found) {
    response r(s);
    r.header("Location", location);
    return r;
  }

 private:
  // Covers every common media type with its parameters ("application/json; charset=utf-8").
  static constexpr std::size_t inline_type_capacity = 62;

  static bool is_content_type(std::string_view name) noexcept {
    return name.size() == 12 && detail::iequals(name, "Content-Type");
  }
  static bool is_writer_owned(std::string_view name) {
    switch (name.size()) {
      case 4:
        return detail::iequals(name, "Date");
      case 10:
        return detail::iequals(name, "Connection");
      case 14:
        return detail::iequals(name, "Content-Length");
      case 17:
        return detail::iequals(name, "Transfer-Encoding");
      default:
        return false;
    }
  }

  http::status status_ = http::status::ok;
  bool close_ = false;
  bool has_content_type_ = false;
  bool borrowed_ = false;
  std::uint32_t type_size_ = 0;
  char type_inline_[inline_type_capacity] = {};
  std::string_view borrowed_body_;
  std::string headers_;
  std::string body_;
  std::string type_heap_;
  mutable std::string block_;  // header_block()'s copy
};

}  // namespace v0
}  // namespace keel
