// The state of one json_io::read: path, errors, depth, and the syntax-or-type-error helpers.
#pragma once

#include "keel/config.hpp"
#include "keel/json/errors.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

// Error reporting kept out of the decoding functions' hot code: with it inlined into every member read, the
// decode walked more cache lines of code per document than the parse itself.
#if defined(__GNUC__)
#define KEEL_JSON_COLD __attribute__((cold, noinline))
#else
#define KEEL_JSON_COLD
#endif

// The helpers below tell a wrong-typed value (a field error) from malformed JSON (a syntax error).

namespace keel {
inline namespace v0 {
namespace detail {

namespace ondemand = simdjson::ondemand;

// The JSON number grammar (RFC 8259 section 6): used to decide whether a number simdjson refused is
// malformed or merely out of range for the target.
constexpr bool is_json_number(std::string_view s) noexcept {
  std::size_t i = 0, n = s.size();
  auto digit = [&](std::size_t at) { return at < n && s[at] >= '0' && s[at] <= '9'; };
  if (i < n && s[i] == '-') ++i;
  if (!digit(i)) return false;
  if (s[i] == '0')
    ++i;
  else
    while (digit(i)) ++i;
  if (i < n && s[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return i == n;
}

constexpr std::string_view trim_json_whitespace(std::string_view s) noexcept {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

constexpr std::string_view json_type_name(ondemand::json_type type) noexcept {
  switch (type) {
    case ondemand::json_type::array:
      return "an array";
    case ondemand::json_type::object:
      return "an object";
    case ondemand::json_type::number:
      return "a number";
    case ondemand::json_type::string:
      return "a string";
    case ondemand::json_type::boolean:
      return "a boolean";
    case ondemand::json_type::null:
      return "null";
  }
  return "a value";
}

class read_context {
 public:
  struct segment {
    std::string_view key;  // empty data(): an array index
    std::size_t index;
  };

  explicit read_context(std::size_t max_depth) : max_depth_(max_depth) {}

  // Inline and allocation-free once the stack has grown to the document's depth: these run for every field.
  KEEL_ALWAYS_INLINE void push_key(std::string_view key) {
    push({key.data() ? key : std::string_view("", 0), 0});
  }
  KEEL_ALWAYS_INLINE void push_index(std::size_t index) { push({std::string_view(), index}); }
  KEEL_ALWAYS_INLINE void pop() noexcept { --path_size_; }

  std::string path() const {
    std::string out;
    for (std::size_t i = 0; i < path_size_; ++i) {
      const segment& s = path_[i];
      if (s.key.data() == nullptr) {
        char digits[24];
        out.push_back('[');
        out.append(digits, std::to_chars(digits, digits + sizeof digits, s.index).ptr);
        out.push_back(']');
      } else {
        if (!out.empty()) out.push_back('.');
        out.append(s.key);
      }
    }
    return out;
  }

  // A problem with this value; reading goes on.
  KEEL_JSON_COLD void fail(std::string_view reason) {
    if (!aborted_) errors_.push_back({path(), std::string(reason)});
  }
  KEEL_JSON_COLD void fail(std::string_view reason_start, std::string_view reason_end) {
    std::string reason(reason_start);
    reason += reason_end;
    fail(reason);
  }
  // Malformed input: it replaces everything found so far and stops the read.
  KEEL_JSON_COLD void abort(std::string_view reason, bool at_document = true) {
    if (aborted_) return;
    std::string where = at_document ? std::string() : path();
    errors_.clear();
    errors_.push_back({std::move(where), std::string(reason)});
    aborted_ = true;
  }
  KEEL_JSON_COLD void abort(simdjson::error_code code) {
    std::string reason = "malformed JSON: ";
    reason += simdjson::error_message(code);
    abort(reason);
  }

  bool aborted() const noexcept { return aborted_; }
  std::size_t error_count() const noexcept { return errors_.size(); }
  std::vector<json_io::error>& errors() noexcept { return errors_; }

  // Entering an object or array; false (and the read stops) past the depth limit.
  bool enter() {
    if (++depth_ <= max_depth_) return true;
    std::string reason = "nesting deeper than ";
    reason += std::to_string(max_depth_);
    reason += " levels";
    abort(reason, false);
    return false;
  }
  void leave() noexcept { --depth_; }

  void reset(std::size_t max_depth) {
    max_depth_ = max_depth;
    depth_ = 0;
    aborted_ = false;
    path_size_ = 0;
    errors_.clear();
  }

 private:
  KEEL_ALWAYS_INLINE void push(segment s) {
    if (KEEL_UNLIKELY(path_size_ == path_.size())) path_.resize(path_.size() * 2 + 16);
    path_[path_size_++] = s;
  }

  std::vector<segment> path_;
  std::size_t path_size_ = 0;
  std::vector<json_io::error> errors_;
  std::size_t max_depth_;
  std::size_t depth_ = 0;
  bool aborted_ = false;
};

// Walks a value the reader does not map onto anything (an unknown field, a value of the wrong type) so that
// malformed JSON inside it is still caught: on-demand parsing only validates what is visited.
inline void check_value_syntax(ondemand::value value, read_context& ctx) {
  ondemand::json_type type;
  if (auto e = value.type().get(type)) return ctx.abort(e);
  switch (type) {
    case ondemand::json_type::object: {
      if (!ctx.enter()) return;
      ondemand::object object;
      if (auto e = value.get_object().get(object)) return ctx.abort(e);
      for (auto field_result : object) {
        ondemand::field field;
        if (auto e = std::move(field_result).get(field)) return ctx.abort(e);
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return ctx.abort(e);
        check_value_syntax(field.value(), ctx);
        if (ctx.aborted()) return;
      }
      ctx.leave();
      return;
    }
    case ondemand::json_type::array: {
      if (!ctx.enter()) return;
      ondemand::array array;
      if (auto e = value.get_array().get(array)) return ctx.abort(e);
      for (auto element_result : array) {
        ondemand::value element;
        if (auto e = std::move(element_result).get(element)) return ctx.abort(e);
        check_value_syntax(element, ctx);
        if (ctx.aborted()) return;
      }
      ctx.leave();
      return;
    }
    case ondemand::json_type::string: {
      std::string_view s;
      if (auto e = value.get_string().get(s)) ctx.abort(e);
      return;
    }
    case ondemand::json_type::number: {
      if (!is_json_number(trim_json_whitespace(value.raw_json_token())))
        ctx.abort("malformed JSON: invalid number");
      return;
    }
    case ondemand::json_type::boolean: {
      bool b;
      if (value.get_bool().get(b)) ctx.abort("malformed JSON: invalid literal");
      return;
    }
    case ondemand::json_type::null: {
      bool is_null = false;
      if (value.is_null().get(is_null) || !is_null) ctx.abort("malformed JSON: invalid literal");
      return;
    }
  }
}

// A value of the wrong JSON type: a field error "expected X, got Y" if the value is well-formed.
KEEL_JSON_COLD inline void reject_type(ondemand::value value, std::string_view expected, read_context& ctx) {
  ondemand::json_type type;
  if (auto e = value.type().get(type)) return ctx.abort(e);
  check_value_syntax(value, ctx);
  if (ctx.aborted()) return;
  std::string reason = "expected ";
  reason += expected;
  reason += ", got ";
  reason += json_type_name(type);
  ctx.fail(reason);
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
