// The --config FILE of keel::settings: a JSON object read into (key, text) pairs, each value in the text form
// a flag would give it (numbers and booleans as written, arrays comma-joined, null as "").
#pragma once

#include "keel/config.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace detail {

struct file_setting {
  std::string key;
  std::string text;
};

struct settings_file {
  std::vector<file_setting> values;
  std::vector<std::string> problems;  // "FILE: ..." lines
};

template <class Number>
std::string number_text(Number n) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, n);
  return std::string(buffer, ec == std::errc{} ? end : buffer);
}

// A scalar's text, or false for an object (or an array inside an array).
inline bool scalar_text(simdjson::dom::element value, std::string& out) {
  using type = simdjson::dom::element_type;
  switch (value.type()) {
    case type::STRING:
      out = std::string(std::string_view(value.get_string().value_unsafe()));
      return true;
    case type::INT64:
      out = number_text(value.get_int64().value_unsafe());
      return true;
    case type::UINT64:
      out = number_text(value.get_uint64().value_unsafe());
      return true;
    case type::DOUBLE:
      out = number_text(value.get_double().value_unsafe());
      return true;
    case type::BOOL:
      out = value.get_bool().value_unsafe() ? "true" : "false";
      return true;
    case type::NULL_VALUE:
      out.clear();
      return true;
    default:
      return false;
  }
}

inline settings_file read_settings_file(const std::string& path) {
  settings_file out;
  simdjson::padded_string text;
  if (auto error = simdjson::padded_string::load(path).get(text)) {
    out.problems.push_back("--config " + path + ": cannot read the file (" + simdjson::error_message(error) +
                           ")");
    return out;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(text).get(root)) {
    out.problems.push_back("--config " + path + ": not valid JSON (" + simdjson::error_message(error) + ")");
    return out;
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) {
    out.problems.push_back("--config " + path + ": must hold one JSON object of settings");
    return out;
  }
  for (auto [key, value] : object) {
    file_setting setting{std::string(key), {}};
    bool ok = true;
    if (value.type() == simdjson::dom::element_type::ARRAY) {
      simdjson::dom::array items;
      ok = !value.get_array().get(items);
      for (simdjson::dom::element item : items) {
        std::string item_text;
        ok = ok && scalar_text(item, item_text);
        if (!setting.text.empty()) setting.text.push_back(',');
        setting.text.append(item_text);
      }
    } else {
      ok = scalar_text(value, setting.text);
    }
    if (!ok)
      out.problems.push_back(path + " " + setting.key +
                             ": must be a string, number, boolean or array of them");
    else
      out.values.push_back(std::move(setting));
  }
  return out;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
