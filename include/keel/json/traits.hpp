// The customization point for user types that are not DTOs: keel::json_traits<T>.
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"

#include <string>
#include <type_traits>

//
// A specialization says which JSON-able type stands in for T, and converts both ways:
//
//   template <> struct keel::json_traits<money> {
//     using json_type = std::string;                        // anything keel reads/writes: "12.50"
//     static json_type to_json(const money& m);            // for writing (may return any writable type)
//     static bool from_json(json_type&& j, money& out, std::string& reason);  // false: rejected, with reason
//   };
//
// The reader first reads json_type with every check it carries (so a validator type works as json_type),
// then calls from_json; a false return becomes an error at the field's path with `reason`. Either half may
// be left out for types that are only written or only read. The OpenAPI generator describes T by json_type.

namespace keel {
inline namespace v0 {

template <class T>
struct json_traits;

template <class T>
concept JsonWritableByTraits = requires(const T& value) {
  json_traits<T>::to_json(value);
};

template <class T>
concept JsonReadableByTraits = requires(typename json_traits<T>::json_type&& j, T& out, std::string& reason) {
  {
    json_traits<T>::from_json(static_cast<typename json_traits<T>::json_type&&>(j), out, reason)
    } -> std::convertible_to<bool>;
};

template <class T>
concept HasJsonTraits = JsonWritableByTraits<T> || JsonReadableByTraits<T>;

// DTO policies (keel::reject, keel::ignore, keel::use_defaults, keel::as_absent) and the hooks that choose
// them (keel_unknown_fields, keel_missing_fields, keel_null_fields): keel/customization.hpp.

}  // namespace v0
}  // namespace keel
