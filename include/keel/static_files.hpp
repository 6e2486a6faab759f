// keel::static_files: serves a directory under a path prefix.
//
//   auto api = keel::router{
//       keel::get<"/api/hello">([] { return "hi"; }),
//       keel::static_files<"/assets">("./public"),                       // GET/HEAD /assets/...
//       keel::static_files<"/">("./dist", {.spa_fallback = true}),        // everything else (literal routes
//       win)
//   };
//
// It is two routes (Prefix and Prefix/{path...}) in one group: literal routes of the app still win over it,
// middleware attaches with .use<...>() like on any group. What it does:
//  - Content-Type from the extension (a built-in table, `mime_type(ext)`), ETag ("size-mtime", strong) and
//    Last-Modified; If-None-Match / If-Modified-Since answer 304.
//  - Range: one range is a 206 with Content-Range; several (coalesced when they overlap) a
//    multipart/byteranges 206; If-Range; 416 with `Content-Range: bytes */size` when none is satisfiable. A
//    Range header that does not parse is ignored (200, as RFC 9110 allows).
//  - Precompressed siblings: with Accept-Encoding allowing it, `app.js.br` / `app.js.gz` next to `app.js` go
//    out instead (Content-Encoding, Vary: Accept-Encoding, an ETag of their own). br wins a tie of q-values.
//  - A directory serves its index.html (a directory URL without its trailing '/' is redirected, 301);
//    spa_fallback serves the root's index.html for unknown paths whose last segment has no extension.
//  - Cache-Control by glob over the relative path (first match wins).
//  - The file goes out as a file region (sendfile on plain TCP, see keel/file.hpp).
// Refused, always with 404 (a refusal does not tell whether the file exists): a '..' or '.' segment
// (also percent-encoded), an encoded '/' or '\' (%2f, %5c), a raw '\', a NUL byte, dotfiles
// (unless allow_dotfiles), anything whose real path (symlinks resolved) is outside the root. A '%' not
// followed by two hex digits is a 400 from the router. A leading or doubled '/' is not an absolute path: the
// segments stay under the root.
//
// File system calls (realpath, open, fstat, the preads of a multipart body) run on the worker pool through
// keel::offload by default: on a page-cache-warm local disk they take microseconds, but one slow disk or
// network mount would stall every connection of the reactor. `offload_io = false` runs them on the reactor
// thread (measurably faster for small hot files; see benchmarks/RESULTS.md).
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/extract.hpp"
#include "keel/http/conditional.hpp"
#include "keel/http/date.hpp"
#include "keel/http/method.hpp"
#include "keel/http/request.hpp"
#include "keel/http/response.hpp"
#include "keel/http/status.hpp"
#include "keel/http/url.hpp"
#include "keel/offload.hpp"
#include "keel/respond.hpp"
#include "keel/router/fixed_string.hpp"
#include "keel/router/route.hpp"
#include "keel/task.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

struct static_files_options {
  // Cache-Control values by glob over the path relative to the root ('*' matches any run of characters,
  // '/' included; '?' one character). The first match wins; no match: no Cache-Control.
  struct cache_rule {
    std::string pattern;  // "*.html", "assets/*", "*"
    std::string value;    // "no-cache", "public, max-age=31536000, immutable"
  };
  std::vector<cache_rule> cache_control = {};
  std::string index = "index.html";  // served for a directory; "" serves nothing (404)
  bool spa_fallback = false;         // unknown path, no extension in its last segment: the root's index
  bool precompressed = true;         // look for .br / .gz siblings
  bool allow_dotfiles = false;       // serve names starting with '.' (never "." or "..")
  bool offload_io = true;            // file system calls on the worker pool (see above)
  std::size_t max_ranges = 16;       // more ranges than this: the Range header is ignored (200)
  std::uint64_t max_multipart_bytes = std::uint64_t(8) << 20;  // larger multipart bodies: ignored (200)
  // Files of a compressible type (text, JSON, JavaScript, XML, SVG, WebAssembly) below this size, without a
  // precompressed sibling, are read into memory and answered as a buffered body when the client sends
  // Accept-Encoding, so keel::compress can compress them (nginx's `gzip on`). 0: always sendfile.
  std::uint64_t buffer_compressible_below = 0;
};

// The Content-Type for a file extension (without the dot, any case); "application/octet-stream" otherwise.
inline std::string_view mime_type(std::string_view ext) noexcept {
  struct entry {
    std::string_view ext, type;
  };
  static constexpr entry table[] = {
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"webmanifest", "application/manifest+json"},
      {"txt", "text/plain; charset=utf-8"},
      {"md", "text/markdown; charset=utf-8"},
      {"csv", "text/csv; charset=utf-8"},
      {"xml", "application/xml"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"avif", "image/avif"},
      {"ico", "image/x-icon"},
      {"bmp", "image/bmp"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},
      {"otf", "font/otf"},
      {"wasm", "application/wasm"},
      {"pdf", "application/pdf"},
      {"zip", "application/zip"},
      {"gz", "application/gzip"},
      {"br", "application/x-brotli"},
      {"tar", "application/x-tar"},
      {"mp4", "video/mp4"},
      {"webm", "video/webm"},
      {"mp3", "audio/mpeg"},
      {"ogg", "audio/ogg"},
      {"wav", "audio/wav"},
  };
  for (const entry& e : table)
    if (detail::iequals(e.ext, ext)) return e.type;
  return "application/octet-stream";
}

namespace detail {

// '*' any run (also empty), '?' one character, anything else itself.
inline bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// A q-value ("1", "0.5", "0.001") in thousandths; -1 when malformed.
inline int parse_qvalue(std::string_view v) noexcept {
  v = trim_ows(v);
  if (v.empty() || v.size() > 5) return -1;
  if (v[0] == '1') {
    for (std::size_t i = 1; i < v.size(); ++i)
      if ((i == 1 && v[i] != '.') || (i > 1 && v[i] != '0')) return -1;
    return 1000;
  }
  if (v[0] != '0') return -1;
  if (v.size() == 1) return 0;
  if (v[1] != '.') return -1;
  int q = 0, scale = 100;
  for (std::size_t i = 2; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') return -1;
    q += (v[i] - '0') * scale;
    scale /= 10;
  }
  return q;
}

// The q-value (thousandths) Accept-Encoding gives `coding`: its own entry, else "*", else 0 (not
// acceptable). "identity" is acceptable unless refused. Malformed entries are skipped.
inline int accept_encoding_q(std::string_view header, std::string_view coding) noexcept {
  int own = -1, any = -1;
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    std::string_view name = item, params;
    if (const std::size_t semi = item.find(';'); semi != std::string_view::npos) {
      name = item.substr(0, semi);
      params = item.substr(semi + 1);
    }
    name = trim_ows(name);
    int q = 1000;
    params = trim_ows(params);
    if (!params.empty()) {
      if (params.size() < 2 || (params[0] != 'q' && params[0] != 'Q') || params[1] != '=') continue;
      q = parse_qvalue(params.substr(2));
      if (q < 0) continue;
    }
    if (iequals(name, coding) || (iequals(coding, "gzip") && iequals(name, "x-gzip")))
      own = q;
    else if (name == "*")
      any = q;
  }
  if (own >= 0) return own;
  if (any >= 0) return any;
  return iequals(coding, "identity") ? 1 : 0;
}

struct byte_range {
  std::uint64_t first = 0, last = 0;  // inclusive
};
enum class range_parse : std::uint8_t { ignore, unsatisfiable, ok };

// Parses a Range header against a representation of `size` bytes into satisfiable ranges, sorted and
// coalesced (overlapping or adjacent ranges merge). ignore: not a bytes range or malformed (serve 200).
inline range_parse parse_range(std::string_view header, std::uint64_t size, std::size_t max_ranges,
                               std::vector<byte_range>& out) {
  out.clear();
  header = trim_ows(header);
  if (header.size() < 6 || !iequals(header.substr(0, 6), "bytes=")) return range_parse::ignore;
  header.remove_prefix(6);
  std::size_t specs = 0;
  auto number = [](std::string_view t, std::uint64_t& v) {
    if (t.empty() || t.size() > 19) return false;
    v = 0;
    for (const char c : t) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return true;
  };
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    const std::string_view spec = trim_ows(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    if (spec.empty()) continue;  // "bytes=0-1,,2-3": empty list elements are allowed
    if (++specs > max_ranges) return range_parse::ignore;
    const std::size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return range_parse::ignore;
    const std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
    std::uint64_t first = 0, last = 0;
    if (a.empty()) {  // suffix: the last b bytes
      if (!number(b, last)) return range_parse::ignore;
      if (last == 0 || size == 0) continue;
      out.push_back({size - std::min(last, size), size - 1});
      continue;
    }
    if (!number(a, first)) return range_parse::ignore;
    if (b.empty()) {
      last = size == 0 ? 0 : size - 1;
    } else {
      if (!number(b, last) || last < first) return range_parse::ignore;
      if (size != 0 && last >= size) last = size - 1;
    }
    if (first >= size) continue;  // unsatisfiable alone
    out.push_back({first, last});
  }
  if (specs == 0) return range_parse::ignore;
  if (out.empty()) return range_parse::unsatisfiable;
  std::sort(out.begin(), out.end(),
            [](const byte_range& x, const byte_range& y) { return x.first < y.first; });
  std::size_t w = 0;
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].first <= out[w].last + 1) {
      out[w].last = std::max(out[w].last, out[i].last);
    } else {
      out[++w] = out[i];
    }
  }
  out.resize(w + 1);
  return range_parse::ok;
}

// What a static request resolves to, decided on the worker (or the reactor with offload_io = false) and
// written into the response on the reactor.
struct static_plan {
  http::status status = http::status::ok;
  bool fail = false;  // answer with http_error(status) (404, 400, 416)
  int fd = -1;        // send this file region
  std::uint64_t offset = 0, length = 0;
  std::uint64_t size = 0;         // of the representation (for 416's Content-Range)
  std::string_view content_type;  // from the table (static storage)
  std::string_view encoding;      // "br", "gzip" or ""
  bool vary = false;
  bool buffered = false;  // `body` holds the whole file
  std::string etag, last_modified, cache_control, content_range, location, multipart_type, body;

  static_plan() = default;
  static_plan(const static_plan&) = delete;
  static_plan& operator=(const static_plan&) = delete;
  static_plan(static_plan&& o) noexcept
      : status(o.status),
        fail(o.fail),
        fd(std::exchange(o.fd, -1)),
        offset(o.offset),
        length(o.length),
        size(o.size),
        content_type(o.content_type),
        encoding(o.encoding),
        vary(o.vary),
        buffered(o.buffered),
        etag(std::move(o.etag)),
        last_modified(std::move(o.last_modified)),
        cache_control(std::move(o.cache_control)),
        content_range(std::move(o.content_range)),
        location(std::move(o.location)),
        multipart_type(std::move(o.multipart_type)),
        body(std::move(o.body)) {}
  static_plan& operator=(static_plan&&) = delete;
  ~static_plan() {
    if (fd >= 0) ::close(fd);
  }
};

// The request's parts the plan depends on (views into the connection's buffer, which stays put while the
// handler is suspended).
struct static_request {
  std::string_view raw_rest;  // the path below the prefix, still percent-encoded
  std::string_view request_path;
  std::string_view accept_encoding, range, if_range, if_none_match, if_modified_since;
  bool has_accept_encoding = false;
  bool get = true;  // GET or HEAD (ranges only apply to GET, but HEAD answers like GET)
};

struct static_root {
  std::string real;  // realpath of the root, no trailing '/'
  static_files_options options;
};

// Decodes and checks `raw` (the part of the URL below the prefix). Fills `rel` with the cleaned relative
// path ("a/b.css", "" for the root). false: refused.
inline bool clean_relative_path(std::string_view raw, bool allow_dotfiles, std::string& rel) {
  // Encoded separators never split a segment: refused (%2f, %5c), as is a raw backslash.
  for (std::size_t i = 0; i + 2 < raw.size(); ++i) {
    if (raw[i] != '%') continue;
    const char a = raw[i + 1], b = ascii_lower(raw[i + 2]);
    if ((a == '2' && b == 'f') || (a == '5' && b == 'c')) return false;
  }
  std::string decoded;
  if (!http::percent_decode(raw, decoded)) return false;
  rel.clear();
  std::string_view rest = decoded;
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (seg.empty()) continue;
    if (seg == "." || seg == "..") return false;
    if (seg.front() == '.' && !allow_dotfiles) return false;
    for (const char c : seg)
      if (c == '\0' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
    if (!rel.empty()) rel.push_back('/');
    rel.append(seg);
  }
  return true;
}

// realpath(path) when it is `root` or below it; "" otherwise (missing, or outside through a symlink).
inline std::string real_path_within(const std::string& root, const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return {};
  std::string_view r(buf);
  if (r == root || (r.size() > root.size() && r.starts_with(root) && r[root.size()] == '/') || root == "/")
    return std::string(r);
  return {};
}

struct opened_file {
  int fd = -1;
  struct stat st {};
};

// Opens a regular file at `real` (already checked); fd -1 when it is not one.
inline opened_file open_regular(const std::string& real) {
  opened_file f;
  // O_NOFOLLOW: `real` has no symlinks left; one swapped in since realpath() is refused, not followed.
  const int fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return f;
  if (::fstat(fd, &f.st) != 0 || !S_ISREG(f.st.st_mode)) {
    ::close(fd);
    return f;
  }
  f.fd = fd;
  return f;
}

inline std::string_view extension_of(std::string_view name) noexcept {
  const std::size_t slash = name.rfind('/');
  const std::string_view last = slash == std::string_view::npos ? name : name.substr(slash + 1);
  const std::size_t dot = last.rfind('.');
  return dot == std::string_view::npos || dot == 0 ? std::string_view{} : last.substr(dot + 1);
}

inline void append_hex(std::string& out, std::uint64_t v) {
  char buf[16];
  int n = 0;
  do {
    buf[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v != 0);
  while (n > 0) out.push_back(buf[--n]);
}

// Reads [first, last] of fd into out; false on a read error.
inline bool read_range(int fd, byte_range r, std::string& out) {
  std::uint64_t at = r.first;
  const std::uint64_t end = r.last + 1;
  const std::size_t base = out.size();
  out.resize(base + static_cast<std::size_t>(end - at));
  char* p = out.data() + base;
  while (at < end) {
    const ssize_t n = ::pread(fd, p, static_cast<std::size_t>(end - at), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    at += static_cast<std::uint64_t>(n);
  }
  return true;
}

// Whether a response of this type is worth compressing (keel::compress's default list).
inline bool compressible_type(std::string_view type) noexcept {
  for (const std::string_view t :
       {std::string_view("text/"), std::string_view("application/json"),
        std::string_view("application/javascript"), std::string_view("application/xml"),
        std::string_view("application/manifest+json"), std::string_view("application/wasm"),
        std::string_view("image/svg+xml")})
    if (type.starts_with(t)) return true;
  return false;
}

// A 200 with the whole file: read into the body when buffer_compressible_below says so.
inline static_plan whole_file(static_plan&& plan, const static_files_options& opt,
                              const static_request& req) {
  if (plan.size == 0 || plan.size >= opt.buffer_compressible_below || !plan.encoding.empty() ||
      !req.has_accept_encoding || !compressible_type(plan.content_type))
    return std::move(plan);
  plan.status = http::status::ok;
  plan.content_range.clear();
  plan.body.clear();
  if (!read_range(plan.fd, {0, plan.size - 1}, plan.body)) return std::move(plan);  // sendfile it after all
  ::close(std::exchange(plan.fd, -1));
  plan.buffered = true;
  return std::move(plan);
}

// The whole decision for one request: file lookup, conditional headers, ranges, precompressed siblings.
inline static_plan plan_static(const static_root& root, const static_request& req) {
  static_plan plan;
  const static_files_options& opt = root.options;
  auto refuse = [&](http::status s = http::status::not_found) {
    plan.fail = true;
    plan.status = s;
    return std::move(plan);
  };
  std::string rel;
  if (!clean_relative_path(req.raw_rest, opt.allow_dotfiles, rel)) return refuse();
  std::string path = root.real;
  if (!rel.empty()) path.append("/").append(rel);
  std::string real = real_path_within(root.real, path);
  bool spa = false;
  struct stat st {};
  if (!real.empty() && ::stat(real.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    if (!req.request_path.ends_with('/')) {
      plan.status = http::status::moved_permanently;
      // One leading '/': "//host/dir" must not become a protocol-relative redirect to another host.
      std::string_view p = req.request_path;
      while (p.size() > 1 && p[1] == '/') p.remove_prefix(1);
      plan.location = std::string(p) + "/";
      return plan;
    }
    if (opt.index.empty()) return refuse();
    rel = rel.empty() ? opt.index : rel + "/" + opt.index;
    real = real_path_within(root.real, root.real + "/" + rel);
  }
  if (real.empty() && opt.spa_fallback && !opt.index.empty() && extension_of(rel).empty()) {
    rel = opt.index;
    real = real_path_within(root.real, root.real + "/" + rel);
    spa = true;
  }
  if (real.empty()) return refuse();
  opened_file f = open_regular(real);
  if (f.fd < 0) return refuse();
  (void)spa;

  plan.content_type = mime_type(extension_of(rel));
  // Precompressed sibling, by q-value (br first on a tie).
  if (opt.precompressed) {
    plan.vary = true;
    if (req.has_accept_encoding) {
      const int qbr = accept_encoding_q(req.accept_encoding, "br");
      const int qgz = accept_encoding_q(req.accept_encoding, "gzip");
      struct choice {
        std::string_view suffix, coding;
        int q;
      };
      choice order[2] = {{".br", "br", qbr}, {".gz", "gzip", qgz}};
      if (qgz > qbr) std::swap(order[0], order[1]);
      for (const choice& c : order) {
        if (c.q <= 0) continue;
        const std::string sib = real_path_within(root.real, real + std::string(c.suffix));
        if (sib.empty()) continue;
        opened_file g = open_regular(sib);
        if (g.fd < 0) continue;
        ::close(f.fd);
        f = g;
        plan.encoding = c.coding;
        break;
      }
    }
  }
  plan.fd = f.fd;
  const std::uint64_t size = static_cast<std::uint64_t>(f.st.st_size);
  plan.size = size;
  plan.etag = "\"";
  append_hex(plan.etag, size);
  plan.etag.push_back('-');
  append_hex(plan.etag, static_cast<std::uint64_t>(f.st.st_mtim.tv_sec) * 1000000000ull +
                            static_cast<std::uint64_t>(f.st.st_mtim.tv_nsec));
  if (!plan.encoding.empty()) plan.etag.append("-").append(plan.encoding == "br" ? "br" : "gz");
  plan.etag.push_back('"');
  plan.last_modified.resize(http::imf_fixdate_size);
  http::format_imf_fixdate(static_cast<std::int64_t>(f.st.st_mtim.tv_sec), plan.last_modified.data());
  for (const auto& rule : opt.cache_control) {
    if (glob_match(rule.pattern, rel)) {
      plan.cache_control = rule.value;
      break;
    }
  }

  // Conditional requests (RFC 9110 13.2.2): If-None-Match, else If-Modified-Since.
  if (client_copy_is_current(req.if_none_match, req.if_modified_since, plan.etag,
                             static_cast<std::int64_t>(f.st.st_mtim.tv_sec))) {
    plan.status = http::status::not_modified;
    ::close(std::exchange(plan.fd, -1));
    return plan;
  }
  plan.offset = 0;
  plan.length = size;
  if (req.range.empty() || !req.get) return whole_file(std::move(plan), opt, req);
  if (!req.if_range.empty()) {
    const std::string_view ir = trim_ows(req.if_range);
    const bool fresh = ir.starts_with('"') ? ir == plan.etag : ir == plan.last_modified;
    if (!fresh) return whole_file(std::move(plan), opt, req);
  }
  std::vector<byte_range> ranges;
  switch (parse_range(req.range, size, opt.max_ranges, ranges)) {
    case range_parse::ignore:
      return whole_file(std::move(plan), opt, req);
    case range_parse::unsatisfiable:
      ::close(std::exchange(plan.fd, -1));
      plan.fail = true;
      plan.status = http::status::range_not_satisfiable;
      plan.content_range = "bytes */" + std::to_string(size);
      return plan;
    case range_parse::ok:
      break;
  }
  if (ranges.size() == 1) {
    plan.status = http::status::partial_content;
    plan.offset = ranges[0].first;
    plan.length = ranges[0].last - ranges[0].first + 1;
    plan.content_range = "bytes " + std::to_string(ranges[0].first) + "-" + std::to_string(ranges[0].last) +
                         "/" + std::to_string(size);
    return plan;
  }
  std::uint64_t total = 0;
  for (const byte_range& r : ranges) total += r.last - r.first + 1;
  if (total > opt.max_multipart_bytes)
    return whole_file(std::move(plan), opt, req);  // too much to buffer: the whole file instead
  std::string boundary = "keel-";
  append_hex(boundary, std::hash<std::string>{}(plan.etag) ^ total);
  for (const byte_range& r : ranges) {
    plan.body.append("--").append(boundary).append("\r\nContent-Type: ").append(plan.content_type);
    plan.body.append("\r\nContent-Range: bytes ")
        .append(std::to_string(r.first))
        .append("-")
        .append(std::to_string(r.last))
        .append("/")
        .append(std::to_string(size))
        .append("\r\n\r\n");
    if (!read_range(plan.fd, r, plan.body)) return refuse(http::status::internal_server_error);
    plan.body.append("\r\n");
  }
  plan.body.append("--").append(boundary).append("--\r\n");
  ::close(std::exchange(plan.fd, -1));
  plan.status = http::status::partial_content;
  plan.multipart_type = "multipart/byteranges; boundary=" + boundary;
  return plan;
}

// Writes `plan` into the context's response.
inline void apply_static_plan(request_context& ctx, static_plan& plan) {
  response& res = ctx.response();
  if (plan.fail) {
    http_error e(plan.status);
    if (!plan.content_range.empty()) e.with_header("Content-Range", plan.content_range);
    if (plan.vary) e.with_header("Vary", "Accept-Encoding");
    ctx.fail(e);
    return;
  }
  res.status(plan.status);
  if (!plan.location.empty()) {
    res.header("Location", plan.location);
    return;
  }
  if (plan.vary) res.header("Vary", "Accept-Encoding");
  res.header("ETag", plan.etag);
  res.header("Last-Modified", plan.last_modified);
  if (!plan.cache_control.empty()) res.header("Cache-Control", plan.cache_control);
  if (plan.status == http::status::not_modified) return;
  res.header("Accept-Ranges", "bytes");
  if (!plan.encoding.empty()) res.header("Content-Encoding", plan.encoding);
  if (!plan.multipart_type.empty()) {
    res.content_type(plan.multipart_type);
    res.body(std::move(plan.body));
    return;
  }
  res.content_type(plan.content_type);
  if (plan.buffered) {
    res.body(std::move(plan.body));
    return;
  }
  if (!plan.content_range.empty()) res.header("Content-Range", plan.content_range);
  context_access::file(ctx).assign(std::exchange(plan.fd, -1), plan.offset, plan.length);
  context_access::set_kind(ctx, body_kind::file);
}

inline static_request static_request_of(request_context& ctx, std::string_view raw_rest) {
  const http::request& r = ctx.request();
  static_request q;
  q.raw_rest = raw_rest;
  q.request_path = r.path;
  q.accept_encoding = r.header("Accept-Encoding");
  q.has_accept_encoding = r.headers.contains("Accept-Encoding");
  q.range = r.header("Range");
  q.if_range = r.header("If-Range");
  q.if_none_match = r.header("If-None-Match");
  q.if_modified_since = r.header("If-Modified-Since");
  q.get = r.method == http::method::get;
  return q;
}

// The coroutine both routes run.
inline task<status_only> serve_static(std::shared_ptr<const static_root> root, request_context& ctx,
                                      std::string_view raw_rest) {
  static_request q = static_request_of(ctx, raw_rest);
  if (root->options.offload_io) {
    const static_root* r = root.get();
    auto work = offload(&plan_static, std::cref(*r), std::cref(q));
    static_plan plan = co_await work;
    apply_static_plan(ctx, plan);
  } else {
    static_plan plan = plan_static(*root, q);
    apply_static_plan(ctx, plan);
  }
  co_return status_only{ctx.response().status()};
}

inline std::shared_ptr<const static_root> make_static_root(const std::string& dir, static_files_options opt) {
  char buf[PATH_MAX];
  if (::realpath(dir.c_str(), buf) == nullptr)
    throw std::runtime_error("keel::static_files: root directory not found: " + dir);
  struct stat st {};
  if (::stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error("keel::static_files: root is not a directory: " + dir);
  auto root = std::make_shared<static_root>();
  root->real = buf;
  if (root->real.size() > 1 && root->real.back() == '/') root->real.pop_back();
  root->options = std::move(opt);
  return root;
}

template <fixed_string Prefix>
constexpr auto static_tail_path() {
  if constexpr (Prefix.size() == 1) {
    return fixed_string("/{path...}");
  } else {
    return Prefix + fixed_string("/{path...}");
  }
}

}  // namespace detail

// GET (and HEAD) routes serving `dir` under Prefix ("/" or "/assets"): Prefix itself and everything below
// it. Throws std::runtime_error when `dir` is not a directory.
template <fixed_string Prefix>
auto static_files(const std::string& dir, static_files_options options = {}) {
  static_assert(Prefix.size() >= 1 && Prefix.data[0] == '/' &&
                    (Prefix.size() == 1 || Prefix.data[Prefix.size() - 1] != '/'),
                "keel::static_files: the prefix looks like \"/\" or \"/assets\" (no trailing '/')");
  auto root = detail::make_static_root(dir, std::move(options));
  auto at_prefix = [root](request_context& ctx) -> task<status_only> {
    return detail::serve_static(root, ctx, std::string_view{});
  };
  auto below = [root](path<"path", std::string_view>, request_context& ctx) -> task<status_only> {
    return detail::serve_static(root, ctx, ctx.raw_path_param(ctx.path_param_count() - 1));
  };
  auto r1 = get<Prefix>(std::move(at_prefix));
  auto r2 = get<detail::static_tail_path<Prefix>()>(std::move(below));
  using group_type = route_group<fixed_string<1>{}, std::tuple<decltype(r1), decltype(r2)>>;
  return group_type{std::tuple<decltype(r1), decltype(r2)>(std::move(r1), std::move(r2)), {}};
}

}  // namespace v0
}  // namespace keel
