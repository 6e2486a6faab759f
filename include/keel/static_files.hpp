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
// thread. The open-file cache (open_file_cache, open_file_cache_valid) keeps what a path resolved to for a
// second: a hit is answered on the reactor with no lookup at all (see benchmarks/RESULTS.md).
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/detail/static_cache.hpp"
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
#include <chrono>
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
  // Open-file cache, one per reactor thread (nginx's open_file_cache): what a path resolved to (the open
  // file and its .br/.gz siblings, size, ETag, Last-Modified, Content-Type, Cache-Control) answers later
  // requests on the reactor, without the worker pool and without a system call but a dup(), for
  // `open_file_cache_valid`; then the path is resolved and checked again from scratch. A file changed,
  // replaced or removed on disk, or a symlink swapped, is seen at the latest after that interval (a file
  // rewritten in place may go out with its old length and ETag until then). At most `open_file_cache` paths
  // per thread, each holding up to three descriptors; 0 turns the cache off.
  std::size_t open_file_cache = 256;
  std::chrono::milliseconds open_file_cache_valid = std::chrono::seconds(1);
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

// How a plan's body still has to be read from its file (on the worker pool, or on the reactor with
// offload_io = false): the whole file (to be compressed), or the parts of a multipart/byteranges answer.
enum class static_read : std::uint8_t { none, whole, multipart };

// What a static request resolves to, written into the response on the reactor. Its views point into
// `entry`, which it keeps alive, or into static storage.
struct static_plan {
  http::status status = http::status::ok;
  bool fail = false;  // answer with http_error(status) (404, 400, 416, 500)
  static_fd fd;       // send this file region
  std::uint64_t offset = 0, length = 0;
  std::uint64_t size = 0;         // of the representation (for 416's Content-Range)
  std::string_view content_type;  // from the table (static storage)
  std::string_view encoding;      // "br", "gzip" or ""
  bool vary = false;
  bool buffered = false;  // `body` holds the whole file
  static_read read = static_read::none;
  std::string_view etag, last_modified, cache_control;
  std::string content_range, location, multipart_type, body;
  std::string boundary;            // static_read::multipart
  std::vector<byte_range> ranges;  // static_read::multipart: the parts to read
  static_entry_ptr entry;          // what the views point into; also what the cache keeps
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
  mutable static_cache_slots caches;

  // The open-file cache of the calling thread; nullptr when it is off.
  static_file_cache* cache() const {
    return caches.for_this_thread(options.open_file_cache, options.open_file_cache_valid);
  }
};

// Decodes and checks `raw` (the part of the URL below the prefix). Fills `rel` with the cleaned relative
// path ("a/b.css", "" for the root), decoding into `decoded` (both keep their capacity). false: refused.
inline bool clean_relative_path(std::string_view raw, bool allow_dotfiles, std::string& rel,
                                std::string& decoded) {
  // Encoded separators never split a segment: refused (%2f, %5c), as is a raw backslash.
  for (std::size_t i = 0; i + 2 < raw.size(); ++i) {
    if (raw[i] != '%') continue;
    const char a = raw[i + 1], b = ascii_lower(raw[i + 2]);
    if ((a == '2' && b == 'f') || (a == '5' && b == 'c')) return false;
  }
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
inline bool clean_relative_path(std::string_view raw, bool allow_dotfiles, std::string& rel) {
  std::string decoded;
  return clean_relative_path(raw, allow_dotfiles, rel, decoded);
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

// One representation opened at `real` (already checked), its validators computed; fd not open when `real`
// is not a regular file. `tag` marks a precompressed sibling's ETag ("br", "gz").
inline static_variant open_variant(const std::string& real, std::string_view tag) {
  static_variant v;
  const opened_file f = open_regular(real);
  if (f.fd < 0) return v;
  v.fd.reset(f.fd);
  v.size = static_cast<std::uint64_t>(f.st.st_size);
  v.mtime = static_cast<std::int64_t>(f.st.st_mtim.tv_sec);
  v.etag = "\"";
  append_hex(v.etag, v.size);
  v.etag.push_back('-');
  append_hex(v.etag, static_cast<std::uint64_t>(f.st.st_mtim.tv_sec) * 1000000000ull +
                         static_cast<std::uint64_t>(f.st.st_mtim.tv_nsec));
  if (!tag.empty()) v.etag.append("-").append(tag);
  v.etag.push_back('"');
  v.last_modified.resize(http::imf_fixdate_size);
  http::format_imf_fixdate(v.mtime, v.last_modified.data());
  return v;
}

// What a cleaned relative path resolves to: an entry, a redirect (a directory named without its trailing
// '/'), or neither (404). Blocking: realpath, stat, open, fstat.
struct static_resolution {
  static_entry_ptr entry;
  std::string location;
};
enum static_sibling : unsigned { sibling_br = 1, sibling_gzip = 2 };

inline static_resolution resolve_static(const static_root& root, std::string rel,
                                        std::string_view request_path, unsigned siblings) {
  const static_files_options& opt = root.options;
  static_resolution out;
  std::string path = root.real;
  if (!rel.empty()) path.append("/").append(rel);
  std::string real = real_path_within(root.real, path);
  struct stat st {};
  if (!real.empty() && ::stat(real.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    if (!request_path.ends_with('/')) {
      // One leading '/': "//host/dir" must not become a protocol-relative redirect to another host.
      std::string_view p = request_path;
      while (p.size() > 1 && p[1] == '/') p.remove_prefix(1);
      out.location = std::string(p) + "/";
      return out;
    }
    if (opt.index.empty()) return out;
    rel = rel.empty() ? opt.index : rel + "/" + opt.index;
    real = real_path_within(root.real, root.real + "/" + rel);
  }
  if (real.empty() && opt.spa_fallback && !opt.index.empty() && extension_of(rel).empty()) {
    rel = opt.index;
    real = real_path_within(root.real, root.real + "/" + rel);
  }
  if (real.empty()) return out;
  auto entry = std::make_shared<static_entry>();
  entry->variants[static_entry::identity] = open_variant(real, "");
  if (!entry->variants[static_entry::identity].fd.open()) return out;
  entry->content_type = mime_type(extension_of(rel));
  for (const auto& rule : opt.cache_control) {
    if (glob_match(rule.pattern, rel)) {
      entry->cache_control = rule.value;
      break;
    }
  }
  if (opt.precompressed) {
    struct sibling {
      unsigned bit;
      const char* suffix;
      static_entry::coding coding;
      std::string_view tag;
    };
    for (const sibling& s : {sibling{sibling_br, ".br", static_entry::br, "br"},
                             sibling{sibling_gzip, ".gz", static_entry::gzip, "gz"}}) {
      if ((siblings & s.bit) == 0) continue;
      const std::string sib = real_path_within(root.real, real + s.suffix);
      if (!sib.empty()) entry->variants[s.coding] = open_variant(sib, s.tag);
    }
  }
  out.entry = std::move(entry);
  return out;
}

inline static_plan refused_plan(http::status s = http::status::not_found) {
  static_plan plan;
  plan.fail = true;
  plan.status = s;
  return plan;
}

// The whole file, as a 200: read into the body when buffer_compressible_below says so.
inline void plan_whole_file(static_plan& plan, const static_files_options& opt, const static_request& req) {
  plan.status = http::status::ok;
  plan.offset = 0;
  plan.length = plan.size;
  plan.content_range.clear();
  if (plan.size == 0 || plan.size >= opt.buffer_compressible_below || !plan.encoding.empty() ||
      !req.has_accept_encoding || !compressible_type(plan.content_type))
    return;
  plan.read = static_read::whole;
}

// The answer to `req` from a resolved entry: representation by Accept-Encoding, conditional headers,
// ranges. No system call but the dup() of the file it sends; what must be read is left in plan.read.
inline static_plan plan_from_entry(const static_files_options& opt, static_entry_ptr entry,
                                   const static_request& req) {
  static_plan plan;
  const static_entry& e = *entry;
  plan.entry = std::move(entry);
  plan.content_type = e.content_type;
  plan.cache_control = e.cache_control;
  const static_variant* v = &e.variants[static_entry::identity];
  // Precompressed sibling, by q-value (br first on a tie).
  if (opt.precompressed) {
    plan.vary = true;
    if (req.has_accept_encoding &&
        (e.variants[static_entry::br].fd.open() || e.variants[static_entry::gzip].fd.open())) {
      struct choice {
        static_entry::coding coding;
        std::string_view name;
        int q;
      };
      choice order[2] = {{static_entry::br, "br", accept_encoding_q(req.accept_encoding, "br")},
                         {static_entry::gzip, "gzip", accept_encoding_q(req.accept_encoding, "gzip")}};
      if (order[1].q > order[0].q) std::swap(order[0], order[1]);
      for (const choice& c : order) {
        if (c.q <= 0 || !e.variants[c.coding].fd.open()) continue;
        v = &e.variants[c.coding];
        plan.encoding = c.name;
        break;
      }
    }
  }
  const std::uint64_t size = v->size;
  plan.size = size;
  plan.etag = v->etag;
  plan.last_modified = v->last_modified;

  // Conditional requests (RFC 9110 13.2.2): If-None-Match, else If-Modified-Since.
  if (client_copy_is_current(req.if_none_match, req.if_modified_since, plan.etag, v->mtime)) {
    plan.status = http::status::not_modified;
    return plan;
  }
  plan.fd.reset(::fcntl(v->fd.get(), F_DUPFD_CLOEXEC, 0));  // the response closes its own descriptor
  if (!plan.fd.open()) {
    static_plan failed = refused_plan(http::status::internal_server_error);
    failed.vary = plan.vary;
    return failed;
  }
  plan_whole_file(plan, opt, req);
  if (req.range.empty() || !req.get) return plan;
  if (!req.if_range.empty()) {
    const std::string_view ir = trim_ows(req.if_range);
    const bool fresh = ir.starts_with('"') ? ir == plan.etag : ir == plan.last_modified;
    if (!fresh) return plan;
  }
  std::vector<byte_range> ranges;
  switch (parse_range(req.range, size, opt.max_ranges, ranges)) {
    case range_parse::ignore:
      return plan;
    case range_parse::unsatisfiable:
      plan.fd.reset();
      plan.read = static_read::none;
      plan.fail = true;
      plan.status = http::status::range_not_satisfiable;
      plan.content_range = "bytes */" + std::to_string(size);
      return plan;
    case range_parse::ok:
      break;
  }
  if (ranges.size() == 1) {
    plan.read = static_read::none;
    plan.status = http::status::partial_content;
    plan.offset = ranges[0].first;
    plan.length = ranges[0].last - ranges[0].first + 1;
    plan.content_range = "bytes " + std::to_string(ranges[0].first) + "-" + std::to_string(ranges[0].last) +
                         "/" + std::to_string(size);
    return plan;
  }
  std::uint64_t total = 0;
  for (const byte_range& r : ranges) total += r.last - r.first + 1;
  if (total > opt.max_multipart_bytes) return plan;  // too much to buffer: the whole file instead
  plan.boundary = "keel-";
  append_hex(plan.boundary, std::hash<std::string_view>{}(plan.etag) ^ total);
  plan.ranges = std::move(ranges);
  plan.read = static_read::multipart;
  plan.status = http::status::partial_content;
  plan.multipart_type = "multipart/byteranges; boundary=" + plan.boundary;
  return plan;
}

// Reads what plan.read asks for (blocking preads).
inline static_plan read_static_body(static_plan plan) {
  const static_read what = std::exchange(plan.read, static_read::none);
  if (what == static_read::whole) {
    plan.body.clear();
    if (!read_range(plan.fd.get(), {0, plan.size - 1}, plan.body)) {
      plan.body.clear();  // sendfile it after all
      return plan;
    }
    plan.fd.reset();
    plan.buffered = true;
  } else if (what == static_read::multipart) {
    plan.body.clear();
    for (const byte_range& r : plan.ranges) {
      plan.body.append("--").append(plan.boundary).append("\r\nContent-Type: ").append(plan.content_type);
      plan.body.append("\r\nContent-Range: bytes ")
          .append(std::to_string(r.first))
          .append("-")
          .append(std::to_string(r.last))
          .append("/")
          .append(std::to_string(plan.size))
          .append("\r\n\r\n");
      if (!read_range(plan.fd.get(), r, plan.body)) {
        static_plan failed = refused_plan(http::status::internal_server_error);
        failed.vary = plan.vary;
        return failed;
      }
      plan.body.append("\r\n");
    }
    plan.body.append("--").append(plan.boundary).append("--\r\n");
    plan.fd.reset();
  }
  return plan;
}

// The plan for a resolution (blocking: it reads what must be read).
inline static_plan plan_resolved(const static_root& root, static_resolution&& r, const static_request& req) {
  if (!r.location.empty()) {
    static_plan plan;
    plan.status = http::status::moved_permanently;
    plan.location = std::move(r.location);
    return plan;
  }
  if (!r.entry) return refused_plan();
  return read_static_body(plan_from_entry(root.options, std::move(r.entry), req));
}

// The whole decision for one request without the cache: file lookup (precompressed siblings only when the
// request accepts them), conditional headers, ranges.
inline static_plan plan_static(const static_root& root, const static_request& req) {
  const static_files_options& opt = root.options;
  std::string rel;
  if (!clean_relative_path(req.raw_rest, opt.allow_dotfiles, rel)) return refused_plan();
  unsigned siblings = 0;
  if (opt.precompressed && req.has_accept_encoding) {
    if (accept_encoding_q(req.accept_encoding, "br") > 0) siblings |= sibling_br;
    if (accept_encoding_q(req.accept_encoding, "gzip") > 0) siblings |= sibling_gzip;
  }
  static_resolution r = resolve_static(root, std::move(rel), req.request_path, siblings);
  return plan_resolved(root, std::move(r), req);
}

// A cache miss: resolves `rel` with both siblings (the entry serves every Accept-Encoding later).
inline static_plan plan_for_cache(const static_root& root, const std::string& rel,
                                  const static_request& req) {
  static_resolution r = resolve_static(root, rel, req.request_path, sibling_br | sibling_gzip);
  return plan_resolved(root, std::move(r), req);
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
  context_access::file(ctx).assign(plan.fd.release(), plan.offset, plan.length);
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

// An answer already written into the response: a frame of a few bytes (recycled), nothing suspends.
inline task<status_only> static_answered(http::status s) { co_return status_only{s}; }

// Without the cache: the whole plan on the worker pool (or the reactor with offload_io = false).
inline task<status_only> serve_static_uncached(std::shared_ptr<const static_root> root, request_context& ctx,
                                               static_request q) {
  const static_root* r = root.get();
  if (r->options.offload_io) {
    auto work = offload(&plan_static, std::cref(*r), std::cref(q));
    static_plan plan = co_await work;
    apply_static_plan(ctx, plan);
  } else {
    static_plan plan = plan_static(*r, q);
    apply_static_plan(ctx, plan);
  }
  co_return status_only{ctx.response().status()};
}

// A cache hit whose answer needs the file's bytes in memory (compressed or multipart).
inline task<status_only> serve_static_read(std::shared_ptr<const static_root> root, request_context& ctx,
                                           static_plan plan) {
  if (root->options.offload_io) {
    auto work = offload(&read_static_body, std::move(plan));
    static_plan done = co_await work;
    apply_static_plan(ctx, done);
  } else {
    static_plan done = read_static_body(std::move(plan));
    apply_static_plan(ctx, done);
  }
  co_return status_only{ctx.response().status()};
}

// A miss or a stale entry: resolves `key` again like the uncached path, then stores the outcome in this
// reactor's cache (or drops the entry when the path no longer resolves to a file).
inline task<status_only> serve_static_miss(std::shared_ptr<const static_root> root, request_context& ctx,
                                           static_request q, std::string key,
                                           static_file_cache::clock::time_point now) {
  const static_root* r = root.get();
  std::string rel = key;
  if (!rel.empty() && rel.back() == '/') rel.pop_back();
  static_plan plan;
  if (r->options.offload_io) {
    auto work = offload(&plan_for_cache, std::cref(*r), std::cref(rel), std::cref(q));
    static_plan resolved = co_await work;
    plan = std::move(resolved);
  } else {
    plan = plan_for_cache(*r, rel, q);
  }
  if (static_file_cache* mine = r->cache()) {  // this reactor's (the coroutine resumed on it)
    if (plan.entry)
      mine->store(key, plan.entry, now);
    else
      mine->erase(key);
  }
  apply_static_plan(ctx, plan);
  co_return status_only{ctx.response().status()};
}

// What both routes run. With the open-file cache, a fresh entry answers here, on the reactor, without a
// coroutine of its own to suspend (the worker pool only reads what a compressed or multipart answer needs).
inline task<status_only> serve_static(const std::shared_ptr<const static_root>& root, request_context& ctx,
                                      std::string_view raw_rest) {
  const static_request q = static_request_of(ctx, raw_rest);
  const static_root* r = root.get();
  static_file_cache* cache = r->cache();
  if (cache == nullptr) return serve_static_uncached(root, ctx, q);
  if (!clean_relative_path(raw_rest, r->options.allow_dotfiles, cache->rel, cache->decoded)) {
    static_plan plan = refused_plan();
    apply_static_plan(ctx, plan);
    return static_answered(ctx.response().status());
  }
  // "dir/" serves dir's index, "dir" redirects to it: different keys.
  if (q.request_path.ends_with('/')) cache->rel.push_back('/');
  const auto now = static_file_cache::clock::now();
  const static_entry_ptr* hit = cache->find(cache->rel, now);
  if (hit == nullptr) return serve_static_miss(root, ctx, q, cache->rel, now);  // copies the scratch key
  static_plan plan = plan_from_entry(r->options, *hit, q);
  if (plan.read != static_read::none) return serve_static_read(root, ctx, std::move(plan));
  apply_static_plan(ctx, plan);
  return static_answered(ctx.response().status());
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
