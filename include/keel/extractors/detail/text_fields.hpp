// Fills a DTO from text key/value pairs: a query string or an application/x-www-form-urlencoded body.
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"
#include "keel/error.hpp"
#include "keel/extractors/detail/text_value.hpp"
#include "keel/http/url.hpp"
#include "keel/json/reader.hpp"
#include "keel/json/reflect.hpp"
#include "keel/validate/validated.hpp"

#include <bitset>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

// Field types: anything one text value converts into (see text_value.hpp); std::optional of one (absent or
// an empty value: nullopt); std::vector of one, filled by repeated keys in order (`tag=a&tag=b`); and a
// validator over such a vector (keel::sized<std::vector<std::string>, 0, 5>), checked once all keys were
// read, even when none came. Keys are the DTO's JSON names (so renames and naming policies apply) and are
// percent-decoded, '+' as space, like values. Every problem is reported, with the key as its path
// (`tag[1]` for the second value of a repeated key), as a 422.
//
// A repeated key takes at most max_repeated_values<M>() values: the maximum of a keel::sized<> field, else
// default_max_repeated_values. Values beyond it are a 422 and are not stored, so a client cannot make the
// server hold (or build SQL from) an unbounded list.

namespace keel {
inline namespace v0 {
namespace detail {

// A validator over a vector of values (keel::sized<std::vector<int>, 1, 5>): its rules see the whole list.
template <class M>
concept text_vector_validator = Validator<M> && is_text_vector<typename M::value_type> &&
    text_convertible<typename M::value_type::value_type>;

template <class M>
concept text_field = text_convertible<M> || text_vector_validator<M> ||
    ((is_text_optional<M> || is_text_vector<M>)&&text_convertible<typename M::value_type>);

template <class T>
inline constexpr bool all_text_fields = []<std::size_t... I>(std::index_sequence<I...>) {
  return (text_field<std::remove_cvref_t<decltype(boost::pfr::get<I>(std::declval<T&>()))>> && ...);
}
(std::make_index_sequence<field_count<T>>{});

// Values a repeated key may carry when its field sets no maximum (a plain std::vector, or keel::sized<>
// without Max). Each value usually becomes a bound parameter or a condition of a query: a few hundred of
// them reach the engines' limits (SQLite's parser stack, expression depth, 32766 variables).
inline constexpr std::size_t default_max_repeated_values = 100;

// The most values field M takes from repeated keys: keel::sized<std::vector<T>, 0, 500> raises (or lowers)
// the default for its field.
template <class M>
constexpr std::size_t max_repeated_values() {
  if constexpr (text_vector_validator<M>) {
    if constexpr (M::constraints.max_items.has_value()) return *M::constraints.max_items;
  }
  return default_max_repeated_values;
}

// Collects field errors; the http_error (and its allocations) only exists once something went wrong.
class text_field_errors {
 public:
  explicit text_field_errors(std::string_view location) : location_(location) {}
  void add(std::string path, std::string reason) {
    if (!error_) error_.emplace(validation_failed());
    error_->add_field(std::string(location_), std::move(path), std::move(reason));
  }
  bool any() const noexcept { return error_.has_value(); }
  http_error take() && { return std::move(*error_); }

 private:
  std::string_view location_;
  std::optional<http_error> error_;
};

// One decoded value for field M (named `key`); `repeat` is how many values the key had before this one.
template <class M>
void assign_text_field(std::string_view key, std::string_view text, std::size_t repeat, M& member,
                       text_field_errors& errors) {
  std::string reason;
  if constexpr (text_convertible<M> || is_text_optional<M>) {
    if (repeat != 0) return errors.add(std::string(key), "repeated key; expected one value");
    if constexpr (is_text_optional<M>) {
      // An HTML form sends an empty input as `name=`: for anything but text that means "not given".
      if (text.empty() && !is_text_string<typename M::value_type>) return;
      if (!parse_text_value(text, member.emplace(), reason)) errors.add(std::string(key), std::move(reason));
    } else if (!parse_text_value(text, member, reason)) {
      errors.add(std::string(key), std::move(reason));
    }
  } else {
    constexpr std::size_t most = max_repeated_values<M>();
    if (repeat >= most) {
      if (repeat == most)
        errors.add(std::string(key), "must have at most " + std::to_string(most) + " items");
      return;
    }
    auto& items = [&]() -> auto& {
      if constexpr (text_vector_validator<M>)
        return member.get();
      else
        return member;
    }
    ();
    if (!parse_text_value(text, items.emplace_back(), reason))
      errors.add(std::string(key) + '[' + std::to_string(repeat) + ']', std::move(reason));
  }
}

template <class T, std::size_t... I>
void assign_text_field_at(std::size_t index, std::string_view text, std::size_t repeat, T& out,
                          text_field_errors& errors, std::index_sequence<I...>) {
  static_cast<void>(
      ((index == I
            ? (assign_text_field(json_field_name<T, I>, text, repeat, boost::pfr::get<I>(out), errors), true)
            : false) ||
       ...));
}

// Decodes `raw` when it holds escapes; the result stays valid until the next call with the same buffer.
inline bool decode_text(std::string_view raw, std::string& buffer, std::string_view& out) {
  if (!http::needs_decoding(raw, true)) {
    out = raw;
    return true;
  }
  if (!http::percent_decode(raw, buffer, true)) return false;
  out = buffer;
  return true;
}

// Reads the pairs of `encoded` ("a=1&b=x+y") into a T. Absent fields keep their member initializers when
// `absent_keeps_default` (the DTO's own keel_missing_fields, when it has one, decides instead); otherwise
// every field but optionals and vectors is required.
template <class T>
result<T> read_text_fields(std::string_view encoded, std::string_view location, bool absent_keeps_default) {
  constexpr std::size_t count = field_count<T>;
  using indices = std::make_index_sequence<count>;
  if constexpr (declares_missing_fields<T>) absent_keeps_default = missing_fields_use_defaults_hook<T>();
  // Per thread, so decoding costs no allocation once the buffers have grown.
  thread_local std::string key_buffer, value_buffer;
  T out{};
  std::array<std::size_t, count> repeats{};
  text_field_errors errors(location);
  for (auto [raw_key, raw_value] : http::query_params(encoded)) {
    std::string_view key, value;
    if (!decode_text(raw_key, key_buffer, key)) {
      errors.add(std::string(raw_key), "invalid percent-encoding");
      continue;
    }
    std::size_t index = match_unescaped_field<T>(key, indices{});
    if (index == count) {
      if constexpr (rejects_unknown_fields<T>) errors.add(std::string(key), "unknown field");
      continue;
    }
    if (!decode_text(raw_value, value_buffer, value)) {
      errors.add(std::string(key), "invalid percent-encoding");
      continue;
    }
    assign_text_field_at(index, value, repeats[index]++, out, errors, indices{});
  }
  for_each_field(out, [&]<std::size_t I>(std::integral_constant<std::size_t, I>, auto& member) {
    using M = std::remove_cvref_t<decltype(member)>;
    if constexpr (text_vector_validator<M>) {
      if (std::string_view reason = member.check(); !reason.empty())
        errors.add(std::string(json_field_name<T, I>), std::string(reason));
    } else if constexpr (!is_text_optional<M> && !is_text_vector<M>) {
      if (repeats[I] == 0 && !absent_keeps_default)
        errors.add(std::string(json_field_name<T, I>), "field required");
    }
  });
  if constexpr (SelfValidating<T>) {
    if (!errors.any())
      for (auto& e : out.validate()) errors.add(std::move(e.path), std::move(e.reason));
  }
  if (errors.any()) return std::move(errors).take();
  return out;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
