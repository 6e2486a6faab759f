// keel::traceparent: accepts the W3C Trace Context `traceparent` header and keeps its trace id, parent id
// and flags for the request, so log lines (keel::access_log, keel/log.hpp) and handlers see them: the trace
// id as ctx.trace_id() on any keel::request_context, all of it as a `const keel::trace_context&` parameter.
//
//   keel::app{api}.use<keel::request_id, keel::traceparent, keel::access_log>()
//   keel::get<"/x">([](const keel::trace_context& trace) { ... trace.trace_id() ... })
//
// A header that breaks the W3C Trace Context rules (https://www.w3.org/TR/trace-context/#traceparent-header)
// is ignored, as the specification asks: the request then has no trace (trace_context::valid() is false
// and log lines carry no trace id). The rules checked: four '-'-separated fields; a 2-digit lowercase hex
// version other than "ff"; a 32-digit lowercase hex trace id and a 16-digit parent id, neither all zeros;
// 2 hex flag digits; version 00 has exactly those 55 characters, a later version may append "-..." after
// them. Several traceparent headers are ignored too (the value is ambiguous).
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keel {
inline namespace v0 {

// The request's trace, as its traceparent header named it.
class trace_context {
 public:
  bool valid() const noexcept { return valid_; }
  // 32 lowercase hex digits; "" when the request carried no valid traceparent.
  std::string_view trace_id() const noexcept { return valid_ ? std::string_view(trace_id_.data(), 32) : ""; }
  // The caller's span: 16 lowercase hex digits; "" without a valid traceparent.
  std::string_view parent_id() const noexcept {
    return valid_ ? std::string_view(parent_id_.data(), 16) : "";
  }
  std::uint8_t flags() const noexcept { return flags_; }
  bool sampled() const noexcept { return (flags_ & 1u) != 0; }

  // Takes `header` when it is a valid traceparent value; returns whether it was.
  bool parse(std::string_view header) noexcept {
    valid_ = false;
    // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2
    if (header.size() < 55) return false;
    if (!lower_hex(header.substr(0, 2)) || header.substr(0, 2) == "ff") return false;
    if (header[2] != '-' || header[35] != '-' || header[52] != '-') return false;
    const std::string_view trace = header.substr(3, 32), parent = header.substr(36, 16),
                           flags = header.substr(53, 2);
    if (!lower_hex(trace) || !lower_hex(parent) || !lower_hex(flags)) return false;
    if (all_zero(trace) || all_zero(parent)) return false;
    // Version 00 is exactly 55 characters; a future version may add fields after a '-'.
    if (header.substr(0, 2) == "00" ? header.size() != 55 : (header.size() > 55 && header[55] != '-'))
      return false;
    trace.copy(trace_id_.data(), 32);
    parent.copy(parent_id_.data(), 16);
    flags_ = static_cast<std::uint8_t>(hex_value(flags[0]) * 16 + hex_value(flags[1]));
    valid_ = true;
    return true;
  }

 private:
  static constexpr bool lower_hex(std::string_view s) noexcept {
    for (char c : s)
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
  }
  static constexpr bool all_zero(std::string_view s) noexcept {
    for (char c : s)
      if (c != '0') return false;
    return true;
  }
  static constexpr unsigned hex_value(char c) noexcept {
    return c <= '9' ? static_cast<unsigned>(c - '0') : static_cast<unsigned>(c - 'a' + 10);
  }

  std::array<char, 32> trace_id_{};
  std::array<char, 16> parent_id_{};
  std::uint8_t flags_ = 0;
  bool valid_ = false;
};

// The middleware: fills the request's keel::trace_context from its traceparent header.
struct traceparent {
  using state = trace_context;

  template <class Ctx>
  void before(Ctx& ctx) const {
    const http::request& req = ctx.request();
    std::string_view value;
    int seen = 0;
    for (const auto& h : req.headers)
      if (h.name.size() == 11 && detail::iequals(h.name, "traceparent")) {
        value = h.value;
        ++seen;
      }
    trace_context& t = ctx.template state<trace_context>();
    if (seen == 1) t.parse(value);
    ctx.set_trace_id(t.trace_id());
  }
};

}  // namespace v0
}  // namespace keel
