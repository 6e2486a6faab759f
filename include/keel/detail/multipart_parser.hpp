// A streaming multipart/form-data parser (RFC 7578 over RFC 2046's multipart framing): bytes go in as they
// arrive, events come out (a part's headers, pieces of its content, its end, the end of the body). It holds
// at most one part's header block (bounded) and never a part's content: a piece of content is a view into
// the input, or into the delimiter itself for the few bytes that looked like the start of a delimiter at the
// end of the previous input. keel::multipart<T> (keel/multipart.hpp) drives it; tests and the fuzzer use it
// directly.
#pragma once

#include "keel/config.hpp"
#include "keel/extractors/detail/media_type.hpp"
#include "keel/http/response.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace detail {

// Walks the `; name=value` parameters after a header's first item (`form-data; name="a"; filename="b.txt"`,
// `multipart/form-data; boundary=xyz`). Values may be tokens or quoted strings (a backslash escapes the next
// character). fn(name, value) is called per parameter; returns false for malformed text.
template <class Fn>
bool for_each_header_param(std::string_view text, Fn&& fn) {
  std::size_t i = text.find(';');
  if (i == std::string_view::npos) return true;
  std::string value;
  auto skip_ws = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  while (i < text.size()) {
    ++i;  // the ';'
    skip_ws();
    if (i == text.size()) break;  // a trailing ';'
    const std::size_t name_begin = i;
    while (i < text.size() && text[i] != '=' && text[i] != ';' && text[i] != ' ' && text[i] != '\t') ++i;
    std::string_view name = text.substr(name_begin, i - name_begin);
    skip_ws();
    if (name.empty() || i == text.size() || text[i] != '=') return false;
    ++i;
    skip_ws();
    value.clear();
    if (i < text.size() && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char c = text[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < text.size()) c = text[i++];
        value.push_back(c);
      }
      if (!closed) return false;
    } else {
      const std::size_t begin = i;
      while (i < text.size() && text[i] != ';' && text[i] != ' ' && text[i] != '\t') ++i;
      value.assign(text.substr(begin, i - begin));
      if (value.empty()) return false;
    }
    skip_ws();
    if (i < text.size() && text[i] != ';') return false;
    fn(name, std::string_view(value));
  }
  return true;
}

// RFC 2046 §5.1.1: 1 to 70 characters of digits, letters and '()+_,-./:=? (space allowed, not last).
inline bool valid_multipart_boundary(std::string_view b) noexcept {
  if (b.empty() || b.size() > 70 || b.back() == ' ') return false;
  for (char c : b) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// The boundary of a `multipart/form-data; boundary=...` Content-Type; nothing when the type is another one,
// or the boundary is missing or invalid.
inline std::optional<std::string> multipart_boundary(std::string_view content_type) {
  if (!iequals(media_type_of(content_type), "multipart/form-data")) return std::nullopt;
  std::optional<std::string> boundary;
  bool repeated = false;
  const bool ok = for_each_header_param(content_type, [&](std::string_view name, std::string_view value) {
    if (!iequals(name, "boundary")) return;
    if (boundary) repeated = true;
    boundary.emplace(value);
  });
  if (!ok || repeated || !boundary || !valid_multipart_boundary(*boundary)) return std::nullopt;
  return boundary;
}

// The headers keel reads from a part: Content-Disposition's name and filename, and Content-Type.
struct multipart_part_head {
  std::string name;
  std::string filename;  // as sent (not yet sanitized); see has_filename
  std::string content_type = "text/plain";
  bool has_filename = false;
};

// A client's file name made safe to show and store as metadata (never used as a path by keel): only the
// last path component ('/' or '\\' separated), no control characters (NUL included), no leading dots or
// spaces, no trailing dots or spaces, at most max_bytes bytes without splitting a UTF-8 sequence; "upload"
// when nothing is left.
inline std::string sanitize_filename(std::string_view raw, std::size_t max_bytes = 200) {
  if (const std::size_t slash = raw.find_last_of("/\\"); slash != std::string_view::npos)
    raw.remove_prefix(slash + 1);
  std::string out;
  out.reserve(raw.size() < max_bytes ? raw.size() : max_bytes);
  for (char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) continue;
    if (out.empty() && (c == '.' || c == ' ')) continue;
    out.push_back(c);
  }
  if (out.size() > max_bytes) {
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // a continuation byte
    out.resize(cut);
  }
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  if (out.empty()) out = "upload";
  return out;
}

enum class multipart_error : std::uint8_t {
  none,
  header_too_large,  // a part's header block is over the limit (413)
  too_many_parts,    // 413
  bad_delimiter,     // text after a boundary that is neither "--" nor padding + CRLF (400)
  bad_header,        // a header line without ':', folded, or a bad Content-Disposition (400)
  missing_name,      // a part without Content-Disposition: form-data; name=... (400)
  truncated,         // the body ended before the close delimiter (400)
  no_parts,          // no delimiter at all (400)
};

inline std::string_view multipart_error_message(multipart_error e) noexcept {
  switch (e) {
    case multipart_error::none:
      return "";
    case multipart_error::header_too_large:
      return "a part's headers are too large";
    case multipart_error::too_many_parts:
      return "too many parts";
    case multipart_error::bad_delimiter:
      return "malformed multipart boundary line";
    case multipart_error::bad_header:
      return "malformed part header";
    case multipart_error::missing_name:
      return "a part has no Content-Disposition: form-data; name=...";
    case multipart_error::truncated:
      return "the multipart body ended before its closing boundary";
    case multipart_error::no_parts:
      return "the body holds no multipart boundary";
  }
  return "malformed multipart body";
}

// Parses one part's header block (lines "Name: value" separated by CRLF, without the final empty line).
inline multipart_error parse_part_head(std::string_view block, multipart_part_head& out) {
  out = multipart_part_head{};
  bool disposition = false;
  while (!block.empty()) {
    std::size_t end = block.find("\r\n");
    std::string_view line = block.substr(0, end);
    block.remove_prefix(end == std::string_view::npos ? block.size() : end + 2);
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') return multipart_error::bad_header;  // obsolete folding
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return multipart_error::bad_header;
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    for (char c : name)
      if (c <= ' ' || c == 0x7f) return multipart_error::bad_header;
    if (iequals(name, "Content-Disposition")) {
      if (disposition) return multipart_error::bad_header;
      disposition = true;
      if (!iequals(media_type_of(value), "form-data")) return multipart_error::missing_name;
      bool has_name = false, twice = false;
      const bool ok = for_each_header_param(value, [&](std::string_view p, std::string_view v) {
        if (iequals(p, "name")) {
          twice = twice || has_name;
          has_name = true;
          out.name.assign(v);
        } else if (iequals(p, "filename")) {
          twice = twice || out.has_filename;
          out.has_filename = true;
          out.filename.assign(v);
        }
      });
      if (!ok || twice) return multipart_error::bad_header;
      if (!has_name) return multipart_error::missing_name;
    } else if (iequals(name, "Content-Type")) {
      if (value.empty()) return multipart_error::bad_header;
      out.content_type.assign(value);
    }
  }
  return disposition ? multipart_error::none : multipart_error::missing_name;
}

struct multipart_parser_limits {
  std::size_t max_parts = 100;
  std::size_t max_header_bytes = 8 * 1024;
};

// The parser. Use: feed(bytes), then call next() until it says need_more (feed the next bytes) or done or
// error; at the end of the body call finish() (an error unless the close delimiter was seen).
//   part_begin: head() holds the new part's headers
//   data:       data() is the next piece of the current part's content (valid until the next next()/feed())
//   part_end:   the current part is complete
class multipart_parser {
 public:
  enum class event : std::uint8_t { need_more, part_begin, data, part_end, done, error };

  explicit multipart_parser(std::string_view boundary, multipart_parser_limits limits = {})
      : delimiter_("\r\n--"), limits_(limits) {
    delimiter_.append(boundary);
    matched_ = 2;  // the body's start counts as a line start: "--boundary" may come first
  }

  void feed(std::string_view bytes) noexcept {
    input_ = bytes;
    pos_ = 0;
  }

  event next() {
    for (;;) {
      if (pending_end_) {  // a delimiter was matched behind the last piece of content
        pending_end_ = false;
        const bool was_content = state_ == state::content;
        state_ = state::after_delimiter;
        dashes_ = 0;
        padding_ = 0;
        seen_delimiter_ = true;
        if (was_content) return event::part_end;
      }
      switch (state_) {
        case state::preamble:
        case state::content: {
          if (state_ == state::content && !in_part_) {
            in_part_ = true;
            return event::part_begin;
          }
          std::string_view piece;
          const bool found = scan(piece);
          if (state_ == state::content && !piece.empty()) {
            if (found) pending_end_ = true;
            data_ = piece;
            return event::data;
          }
          if (found)
            pending_end_ = true;
          else if (pos_ == input_.size())
            return event::need_more;
          break;
        }
        case state::after_delimiter:
          if (pos_ == input_.size()) return event::need_more;
          {
            const char c = input_[pos_++];
            if (dashes_ == 1) {
              if (c != '-') return fail(multipart_error::bad_delimiter);
              state_ = state::epilogue;
              return event::done;
            }
            if (c == '-' && padding_ == 0) {
              dashes_ = 1;
            } else if (c == ' ' || c == '\t') {
              if (++padding_ > 64) return fail(multipart_error::bad_delimiter);
            } else if (c == '\r') {
              state_ = state::delimiter_lf;
            } else {
              return fail(multipart_error::bad_delimiter);
            }
          }
          break;
        case state::delimiter_lf:
          if (pos_ == input_.size()) return event::need_more;
          if (input_[pos_++] != '\n') return fail(multipart_error::bad_delimiter);
          if (++parts_ > limits_.max_parts) return fail(multipart_error::too_many_parts);
          header_.assign("\r\n");
          state_ = state::headers;
          break;
        case state::headers: {
          while (pos_ < input_.size()) {
            if (header_.size() >= limits_.max_header_bytes + 4)
              return fail(multipart_error::header_too_large);
            header_.push_back(input_[pos_++]);
            if (header_.size() >= 4 && header_.ends_with("\r\n\r\n")) {
              const std::string_view block = std::string_view(header_).substr(2, header_.size() - 4);
              if (multipart_error e = parse_part_head(block, head_); e != multipart_error::none)
                return fail(e);
              state_ = state::content;
              in_part_ = false;
              matched_ = 0;
              break;
            }
          }
          if (state_ == state::headers) return event::need_more;
          break;
        }
        case state::epilogue:
          pos_ = input_.size();
          return event::done;
        case state::failed:
          return event::error;
      }
    }
  }

  // The body ended: fine only after the close delimiter.
  bool finish() noexcept {
    if (state_ == state::epilogue) return true;
    if (state_ != state::failed)
      error_ = seen_delimiter_ ? multipart_error::truncated : multipart_error::no_parts;
    state_ = state::failed;
    return false;
  }

  const multipart_part_head& head() const noexcept { return head_; }
  std::string_view data() const noexcept { return data_; }
  multipart_error error() const noexcept { return error_; }
  std::size_t parts() const noexcept { return parts_; }

 private:
  enum class state : std::uint8_t {
    preamble,
    after_delimiter,
    delimiter_lf,
    headers,
    content,
    epilogue,
    failed
  };

  event fail(multipart_error e) noexcept {
    error_ = e;
    state_ = state::failed;
    return event::error;
  }

  // Looks for the delimiter from pos_. Sets `piece` to content before it (or before a possible delimiter
  // start at the end of the input) and returns true when the whole delimiter was matched (and consumed).
  // Only delimiter_[0] is a CR (a boundary holds none), so after a mismatch the next possible start is the
  // mismatching byte itself or a later CR: held-back bytes are always a prefix of the delimiter.
  bool scan(std::string_view& piece) noexcept {
    const std::string_view d = delimiter_;
    if (matched_ > 0) {
      while (matched_ < d.size() && pos_ < input_.size() && input_[pos_] == d[matched_]) {
        ++matched_;
        ++pos_;
      }
      if (matched_ == d.size()) {
        matched_ = 0;
        return true;
      }
      if (pos_ == input_.size()) return false;  // still a possible delimiter: keep holding it back
      piece = d.substr(0, matched_);            // the held-back bytes were content after all
      matched_ = 0;
      return false;
    }
    const std::size_t start = pos_;
    std::size_t at = start;
    for (;;) {
      const std::size_t cr = input_.find('\r', at);
      if (cr == std::string_view::npos) {
        pos_ = input_.size();
        piece = input_.substr(start);
        return false;
      }
      const std::size_t avail = input_.size() - cr;
      const std::size_t n = avail < d.size() ? avail : d.size();
      if (input_.compare(cr, n, d, 0, n) == 0) {
        piece = input_.substr(start, cr - start);
        pos_ = cr + n;
        if (n == d.size()) return true;
        matched_ = n;  // a delimiter may continue in the next input
        return false;
      }
      at = cr + 1;
    }
  }

  std::string delimiter_;
  multipart_parser_limits limits_;
  std::string_view input_;
  std::size_t pos_ = 0;
  std::size_t matched_ = 0;
  std::size_t parts_ = 0;
  std::size_t padding_ = 0;
  std::string header_;
  std::string_view data_;
  multipart_part_head head_;
  state state_ = state::preamble;
  multipart_error error_ = multipart_error::none;
  std::uint8_t dashes_ = 0;
  bool in_part_ = false;
  bool pending_end_ = false;
  bool seen_delimiter_ = false;
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
