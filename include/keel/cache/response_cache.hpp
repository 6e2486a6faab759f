// keel::cache::response_cache: a middleware that keeps whole GET responses in memory and answers repeats
// without running the handler. Keyed by method, path and query (so by route and parameters), plus the request
// headers the response names in Vary (learned from the first response of a target) and the ones configured.
// Explicit invalidation per target or all at once.
//
//   keel::cache::response_cache pages({.ttl = std::chrono::seconds(30)});
//   keel::app{api}.use(pages);                   // copies share one store
//   pages.invalidate("/articles/7");             // after the article changed (every Vary variant)
//
// Stored: GET answers with status 200, a buffered body (not files or streams), no Set-Cookie, no
// Cache-Control no-store / private, no Vary: *. HEAD is answered from a GET's entry.
#pragma once

#include "keel/cache/memory_store.hpp"
#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/http/method.hpp"
#include "keel/http/response.hpp"
#include "keel/http/status.hpp"
#include "keel/middleware/middleware.hpp"

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel {
inline namespace v0 {
namespace cache {

struct response_cache_options {
  std::chrono::milliseconds ttl{std::chrono::seconds(60)};
  std::size_t max_bytes = 32u << 20;
  // Request headers always part of the key (besides those the responses name in Vary).
  std::vector<std::string> vary = {};
};

namespace detail {

struct response_cache_shared {
  explicit response_cache_shared(std::size_t max_bytes) : store(memory_options{max_bytes, 16}) {}
  memory_store store;
  std::atomic<std::uint64_t> generation{0};  // bumped by invalidate_all()
};

// Serialized entry: "<status> <content-type length> <header-lines length>\n" content-type header-lines body.
inline std::string pack_response(const response& r) {
  std::string out = std::to_string(r.status_code());
  out.append(" ").append(std::to_string(r.content_type().size()));
  out.append(" ").append(std::to_string(r.extra_header_lines().size())).append("\n");
  out.append(r.content_type()).append(r.extra_header_lines()).append(r.body());
  return out;
}

inline bool unpack_response(std::string_view in, response& r) {
  int status = 0;
  std::size_t type_len = 0, headers_len = 0;
  const char* p = in.data();
  const char* end = in.data() + in.size();
  auto field = [&](auto& v) {
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc{} || next == end) return false;
    p = next + 1;
    return true;
  };
  if (!field(status) || !field(type_len) || !field(headers_len)) return false;
  std::string_view rest(p, static_cast<std::size_t>(end - p));
  if (rest.size() < type_len + headers_len) return false;
  r.status(static_cast<http::status>(status));
  if (type_len != 0) r.content_type(rest.substr(0, type_len));
  std::string_view lines = rest.substr(type_len, headers_len);
  while (!lines.empty()) {
    const std::size_t eol = lines.find("\r\n");
    const std::string_view line = lines.substr(0, eol);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      r.header(line.substr(0, colon), value);
    }
    lines = eol == std::string_view::npos ? std::string_view{} : lines.substr(eol + 2);
  }
  r.body(std::string(rest.substr(type_len + headers_len)));
  return true;
}

}  // namespace detail

// Per request: whether this answer came from the cache (so after() does not store it again).
struct response_cache_state {
  bool hit = false;
};

class response_cache {
 public:
  using state = response_cache_state;

  explicit response_cache(response_cache_options options = {})
      : options_(std::move(options)),
        shared_(std::make_shared<detail::response_cache_shared>(options_.max_bytes)) {}

  template <class Ctx>
  flow before(Ctx& ctx) const {
    const http::request& req = ctx.request();
    if (req.method != http::method::get && req.method != http::method::head) return flow::next;
    const std::optional<std::string> spec =
        shared_->store.lookup(spec_key(req.target), memory_store::clock::now());
    if (!spec) return flow::next;
    const std::optional<std::string> entry =
        shared_->store.lookup(entry_key(req, *spec), memory_store::clock::now());
    if (!entry || !detail::unpack_response(*entry, ctx.response())) return flow::next;
    ctx.template state<response_cache_state>().hit = true;
    return flow::respond;
  }

  template <class Ctx>
  void after(Ctx& ctx) const {
    const http::request& req = ctx.request();
    if (ctx.template state<response_cache_state>().hit || req.method != http::method::get) return;
    const response& res = ctx.response();
    if (res.status() != http::status::ok ||
        ::keel::detail::context_access::kind(ctx) != ::keel::detail::body_kind::buffered)
      return;
    if (res.has_header("Set-Cookie")) return;
    const std::string_view cc = res.header("Cache-Control");
    if (cc.find("no-store") != std::string_view::npos || cc.find("private") != std::string_view::npos) return;
    const std::string_view vary = res.header("Vary");
    if (vary.find('*') != std::string_view::npos) return;
    // The spec of a target: its invalidation count, then the Vary header names ("3|Accept-Encoding,...").
    const std::string skey = spec_key(req.target);
    std::optional<std::string> old = shared_->store.lookup(skey, memory_store::clock::now());
    std::string spec = old ? std::string(std::string_view(*old).substr(0, old->find('|'))) : "0";
    spec.push_back('|');
    spec.append(vary);
    shared_->store.store(skey, spec, std::chrono::milliseconds(0), memory_store::clock::now());
    shared_->store.store(entry_key(req, spec), detail::pack_response(res), options_.ttl,
                         memory_store::clock::now());
  }

  // Drops every stored variant of `target` (path and query as requested, e.g. "/articles/7?full=1").
  void invalidate(std::string_view target) const {
    const std::string skey = spec_key(target);
    std::optional<std::string> old = shared_->store.lookup(skey, memory_store::clock::now());
    if (!old) return;
    const std::size_t bar = old->find('|');
    std::uint64_t count = 0;
    std::from_chars(old->data(), old->data() + bar, count);
    std::string spec = std::to_string(count + 1);
    spec.append(std::string_view(*old).substr(bar));
    shared_->store.store(skey, spec, std::chrono::milliseconds(0), memory_store::clock::now());
  }
  // Drops everything.
  void invalidate_all() const { ++shared_->generation; }

  std::size_t bytes() const { return shared_->store.bytes(); }

 private:
  std::string spec_key(std::string_view target) const {
    std::string k = "s";
    k.append(std::to_string(shared_->generation.load())).append("|").append(target);
    return k;
  }

  std::string entry_key(const http::request& req, std::string_view spec) const {
    std::string k = "e";
    k.append(std::to_string(shared_->generation.load())).append("|").append(req.target).append("|");
    const std::size_t bar = spec.find('|');
    k.append(spec.substr(0, bar));
    auto add = [&](std::string_view name) {
      while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
      if (name.empty()) return;
      k.append("\n").append(name).append("=").append(req.header(name));
    };
    std::string_view names = spec.substr(bar + 1);
    while (!names.empty()) {
      const std::size_t comma = names.find(',');
      add(names.substr(0, comma));
      names = comma == std::string_view::npos ? std::string_view{} : names.substr(comma + 1);
    }
    for (const std::string& name : options_.vary) add(name);
    return k;
  }

  response_cache_options options_;
  std::shared_ptr<detail::response_cache_shared> shared_;
};

}  // namespace cache
}  // namespace v0
}  // namespace keel
