// JSON Schema (OpenAPI 3.1 dialect) of C++ types: DTOs become components/schemas referenced by $ref, and the
// constraints of validator types become minLength, maximum, pattern, format, enum, ...
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"
#include "keel/detail/json_escape.hpp"
#include "keel/json/enum.hpp"
#include "keel/json/nullable.hpp"
#include "keel/json/reflect.hpp"
#include "keel/json/traits.hpp"
#include "keel/json/writer.hpp"
#include "keel/validate/validated.hpp"

#include <boost/pfr.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

// What a DTO may add to its schema (all optional):
//   struct todo {
//     static constexpr std::string_view keel_schema_name = "Todo";       // component name (default: the
//                                                                         // unqualified C++ name)
//     static constexpr std::string_view keel_description = "A thing to do.";
//     static todo keel_example() { return {.id = 1, .title = "Buy milk"}; }  // written as `examples`
//     static constexpr std::pair<std::string_view, std::string_view> keel_field_descriptions[] = {
//         {"title", "What to do, 1 to 120 characters"}};                   // by JSON key
//     ...
//   };
// A type with a keel::json_traits specialization is described by its json_type.
//
// The schemas are built as text once, when the document is generated (at startup), so this is plain runtime
// code instantiated once per described type: no constant-evaluated JSON.

namespace keel {
inline namespace v0 {
namespace openapi {

class schema_registry;

namespace detail {

using keel::detail::append_json_string;

// The address of type_key<T> identifies T across translation units (inline variable).
template <class T>
inline constexpr char type_key = 0;

template <class T>
std::string_view pretty_type_text() {
  return __PRETTY_FUNCTION__;
}

// "ns::page<ns::todo>" -> "page_todo": the type's name without namespaces, reduced to the characters
// OpenAPI allows in component names ([A-Za-z0-9._-]).
inline std::string component_name_from(std::string_view pretty) {
  std::size_t at = pretty.find("T = ");
  if (at == std::string_view::npos) return "Schema";
  std::string_view text = pretty.substr(at + 4);
  // g++ closes with "; ..." or "]", clang with "]"; a template argument list never holds ';' and its ']'
  // only inside brackets, which a type name in a DTO does not have.
  int depth = 0;
  std::size_t end = 0;
  for (; end < text.size(); ++end) {
    char c = text[end];
    if (c == '<' || c == '(') ++depth;
    if (c == '>' || c == ')') --depth;
    if (depth == 0 && (c == ';' || c == ']')) break;
  }
  text = text.substr(0, end);
  for (std::string_view prefix :
       {std::string_view("struct "), std::string_view("class "), std::string_view("enum ")})
    if (text.substr(0, prefix.size()) == prefix) text.remove_prefix(prefix.size());
  std::string out;
  std::size_t name_start = 0;  // where the (possibly qualified) name being copied began in `out`
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    // Anonymous namespaces print as "{anonymous}" (g++) or "(anonymous namespace)" (clang).
    for (std::string_view anon : {std::string_view("{anonymous}"), std::string_view("(anonymous namespace)")})
      if (text.substr(i, anon.size()) == anon) {
        i += anon.size();
        c = i < text.size() ? text[i] : '\0';
      }
    if (c == '\0') break;
    // Namespaces and enclosing classes disappear at every nesting level: ns::page<ns::todo> -> page_todo.
    if (c == ':' && i + 1 < text.size() && text[i + 1] == ':') {
      out.resize(name_start);
      ++i;
      continue;
    }
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    if (ok) {
      out.push_back(c);
    } else {
      if (!out.empty() && out.back() != '_') out.push_back('_');
      name_start = out.size();
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? std::string("Schema") : out;
}

template <class T>
std::string component_name() {
  if constexpr (keel::detail::has_schema_name<T>) {
    return std::string(keel::detail::schema_name_of<T>());
  } else {
    return component_name_from(pretty_type_text<T>());
  }
}

template <class T>
constexpr bool has_constraints = requires {
  T::constraints;
}
&&keel::Validator<T>;

inline void append_number(std::string& out, std::string_view key, long long v) {
  out.append(",\"").append(key).append("\":").append(std::to_string(v));
}
inline void append_unsigned(std::string& out, std::string_view key, unsigned long long v) {
  out.append(",\"").append(key).append("\":").append(std::to_string(v));
}

inline void string_constraints(std::string& out, const keel::constraints& c) {
  if (c.min_length) append_unsigned(out, "minLength", *c.min_length);
  if (c.max_length) append_unsigned(out, "maxLength", *c.max_length);
  if (!c.pattern.empty()) {
    out.append(",\"pattern\":");
    append_json_string(out, c.pattern);
  }
  if (!c.format.empty()) {
    out.append(",\"format\":");
    append_json_string(out, c.format);
  }
  if (!c.allowed.empty()) {
    out.append(",\"enum\":[");
    for (std::size_t i = 0; i < c.allowed.size(); ++i) {
      if (i != 0) out.push_back(',');
      append_json_string(out, c.allowed[i]);
    }
    out.push_back(']');
  }
}

template <class T>
void integer_body(std::string& out, const keel::constraints& c) {
  out.append(sizeof(T) <= 4 && (std::is_signed_v<T> || sizeof(T) < 4)
                 ? "\"type\":\"integer\",\"format\":\"int32\""
                 : "\"type\":\"integer\",\"format\":\"int64\"");
  // The range of a type narrower than int32 is a constraint too (the reader range-checks); wider ranges
  // are what the format says already.
  if (c.minimum) {
    append_number(out, "minimum", *c.minimum);
  } else if constexpr (std::is_unsigned_v<T>) {
    append_number(out, "minimum", 0);
  } else if constexpr (sizeof(T) < 4) {
    append_number(out, "minimum", static_cast<long long>(std::numeric_limits<T>::min()));
  }
  if (c.maximum) {
    append_number(out, "maximum", *c.maximum);
  } else if constexpr (sizeof(T) < 4) {
    append_number(out, "maximum", static_cast<long long>(std::numeric_limits<T>::max()));
  }
}

}  // namespace detail

// Collects the component schemas of the DTOs met while describing types; one registry per document.
class schema_registry {
 public:
  struct component {
    std::string name;
    std::string schema;  // a JSON object
    const void* key = nullptr;
  };

  // The schema of T as a JSON object ("{...}"); a DTO is a {"$ref": ...} to its component.
  template <class T>
  std::string schema_of() {
    std::string out = "{";
    body<T>(out, {});
    out.push_back('}');
    return out;
  }

  // Appends the members of T's schema (without braces), honouring constraints `c` where they apply to T.
  template <class T>
  void body(std::string& out, const keel::constraints& c);

  // The component name of DTO T, registering T (and the DTOs it uses) on first use.
  template <Dto T>
  const std::string& component_of();

  const std::vector<component>& components() const noexcept { return components_; }

  // A hand-written component (e.g. the error shape); returns its reference text.
  std::string add(std::string name, std::string schema) {
    components_.push_back({unique_name(std::move(name)), std::move(schema), nullptr});
    return ref(components_.back().name);
  }

  static std::string ref(std::string_view name) {
    std::string out = "#/components/schemas/";
    out.append(name);
    return out;
  }

 private:
  std::string unique_name(std::string name) {
    auto taken = [&](const std::string& n) {
      for (const auto& c : components_)
        if (c.name == n) return true;
      return false;
    };
    if (!taken(name)) return name;
    for (int i = 2;; ++i) {
      std::string candidate = name + "_" + std::to_string(i);
      if (!taken(candidate)) return candidate;
    }
  }

  template <Dto T>
  std::string dto_schema();

  std::vector<component> components_;
};

template <Dto T>
const std::string& schema_registry::component_of() {
  const void* key = &detail::type_key<T>;
  for (const auto& c : components_)
    if (c.key == key) return c.name;
  // Registered before its fields are described, so that a recursive DTO refers to itself.
  components_.push_back({unique_name(detail::component_name<T>()), {}, key});
  std::size_t at = components_.size() - 1;
  std::string schema = dto_schema<T>();
  components_[at].schema = std::move(schema);
  return components_[at].name;
}

template <Dto T>
std::string schema_registry::dto_schema() {
  std::string out = "{\"type\":\"object\"";
  if constexpr (keel::detail::has_description<T>) {
    out.append(",\"description\":");
    detail::append_json_string(out, keel::detail::description_of<T>());
  }
  std::string required;
  out.append(",\"properties\":{");
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    auto field = [&]<std::size_t N>(std::integral_constant<std::size_t, N>) {
      using M = boost::pfr::tuple_element_t<N, T>;
      if (N != 0) out.push_back(',');
      detail::append_json_string(out, json_field_name<T, N>);
      out.append(":{");
      body<M>(out, {});
      if constexpr (keel::detail::has_field_descriptions<T>) {
        for (const auto& [key, text] : keel::detail::field_descriptions_of<T>())
          if (std::string_view(key) == json_field_name<T, N>) {
            out.append(",\"description\":");
            detail::append_json_string(out, std::string_view(text));
          }
      }
      out.push_back('}');
      if (!keel::detail::is_optional<M> && !keel::detail::is_nullable<M> && !missing_fields_use_defaults<T>) {
        if (!required.empty()) required.push_back(',');
        detail::append_json_string(required, json_field_name<T, N>);
      }
    };
    (field(std::integral_constant<std::size_t, I>{}), ...);
  }
  (std::make_index_sequence<field_count<T>>{});
  out.push_back('}');
  if (!required.empty()) out.append(",\"required\":[").append(required).append("]");
  if constexpr (rejects_unknown_fields<T>) out.append(",\"additionalProperties\":false");
  if constexpr (keel::detail::has_example<T>) {
    out.append(",\"examples\":[");
    json_io::write(out, keel::detail::example_of<T>());
    out.push_back(']');
  }
  out.push_back('}');
  return out;
}

template <class T>
void schema_registry::body(std::string& out, const keel::constraints& c) {
  using keel::detail::is_optional;
  using keel::detail::is_variant;
  if constexpr (HasJsonTraits<T> && requires { typename json_traits<T>::json_type; }) {
    body<typename json_traits<T>::json_type>(out, c);
  } else if constexpr (keel::Validator<T>) {
    if constexpr (detail::has_constraints<T>) {
      keel::constraints merged = T::constraints;
      auto keep = [](auto& into, const auto& from) {
        if (from) into = from;
      };
      keep(merged.min_length, c.min_length);
      keep(merged.max_length, c.max_length);
      keep(merged.minimum, c.minimum);
      keep(merged.maximum, c.maximum);
      keep(merged.min_items, c.min_items);
      keep(merged.max_items, c.max_items);
      if (!c.pattern.empty()) merged.pattern = c.pattern;
      if (!c.format.empty()) merged.format = c.format;
      if (!c.allowed.empty()) merged.allowed = c.allowed;
      body<typename T::value_type>(out, merged);
    } else {
      body<typename T::value_type>(out, c);
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    out.append("\"type\":\"boolean\"");
  } else if constexpr (std::is_integral_v<T>) {
    detail::integer_body<T>(out, c);
  } else if constexpr (std::is_floating_point_v<T>) {
    out.append(sizeof(T) <= 4 ? "\"type\":\"number\",\"format\":\"float\""
                              : "\"type\":\"number\",\"format\":\"double\"");
    if (c.minimum) detail::append_number(out, "minimum", *c.minimum);
    if (c.maximum) detail::append_number(out, "maximum", *c.maximum);
  } else if constexpr (std::is_enum_v<T>) {
    out.append("\"type\":\"string\",\"enum\":[");
    bool first = true;
    for (const auto& entry : enum_entries<T>) {
      if (!first) out.push_back(',');
      first = false;
      detail::append_json_string(out, entry.second);
    }
    out.push_back(']');
  } else if constexpr (keel::detail::system_time_point<T>) {
    out.append("\"type\":\"string\",\"format\":\"date-time\"");
  } else if constexpr (keel::detail::string_like<T>) {
    out.append("\"type\":\"string\"");
    detail::string_constraints(out, c);
  } else if constexpr (std::is_same_v<T, std::monostate> || std::is_null_pointer_v<T>) {
    out.append("\"type\":\"null\"");
  } else if constexpr (is_optional<T>) {
    body<typename T::value_type>(out, c);
  } else if constexpr (keel::detail::is_nullable<T>) {
    // T's schema or null (OpenAPI 3.1 is JSON Schema: no `nullable` keyword).
    out.append("\"oneOf\":[{");
    body<typename T::value_type>(out, c);
    out.append("},{\"type\":\"null\"}]");
  } else if constexpr (is_variant<T>) {
    out.append("\"oneOf\":[");
    [&]<class... A>(std::variant<A...>*) {
      bool first = true;
      auto one = [&]<class X>(X*) {
        if (!first) out.push_back(',');
        first = false;
        out.push_back('{');
        body<X>(out, {});
        out.push_back('}');
      };
      (one(static_cast<A*>(nullptr)), ...);
    }(static_cast<T*>(nullptr));
    out.push_back(']');
  } else if constexpr (keel::detail::string_keyed_map<T>) {
    out.append("\"type\":\"object\",\"additionalProperties\":{");
    body<typename T::mapped_type>(out, {});
    out.push_back('}');
    if (c.min_items) detail::append_unsigned(out, "minProperties", *c.min_items);
    if (c.max_items) detail::append_unsigned(out, "maxProperties", *c.max_items);
  } else if constexpr (keel::detail::has_openapi_schema<T>) {
    out.append(keel::detail::openapi_schema_of<T>());  // a type with its own schema (keel::upload: a file)
  } else if constexpr (Dto<T>) {
    out.append("\"$ref\":");
    detail::append_json_string(out, ref(component_of<T>()));
  } else if constexpr (keel::detail::json_array_like<T>) {
    out.append("\"type\":\"array\",\"items\":{");
    body<std::remove_cvref_t<std::ranges::range_value_t<T>>>(out, {});
    out.push_back('}');
    if constexpr (keel::detail::is_std_array<T>) {
      constexpr std::size_t n = std::tuple_size_v<T>;
      detail::append_unsigned(out, "minItems", n);
      detail::append_unsigned(out, "maxItems", n);
    } else {
      if (c.min_items) detail::append_unsigned(out, "minItems", *c.min_items);
      if (c.max_items) detail::append_unsigned(out, "maxItems", *c.max_items);
    }
  } else {
    // Unknown to keel's JSON layer: any value. (keel::json_traits<T> describes it precisely.)
    out.append("\"description\":\"any JSON value\"");
  }
}

}  // namespace openapi
}  // namespace v0
}  // namespace keel
