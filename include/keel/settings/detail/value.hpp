// How one setting's type is read from text (a flag, a variable, a config-file value) and written back for
// `config` and --help: the settable concept, parse_value, format_value, value_name, check_value.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/type_traits.hpp"
#include "keel/extract.hpp"
#include "keel/extractors/detail/text_value.hpp"
#include "keel/json/enum.hpp"
#include "keel/settings/secret.hpp"
#include "keel/validate/validated.hpp"

#include <charconv>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <limits>
#include <optional>
#include <ratio>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace keel {
inline namespace v0 {
namespace detail {

template <class T>
inline constexpr bool is_duration_setting = false;
template <class Rep, class Period>
inline constexpr bool is_duration_setting<std::chrono::duration<Rep, Period>> = true;

template <class T>
inline constexpr bool is_validated_setting = false;
template <class T, class... Rules>
inline constexpr bool is_validated_setting<validated<T, Rules...>> = true;

// The types a setting may have, recursively: text, bool, numbers, enums (by name), durations (a whole number
// of their unit), and std::optional / std::vector (comma-separated in flags and variables) / keel::secret /
// keel::validated around those.
template <class T>
consteval bool is_settable() {
  if constexpr (std::is_same_v<T, std::string> || std::is_arithmetic_v<T> || std::is_enum_v<T>)
    return true;
  else if constexpr (is_duration_setting<T>)
    return std::is_integral_v<typename T::rep>;
  else if constexpr (is_optional<T> || is_secret<T> || is_validated_setting<T>)
    return is_settable<typename T::value_type>();
  else if constexpr (is_text_vector<T>)
    return !is_text_vector<typename T::value_type> && !is_optional<typename T::value_type> &&
           is_settable<typename T::value_type>();
  else
    return false;
}
template <class T>
concept settable = is_settable<T>();

template <class Int>
std::string integer_reason() {
  return "must be an integer from " + std::to_string(std::numeric_limits<Int>::min()) + " to " +
         std::to_string(std::numeric_limits<Int>::max());
}

template <class Period>
constexpr std::string_view duration_unit() {
  if constexpr (std::is_same_v<Period, std::milli>)
    return "milliseconds";
  else if constexpr (std::is_same_v<Period, std::micro>)
    return "microseconds";
  else if constexpr (std::is_same_v<Period, std::ratio<1>>)
    return "seconds";
  else if constexpr (std::is_same_v<Period, std::ratio<60>>)
    return "minutes";
  else if constexpr (std::is_same_v<Period, std::ratio<3600>>)
    return "hours";
  else
    return "units";
}

inline std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Reads `text` into `out`; returns "" or why the text is no value of this type (without the text itself,
// which the caller adds unless the setting is a secret).
template <settable T>
std::string parse_value(std::string_view text, T& out) {
  if constexpr (std::is_same_v<T, std::string>) {
    out.assign(text);
    return {};
  } else if constexpr (std::is_same_v<T, bool>) {
    if (text == "yes" || text == "on") return out = true, std::string{};  // besides true/1, as in env files
    if (text == "no" || text == "off") return out = false, std::string{};
    return parse_scalar_text(text, out) ? std::string{} : std::string("must be true or false");
  } else if constexpr (std::is_arithmetic_v<T>) {
    if (parse_scalar_text(text, out)) return {};
    if constexpr (std::is_integral_v<T>)
      return integer_reason<T>();
    else
      return "must be a number";
  } else if constexpr (std::is_enum_v<T>) {
    if (auto found = enum_from_name<T>(text)) return out = *found, std::string{};
    return enum_expectation<T>();
  } else if constexpr (is_duration_setting<T>) {
    typename T::rep count{};
    if (!parse_value(text, count).empty() || count < 0)
      return "must be a whole number of " + std::string(duration_unit<typename T::period>());
    out = T(count);
    return {};
  } else if constexpr (is_optional<T>) {
    if (text.empty()) return out.reset(), std::string{};  // APP_X= clears an optional
    return parse_value(text, out.emplace());
  } else if constexpr (is_secret<T>) {
    return parse_value(text, out.reveal());
  } else if constexpr (is_validated_setting<T>) {
    return parse_value(text, out.get());  // the rules are checked once every source was read
  } else {
    static_assert(is_text_vector<T>);
    out.clear();
    while (!text.empty()) {
      const std::size_t comma = text.find(',');
      std::string reason = parse_value(trim_spaces(text.substr(0, comma)), out.emplace_back());
      if (!reason.empty()) return "every item " + reason;
      text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    }
    return {};
  }
}

// The value as `config` and --help show it: text quoted, secrets "***", an empty optional "(unset)".
template <settable T>
std::string format_value(const T& value) {
  if constexpr (std::is_same_v<T, std::string>) {
    return "\"" + value + "\"";
  } else if constexpr (std::is_same_v<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (std::is_enum_v<T>) {
    return std::string(enum_name(value));
  } else if constexpr (std::is_arithmetic_v<T>) {
    char buffer[64];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, ec == std::errc{} ? end : buffer);
  } else if constexpr (is_duration_setting<T>) {
    return format_value(value.count());
  } else if constexpr (is_optional<T>) {
    return value ? format_value(*value) : std::string("(unset)");
  } else if constexpr (is_secret<T>) {
    return std::string(T::redacted);
  } else if constexpr (is_validated_setting<T>) {
    return format_value(value.get());
  } else {
    std::string out;
    for (const auto& item : value) {
      if (!out.empty()) out.push_back(',');
      std::string text = format_value(item);
      if (text.size() >= 2 && text.front() == '"') text = text.substr(1, text.size() - 2);
      out.append(text);
    }
    return "\"" + out + "\"";
  }
}

// The rules of keel::validated fields (inside optionals and secrets too): "" or the first broken rule.
template <class T>  // unconstrained: an unsettable field has its one static_assert, not another error here
std::string_view check_value(const T& value) {
  if constexpr (is_validated_setting<T>)
    return value.check();
  else if constexpr (is_optional<T>)
    return value ? check_value(*value) : std::string_view{};
  else if constexpr (is_secret<T>)
    return check_value(value.reveal());
  else
    return {};
}

// What --help writes after the flag: "" for a switch (a bool), else TEXT, N, MS, "a|b" for keel::one_of...
template <settable T>
std::string value_name() {
  if constexpr (std::is_same_v<T, bool>) {
    return {};
  } else if constexpr (std::is_same_v<T, std::string>) {
    return "TEXT";
  } else if constexpr (std::is_integral_v<T>) {
    return "N";
  } else if constexpr (std::is_floating_point_v<T>) {
    return "X";
  } else if constexpr (std::is_enum_v<T>) {
    std::string out;
    for (const auto& entry : enum_entries<T>) out.append(out.empty() ? "" : "|").append(entry.second);
    return out;
  } else if constexpr (is_duration_setting<T>) {
    using P = typename T::period;
    if constexpr (std::is_same_v<P, std::milli>)
      return "MS";
    else if constexpr (std::is_same_v<P, std::ratio<1>>)
      return "SECONDS";
    else
      return "N";
  } else if constexpr (is_validated_setting<T>) {
    if constexpr (!T::constraints.allowed.empty()) {
      std::string out;
      for (std::string_view v : T::constraints.allowed) out.append(out.empty() ? "" : "|").append(v);
      return out;
    } else {
      return value_name<typename T::value_type>();
    }
  } else if constexpr (is_text_vector<T>) {
    return value_name<typename T::value_type>() + ",...";
  } else {
    const std::string inner = value_name<typename T::value_type>();  // optional, secret
    return inner.empty() ? std::string("BOOL") : inner;
  }
}

template <class T>
inline constexpr bool is_switch_setting = std::is_same_v<T, bool>;

template <class T>
constexpr bool is_secret_setting() {
  if constexpr (is_secret<T>)
    return true;
  else if constexpr (is_optional<T> || is_validated_setting<T>)
    return is_secret_setting<typename T::value_type>();
  else
    return false;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
