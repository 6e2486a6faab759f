// keel::http URL helpers: percent-decoding, raw query-string iteration and path segments, all over views.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/http_chars.hpp"

#include <cstddef>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace keel {
inline namespace v0 {
namespace http {

// True when `s` holds a '%' escape (or a '+' and `plus_as_space`), i.e. percent_decode would change it. Most
// paths and query values need no decoding, so callers can keep the view and skip the copy.
inline bool needs_decoding(std::string_view s, bool plus_as_space = false) noexcept {
  if (s.empty()) return false;
  if (std::memchr(s.data(), '%', s.size()) != nullptr) return true;
  return plus_as_space && std::memchr(s.data(), '+', s.size()) != nullptr;
}

// Decodes %XX escapes of `in` into `out` (replacing its contents; its capacity is reused). With
// `plus_as_space` ('application/x-www-form-urlencoded' and query strings), '+' becomes ' '. Returns false on
// a
// '%' not followed by two hex digits, leaving `out` empty. %00 decodes to a NUL byte: callers that build file
// names from the result must reject it themselves.
inline bool percent_decode(std::string_view in, std::string& out, bool plus_as_space = false) {
  out.clear();
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    // Copy the run up to the next byte that needs work in one append.
    std::size_t run = i;
    while (run < in.size() && in[run] != '%' && !(plus_as_space && in[run] == '+')) ++run;
    out.append(in.data() + i, run - i);
    if (run == in.size()) break;
    if (in[run] == '+') {
      out.push_back(' ');
      i = run + 1;
      continue;
    }
    if (in.size() - run < 3) {
      out.clear();
      return false;
    }
    const int high = detail::hex_value(in[run + 1]);
    const int low = detail::hex_value(in[run + 2]);
    if (high < 0 || low < 0) {
      out.clear();
      return false;
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i = run + 3;
  }
  return true;
}

// The raw key/value pairs of a query string ("a=1&b=&c"), in order, without decoding. Empty pairs
// ("a=1&&b=2") are skipped; a key without '=' has an empty value.
//   for (auto [key, value] : http::query_params(req.query)) ...
class query_params {
 public:
  using value_type = std::pair<std::string_view, std::string_view>;

  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = query_params::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = const value_type&;

    iterator() = default;
    reference operator*() const noexcept { return current_; }
    pointer operator->() const noexcept { return &current_; }
    iterator& operator++() noexcept {
      advance();
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator old = *this;
      advance();
      return old;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.rest_.data() == b.rest_.data() && a.done_ == b.done_;
    }

   private:
    friend class query_params;
    explicit iterator(std::string_view query) noexcept : rest_(query), done_(false) { advance(); }

    void advance() noexcept {
      while (!rest_.empty()) {
        const std::size_t amp = rest_.find('&');
        const std::string_view pair = rest_.substr(0, amp);
        rest_ = amp == std::string_view::npos ? rest_.substr(rest_.size()) : rest_.substr(amp + 1);
        if (pair.empty()) continue;
        const std::size_t eq = pair.find('=');
        if (eq == std::string_view::npos)
          current_ = {pair, pair.substr(pair.size())};
        else
          current_ = {pair.substr(0, eq), pair.substr(eq + 1)};
        return;
      }
      done_ = true;
    }

    std::string_view rest_;
    value_type current_;
    bool done_ = true;
  };

  constexpr explicit query_params(std::string_view query) noexcept : query_(query) {}

  iterator begin() const noexcept {
    iterator it(query_);
    return it;
  }
  iterator end() const noexcept {
    iterator it;
    it.rest_ = query_.substr(query_.size());
    it.done_ = true;
    return it;
  }

  // The raw value of the first pair whose raw key equals `key`.
  std::optional<std::string_view> find(std::string_view key) const noexcept {
    for (const auto& [k, v] : *this)
      if (k == key) return v;
    return std::nullopt;
  }
  bool contains(std::string_view key) const noexcept { return find(key).has_value(); }

 private:
  std::string_view query_;
};

// The segments of a path, still percent-encoded: "/a/b" -> "a", "b"; "/a/" -> "a", ""; "/" -> "". The
// leading '/' is not a segment boundary, so a trailing slash shows up as a final empty segment.
class path_segments {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string_view*;
    using reference = const std::string_view&;

    iterator() = default;
    reference operator*() const noexcept { return current_; }
    pointer operator->() const noexcept { return &current_; }
    iterator& operator++() noexcept {
      advance();
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator old = *this;
      advance();
      return old;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.done_ == b.done_; }

   private:
    friend class path_segments;
    iterator(std::string_view rest, bool done) noexcept : rest_(rest), done_(done) {
      if (!done_) advance();
    }

    void advance() noexcept {
      if (last_) {
        done_ = true;
        return;
      }
      const std::size_t slash = rest_.find('/');
      current_ = rest_.substr(0, slash);
      if (slash == std::string_view::npos)
        last_ = true;
      else
        rest_.remove_prefix(slash + 1);
    }

    std::string_view rest_;
    std::string_view current_;
    bool done_ = true;
    bool last_ = false;
  };

  constexpr explicit path_segments(std::string_view path) noexcept
      : path_(!path.empty() && path.front() == '/' ? path.substr(1) : path) {}

  iterator begin() const noexcept { return iterator(path_, false); }
  iterator end() const noexcept { return iterator(path_, true); }

 private:
  std::string_view path_;
};

}  // namespace http
}  // namespace v0
}  // namespace keel
