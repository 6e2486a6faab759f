// The names of a settings struct's fields in each source: --flag-name, PREFIX_ENV_NAME, the config file's
// key (its JSON key), and the --help description and value name the struct declares for them.
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"
#include "keel/detail/reflect/field_names.hpp"
#include "keel/json/naming.hpp"
#include "keel/json/reflect.hpp"
#include "keel/server/config_parse.hpp"
#include "keel/settings/detail/value.hpp"

#include <boost/pfr.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace keel {
inline namespace v0 {
namespace detail {

// db_url -> "db-url"
inline std::string flag_name_of(std::string_view cpp_name) {
  std::string out(cpp_name);
  for (char& c : out)
    if (c == '_') c = '-';
  return out;
}

// ("APP_", db_url) -> "APP_DB_URL"
inline std::string env_name_of(std::string_view prefix, std::string_view cpp_name) {
  std::string out(prefix);
  for (char c : cpp_name) out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  return out;
}

// A field whose flag is one of keel's own (--port, --help, --config ...) would make one of them unreachable.
consteval bool flag_is_taken(std::string_view cpp_name) {
  auto same = [cpp_name](std::string_view flag) {
    if (flag.size() != cpp_name.size()) return false;
    for (std::size_t i = 0; i < flag.size(); ++i)
      if (flag[i] != (cpp_name[i] == '_' ? '-' : cpp_name[i])) return false;
    return true;
  };
  for (const setting_description& s : settings)
    if (same(s.key)) return true;
  return same("help") || same("config") || same("no-server-header");
}

template <class S>
consteval bool settings_flags_are_free() {
  for (std::string_view name : cpp_field_names<S>)
    if (flag_is_taken(name)) return false;
  return true;
}

// One line of --help from `keel_field_descriptions` (the table DTOs use for OpenAPI, keyed by JSON key).
template <class S, std::size_t I>
std::string_view field_description() {
  if constexpr (has_field_descriptions<S>) {
    for (const auto& [key, text] : field_descriptions_of<S>())
      if (std::string_view(key) == json_field_name<S, I>) return text;
  }
  return {};
}

// `keel_value_names` ({"root", "DIR"}) overrides the value name the type gives (TEXT, N, MS ...).
template <class S, std::size_t I>
std::string field_value_name() {
  if constexpr (has_value_names<S>) {
    for (const auto& [key, text] : value_names_of<S>())
      if (std::string_view(key) == json_field_name<S, I>) return std::string(text);
  }
  return value_name<boost::pfr::tuple_element_t<I, S>>();
}

// One field's check: the compiler's "required from" line names the struct, the field's index and its type.
template <class S, std::size_t FieldIndex, class FieldType = boost::pfr::tuple_element_t<FieldIndex, S>>
consteval bool check_settings_field() {
  static_assert(
      settable<FieldType>,
      "keel::settings: a settings field has a type the config layer cannot parse; use std::string, "
      "bool, an integer, a floating-point number, an enum, a std::chrono::duration, or std::optional, "
      "std::vector, keel::secret or keel::validated of those");
  return true;
}

// The whole-struct checks, with the messages a user of keel::settings reads when one fails.
template <class S>
consteval bool check_settings_struct() {
  static_assert(Dto<S>, "keel::settings: the settings type must be a plain aggregate struct");
  [[maybe_unused]] const bool fields_ok = []<std::size_t... I>(std::index_sequence<I...>) {
    return (check_settings_field<S, I>() && ...);
  }
  (std::make_index_sequence<field_count<S>>{});
  static_assert(
      settings_flags_are_free<S>(),
      "keel::settings: a settings field has the name of one of keel's own flags (--port, --threads, "
      "--config, --help ...); rename the field");
  return true;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
