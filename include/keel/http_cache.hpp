// keel/http_cache.hpp: HTTP caching for handlers. Entity tags (strong and weak, or a hash of the body),
// Last-Modified, Cache-Control values, and conditional GETs: If-None-Match / If-Modified-Since answer 304
// with the same rules keel::static_files uses (keel/http/conditional.hpp).
//
//   app.get("/articles/{id}", [](keel::request_context& ctx, int id) {
//     const article a = load(id);
//     keel::cache_validators v{keel::etag_of(a.body), keel::unix_seconds(a.updated),
//                              keel::cache_control().public_().max_age(std::chrono::minutes(5)).str()};
//     return keel::conditional_response(ctx, v, [&] { return keel::response(keel::http::status::ok, a.body);
//     });
//   });
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/http/conditional.hpp"
#include "keel/http/date.hpp"
#include "keel/http/method.hpp"
#include "keel/http/request.hpp"
#include "keel/http/response.hpp"
#include "keel/http/status.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace keel {
inline namespace v0 {

// A strong entity tag around `opaque` (which must not contain '"'): "\"v42\"".
inline std::string strong_etag(std::string_view opaque) {
  std::string t;
  t.reserve(opaque.size() + 2);
  t.push_back('"');
  t.append(opaque);
  t.push_back('"');
  return t;
}
// A weak one: W/"v42" (same meaning, not byte-for-byte the same: no ranges on it).
inline std::string weak_etag(std::string_view opaque) { return "W/" + strong_etag(opaque); }

// An entity tag from the bytes of a representation (64-bit FNV-1a, hex): the same body, the same tag.
inline std::string etag_of(std::string_view body, bool weak = false) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : body) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  static constexpr char hex[] = "0123456789abcdef";
  char text[16];
  for (int i = 15; i >= 0; --i, h >>= 4) text[i] = hex[h & 0xf];
  const std::string_view opaque(text, sizeof text);
  return weak ? weak_etag(opaque) : strong_etag(opaque);
}

inline std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A Cache-Control value: cache_control().public_().max_age(std::chrono::hours(1)).immutable().str()
class cache_control {
 public:
  cache_control& public_() { return add("public"); }
  cache_control& private_() { return add("private"); }
  cache_control& no_cache() { return add("no-cache"); }
  cache_control& no_store() { return add("no-store"); }
  cache_control& must_revalidate() { return add("must-revalidate"); }
  cache_control& immutable() { return add("immutable"); }
  cache_control& max_age(std::chrono::seconds s) { return add_seconds("max-age=", s); }
  cache_control& s_maxage(std::chrono::seconds s) { return add_seconds("s-maxage=", s); }
  cache_control& stale_while_revalidate(std::chrono::seconds s) {
    return add_seconds("stale-while-revalidate=", s);
  }
  const std::string& str() const noexcept { return value_; }

 private:
  cache_control& add(std::string_view directive) {
    if (!value_.empty()) value_.append(", ");
    value_.append(directive);
    return *this;
  }
  cache_control& add_seconds(std::string_view directive, std::chrono::seconds s) {
    add(directive);
    value_.append(std::to_string(s.count() < 0 ? 0 : s.count()));
    return *this;
  }
  std::string value_;
};

// What a response says about its representation; empty / negative fields are left out.
struct cache_validators {
  std::string etag;                 // a whole entity tag: strong_etag(), weak_etag() or etag_of()
  std::int64_t last_modified = -1;  // Unix seconds (unix_seconds()); -1: none
  std::string cache_control;        // cache_control().str(), or a literal value
};

// Whether the request's If-None-Match (else If-Modified-Since) says the client's copy is current. Only GET
// and HEAD are answered 304; other methods are never "fresh" here.
inline bool is_fresh(const http::request& req, const cache_validators& v) {
  if (req.method != http::method::get && req.method != http::method::head) return false;
  return detail::client_copy_is_current(req.header("If-None-Match"), req.header("If-Modified-Since"), v.etag,
                                        v.last_modified);
}

// Adds ETag, Last-Modified and Cache-Control (those that are set) to `res`.
inline void apply_validators(response& res, const cache_validators& v) {
  if (!v.etag.empty()) res.set_header("ETag", v.etag);
  if (v.last_modified >= 0) {
    char date[http::imf_fixdate_size];
    http::format_imf_fixdate(v.last_modified, date);
    res.set_header("Last-Modified", std::string_view(date, sizeof date));
  }
  if (!v.cache_control.empty()) res.set_header("Cache-Control", v.cache_control);
}

// 304 Not Modified with the validators (no body) when the request is fresh; otherwise make() (returning a
// keel::response), with the validators added. make() does not run for a 304.
template <class F>
response conditional_response(const request_context& ctx, const cache_validators& v, F&& make) {
  if (is_fresh(ctx.request(), v)) {
    response not_modified(http::status::not_modified);
    apply_validators(not_modified, v);
    return not_modified;
  }
  response res = std::forward<F>(make)();
  apply_validators(res, v);
  return res;
}

}  // namespace v0
}  // namespace keel
