// keel::request_id: gives each request an id (a sane incoming X-Request-ID, else a new one) and echoes it.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"

#include <cstddef>
#include <cstdint>
#include <random>
#include <string_view>

// The id goes into the context, so error bodies and the access log carry it.
//   keel::app{api}.use<keel::request_id>()
//   keel::app{api}.use(keel::request_id{.header = "X-Correlation-ID", .trust_incoming = false})

namespace keel {
inline namespace v0 {

namespace detail {

// An incoming id is kept only when it cannot break a log line or a header: 1..128 of [A-Za-z0-9._:-].
constexpr bool is_sane_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Ids are "<16 hex random>-<hex counter>". The random part is drawn once per thread, so threads never need
// to agree on anything (no atomics, no locks) and ids from different processes or restarts do not collide
// in practice; the counter makes each id on a thread unique.
class request_id_generator {
 public:
  static constexpr std::size_t max_length = 16 + 1 + 16;

  // Writes the next id of this thread into `out` (max_length chars available) and returns its length.
  static std::size_t next(char* out) noexcept {
    thread_local request_id_generator self;
    std::size_t n = 0;
    for (char c : self.prefix_) out[n++] = c;
    out[n++] = '-';
    return n + write_hex(self.counter_++, out + n);
  }

 private:
  request_id_generator() {
    std::random_device rd;
    std::uint64_t r = (std::uint64_t{rd()} << 32) ^ rd();
    for (std::size_t i = 0; i < 16; ++i)
      prefix_[i] = hex_digit(static_cast<unsigned>(r >> (60 - 4 * i)) & 15u);
  }
  static constexpr char hex_digit(unsigned v) noexcept { return "0123456789abcdef"[v]; }
  static std::size_t write_hex(std::uint64_t v, char* out) noexcept {
    char tmp[16];
    std::size_t n = 0;
    do {
      tmp[n++] = hex_digit(static_cast<unsigned>(v & 15u));
      v >>= 4;
    } while (v != 0);
    for (std::size_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
    return n;
  }

  char prefix_[16]{};
  std::uint64_t counter_ = 1;
};

}  // namespace detail

struct request_id {
  // The request and response header that carries the id.
  std::string_view header = "X-Request-ID";
  // Keep a sane incoming id (so one id follows a request through proxies and services). Turn off when
  // clients are untrusted and ids must be unique per server.
  bool trust_incoming = true;

  // A request the session rejects before routing (413, 431, ...) gets an id too: errors carry one always.
  static constexpr bool sees_rejected_requests = true;

  void before(request_context& ctx) const {
    if (trust_incoming) {
      std::string_view incoming = ctx.request().header(header);
      if (detail::is_sane_request_id(incoming)) {
        ctx.set_request_id(incoming);
        return;
      }
    }
    char buf[detail::request_id_generator::max_length];
    ctx.set_request_id({buf, detail::request_id_generator::next(buf)});
  }

  // In after(), not before(): an error answer (ctx.fail) starts a fresh response, and it must carry the id
  // too.
  void after(request_context& ctx) const {
    if (!ctx.request_id().empty()) ctx.response().set_header(header, ctx.request_id());
  }
};

}  // namespace v0
}  // namespace keel
