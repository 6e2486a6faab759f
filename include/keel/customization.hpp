// Every `keel_*` hook a type may declare, in one list, and keel::dto_traits<T>: the same DTO hooks for a type
// you cannot edit. keel reads each hook through the accessor next to it here, nowhere else.
#pragma once

#include "keel/config.hpp"

#include <concepts>
#include <iterator>
#include <string_view>
#include <type_traits>

// DTO hooks. A DTO (a plain aggregate struct) declares them as members, or, when the struct belongs to
// another library, a specialisation of keel::dto_traits<T> declares the same members under the same names:
//
//   namespace geo { struct point { std::int64_t id; double lat; double lon; }; }  // not yours to edit
//   template <> struct keel::dto_traits<geo::point> {
//     using keel_unknown_fields = keel::reject;
//     static constexpr std::string_view keel_table = "points";
//   };
//
// A hook the specialisation declares wins over a member of the same name. Every reader of a hook goes
// through its accessor below, so both forms behave identically everywhere. A hook of the wrong type is a
// static_assert naming the hook and its expected form. Each entry: the hook, an example declaration, what it
// does [who reads it].
//
// keel_naming            using keel_naming = keel::camel_case;
//     How C++ field names become JSON keys (a NamingPolicy, keel/json/naming.hpp); default: as declared.
//     [JSON, OpenAPI, form/query keys, settings]
// keel_rename            using keel_rename = keel::renames<keel::rename<"id", "ID">>;   (or one keel::rename)
//     Single keys, winning over keel_naming; each `from` must be a field of the struct. [same as keel_naming]
// keel_unknown_fields    using keel_unknown_fields = keel::reject;                        (or keel::ignore)
//     Keys the struct does not have: a 422 with reject; default ignore. [JSON, form, query, multipart]
// keel_missing_fields    using keel_missing_fields = keel::use_defaults;                  (or keel::reject)
//     Absent non-optional fields keep their member initializers; default reject (query DTOs: use_defaults).
//     [JSON, form, query, multipart, OpenAPI `required`]
// keel_null_fields       using keel_null_fields = keel::as_absent;                        (or keel::reject)
//     `null` for a std::optional field reads as left out; default reject (a 422). [JSON]
// keel_schema_name       static constexpr std::string_view keel_schema_name = "Todo";
//     The OpenAPI component's name; default: from the C++ type name. [OpenAPI]
// keel_description       static constexpr std::string_view keel_description = "A thing to do.";
//     The schema's description. [OpenAPI]
// keel_field_descriptions
//                        static constexpr std::pair<std::string_view, std::string_view>
//                            keel_field_descriptions[] = {{"title", "what to do"}};
//     One line per field, keyed by JSON key. [OpenAPI, settings --help]
// keel_example           static todo keel_example() { return {.id = 1, .title = "Buy milk"}; }
//     Written as the schema's `examples`. [OpenAPI]
// keel_value_names       static constexpr std::pair<std::string_view, std::string_view>
//                            keel_value_names[] = {{"root", "DIR"}};
//     The value's name in `--root=DIR`; default from the field's type (TEXT, N, MS ...). [settings --help]
// keel_table             static constexpr std::string_view keel_table = "todo";
//     Makes the DTO a keel::sql::Table: find, insert, update, remove, where(). [SQL]
// keel_primary_key       static constexpr std::string_view keel_primary_key = "code";
//     The key field's C++ name; default "id". [SQL]
// keel_multipart_limits  static constexpr auto keel_multipart_limits = keel::multipart_limits{}.hash();
//     Limits of a multipart body read into this DTO. [keel::multipart<T>]
// keel_openapi_schema    static constexpr std::string_view keel_openapi_schema = R"("type":"string")";
//     A non-DTO type's own JSON Schema members (keel::upload: a file). [OpenAPI]
//
// Extractor and middleware hooks: members of the extractor or middleware type written for keel (they have no
// dto_traits form). keel's extractors (keel::json<T>, keel::query<T>, keel::header<"X", T>, ...) declare
// them; a custom extractor declares those that apply.
//
// keel_dto               using keel_dto = T;
//     The value an extractor reads (a DTO for query/body/form/multipart). [OpenAPI]
// keel_location          static constexpr keel::location keel_location = keel::location::header;
//     Where it reads from: query, header, cookie, body, form or multipart. [OpenAPI `in`, 422 locations]
//     An enum: the former string form is a compile error naming the enum.
// keel_name              static constexpr std::string_view keel_name = "X-Token";
//     A header's or cookie's name. [OpenAPI, 422 paths]
// keel_content_type      static constexpr std::string_view keel_content_type = "application/json";
//     The body's media type. [OpenAPI]
// keel_needs_coroutine   static constexpr bool keel_needs_coroutine = true;
//     The handler must be a coroutine (the parameter awaits the connection). [router]
// keel_reads_body_stream static constexpr bool keel_reads_body_stream = true;
//     The body is read in pieces by the handler, not buffered first. [router]
// keel_prepare           keel::task<> keel_prepare();
//     Awaited before the handler runs; throws keel::http_error on bad input (keel::multipart). [router]
// keel_needs_state       using keel_needs_state = S;
//     A layer with state S must run before this parameter or layer (compile-time check). [router]
// keel_security          static constexpr std::string_view keel_security = "bearer";   (or "api_key")
//     The operation's security scheme; documents a 401. [OpenAPI]
// keel_security_forbids  static constexpr bool keel_security_forbids = true;
//     The middleware may answer 403. [OpenAPI]
// keel_security_scopes   static std::vector<std::string> keel_security_scopes();
//     Scopes or roles of the security requirement. [OpenAPI]
//
// Job payloads (keel/jobs/types.hpp) declare, as members or in dto_traits<T>:
// keel_job               static constexpr std::string_view keel_job = "welcome_email";
//     The job name stored with each job (renaming the struct keeps queued jobs runnable). [keel::jobs]
// keel_queue             static constexpr std::string_view keel_queue = "emails";
//     The queue the job runs on; "default" when absent. [keel::jobs]

namespace keel {
inline namespace v0 {

// Specialise for a type you cannot edit; declare any DTO hook of the list above, named as above.
template <class T>
struct dto_traits {};

// DTO policies (keel_unknown_fields, keel_missing_fields, keel_null_fields).
struct ignore {};
struct reject {};
struct use_defaults {};
struct as_absent {};

// Where an extractor reads its value from (keel_location).
enum class location { query, header, cookie, body, form, multipart };

// The word OpenAPI's `in` and keel's 422 error locations use.
constexpr std::string_view to_string(location where) noexcept {
  switch (where) {
    case location::query:
      return "query";
    case location::header:
      return "header";
    case location::cookie:
      return "cookie";
    case location::body:
      return "body";
    case location::form:
      return "form";
    case location::multipart:
      return "multipart";
  }
  return "body";
}

namespace detail {

// The type each DTO hook of T is read from: keel::dto_traits<T> when its specialisation declares the hook,
// else T itself.
template <class T>
using naming_owner =
    std::conditional_t<(requires { typename dto_traits<T>::keel_naming; }), dto_traits<T>, T>;
template <class T>
using rename_owner =
    std::conditional_t<(requires { typename dto_traits<T>::keel_rename; }), dto_traits<T>, T>;
template <class T>
using unknown_fields_owner =
    std::conditional_t<(requires { typename dto_traits<T>::keel_unknown_fields; }), dto_traits<T>, T>;
template <class T>
using missing_fields_owner =
    std::conditional_t<(requires { typename dto_traits<T>::keel_missing_fields; }), dto_traits<T>, T>;
template <class T>
using null_fields_owner =
    std::conditional_t<(requires { typename dto_traits<T>::keel_null_fields; }), dto_traits<T>, T>;
template <class T>
using schema_name_owner =
    std::conditional_t<(requires { dto_traits<T>::keel_schema_name; }), dto_traits<T>, T>;
template <class T>
using description_owner =
    std::conditional_t<(requires { dto_traits<T>::keel_description; }), dto_traits<T>, T>;
template <class T>
using field_descriptions_owner =
    std::conditional_t<(requires { dto_traits<T>::keel_field_descriptions; }), dto_traits<T>, T>;
template <class T>
using example_owner = std::conditional_t<(requires { dto_traits<T>::keel_example(); }), dto_traits<T>, T>;
template <class T>
using value_names_owner =
    std::conditional_t<(requires { dto_traits<T>::keel_value_names; }), dto_traits<T>, T>;
template <class T>
using table_owner = std::conditional_t<(requires { dto_traits<T>::keel_table; }), dto_traits<T>, T>;
template <class T>
using primary_key_owner =
    std::conditional_t<(requires { dto_traits<T>::keel_primary_key; }), dto_traits<T>, T>;
template <class T>
using multipart_limits_owner =
    std::conditional_t<(requires { dto_traits<T>::keel_multipart_limits; }), dto_traits<T>, T>;
template <class T>
using openapi_schema_owner =
    std::conditional_t<(requires { dto_traits<T>::keel_openapi_schema; }), dto_traits<T>, T>;
template <class T>
using job_owner = std::conditional_t<(requires { dto_traits<T>::keel_job; }), dto_traits<T>, T>;
template <class T>
using queue_owner = std::conditional_t<(requires { dto_traits<T>::keel_queue; }), dto_traits<T>, T>;

// --- type hooks: `declares_x<T>`, and `x_hook<T>` the declared type ---

template <class T>
concept declares_naming = requires {
  typename naming_owner<T>::keel_naming;
};
template <declares_naming T>
using naming_hook = typename naming_owner<T>::keel_naming;

template <class T>
concept declares_rename = requires {
  typename rename_owner<T>::keel_rename;
};
template <declares_rename T>
using rename_hook = typename rename_owner<T>::keel_rename;

template <class T>
concept declares_missing_fields = requires {
  typename missing_fields_owner<T>::keel_missing_fields;
};

template <class Policy, class A, class B>
consteval bool one_of_two() {
  return std::is_same_v<Policy, A> || std::is_same_v<Policy, B>;
}

// keel_unknown_fields: reject (true) or ignore (the default).
template <class T>
consteval bool rejects_unknown_fields_hook() {
  if constexpr (requires { typename unknown_fields_owner<T>::keel_unknown_fields; }) {
    using P = typename unknown_fields_owner<T>::keel_unknown_fields;
    static_assert(one_of_two<P, reject, ignore>(),
                  "keel_unknown_fields must be keel::reject or keel::ignore");
    return std::is_same_v<P, reject>;
  } else {
    return false;
  }
}

// keel_missing_fields: use_defaults (true) or reject; `otherwise` when T declares neither.
template <class T>
consteval bool missing_fields_use_defaults_hook(bool otherwise = false) {
  if constexpr (declares_missing_fields<T>) {
    using P = typename missing_fields_owner<T>::keel_missing_fields;
    static_assert(one_of_two<P, use_defaults, reject>(),
                  "keel_missing_fields must be keel::use_defaults or keel::reject");
    return std::is_same_v<P, use_defaults>;
  } else {
    return otherwise;
  }
}

// keel_null_fields: as_absent (true) or reject (the default).
template <class T>
consteval bool null_fields_as_absent_hook() {
  if constexpr (requires { typename null_fields_owner<T>::keel_null_fields; }) {
    using P = typename null_fields_owner<T>::keel_null_fields;
    static_assert(one_of_two<P, reject, as_absent>(),
                  "keel_null_fields must be keel::reject or keel::as_absent");
    return std::is_same_v<P, as_absent>;
  } else {
    return false;
  }
}

// --- value hooks: `has_x<T>`, and `x_of<T>()` the declared value, its type checked ---

template <class T>
concept has_schema_name = requires {
  schema_name_owner<T>::keel_schema_name;
};
template <has_schema_name T>
constexpr std::string_view schema_name_of() {
  static_assert(
      std::is_convertible_v<decltype(schema_name_owner<T>::keel_schema_name), std::string_view>,
      "keel_schema_name must be a std::string_view: static constexpr std::string_view keel_schema_name "
      "= \"Name\";");
  return schema_name_owner<T>::keel_schema_name;
}

template <class T>
concept has_description = requires {
  description_owner<T>::keel_description;
};
template <has_description T>
constexpr std::string_view description_of() {
  static_assert(
      std::is_convertible_v<decltype(description_owner<T>::keel_description), std::string_view>,
      "keel_description must be a std::string_view: static constexpr std::string_view keel_description "
      "= \"...\";");
  return description_owner<T>::keel_description;
}

// A table of (key, text) pairs keyed by JSON key: keel_field_descriptions, keel_value_names.
template <class Table>
concept text_pairs = requires(const Table& table) {
  { std::begin(table)->first } -> std::convertible_to<std::string_view>;
  { std::begin(table)->second } -> std::convertible_to<std::string_view>;
};

template <class T>
concept has_field_descriptions = requires {
  field_descriptions_owner<T>::keel_field_descriptions;
};
template <has_field_descriptions T>
constexpr const auto& field_descriptions_of() {
  static_assert(text_pairs<decltype(field_descriptions_owner<T>::keel_field_descriptions)>,
                "keel_field_descriptions must be an array of std::pair<std::string_view, std::string_view> "
                "{json key, text}");
  return field_descriptions_owner<T>::keel_field_descriptions;
}

template <class T>
concept has_value_names = requires {
  value_names_owner<T>::keel_value_names;
};
template <has_value_names T>
constexpr const auto& value_names_of() {
  static_assert(text_pairs<decltype(value_names_owner<T>::keel_value_names)>,
                "keel_value_names must be an array of std::pair<std::string_view, std::string_view> "
                "{json key, value name}");
  return value_names_owner<T>::keel_value_names;
}

template <class T>
concept has_example = requires {
  example_owner<T>::keel_example();
};
template <has_example T>
T example_of() {
  static_assert(std::is_convertible_v<decltype(example_owner<T>::keel_example()), T>,
                "keel_example() must return the DTO: static T keel_example() { return {...}; }");
  return T(example_owner<T>::keel_example());
}

template <class T>
concept has_table = requires {
  table_owner<T>::keel_table;
};
template <has_table T>
constexpr std::string_view table_of() {
  constexpr bool text = std::is_convertible_v<decltype(table_owner<T>::keel_table), std::string_view>;
  static_assert(
      text,
      "keel_table must be a std::string_view: static constexpr std::string_view keel_table = \"name\";");
  if constexpr (text)
    return table_owner<T>::keel_table;
  else
    return "?";  // only the static_assert above is reported
}

// keel_primary_key, "id" when T declares none.
template <class T>
constexpr std::string_view primary_key_of() {
  if constexpr (requires { primary_key_owner<T>::keel_primary_key; }) {
    static_assert(std::is_convertible_v<decltype(primary_key_owner<T>::keel_primary_key), std::string_view>,
                  "keel_primary_key must be a std::string_view naming the key field: static constexpr "
                  "std::string_view keel_primary_key = \"code\";");
    return primary_key_owner<T>::keel_primary_key;
  } else {
    return "id";
  }
}

template <class T>
concept has_multipart_limits = requires {
  multipart_limits_owner<T>::keel_multipart_limits;
};
template <has_multipart_limits T>
constexpr const auto& multipart_limits_hook() {
  return multipart_limits_owner<T>::keel_multipart_limits;  // keel/multipart.hpp checks its type
}

template <class T>
concept has_openapi_schema = requires {
  openapi_schema_owner<T>::keel_openapi_schema;
};
template <has_openapi_schema T>
constexpr std::string_view openapi_schema_of() {
  static_assert(
      std::is_convertible_v<decltype(openapi_schema_owner<T>::keel_openapi_schema), std::string_view>,
      "keel_openapi_schema must be a std::string_view holding JSON Schema members");
  return openapi_schema_owner<T>::keel_openapi_schema;
}

// --- extractor hooks ---

// keel_location of extractor E.
template <class E>
constexpr location location_of() {
  constexpr bool is_enum = std::is_same_v<std::remove_cv_t<decltype(E::keel_location)>, location>;
  static_assert(is_enum,
                "keel_location is an enum now: write static constexpr keel::location keel_location = "
                "keel::location::header; (query, header, cookie, body, form or multipart)");
  if constexpr (is_enum)
    return E::keel_location;
  else
    return location::body;  // only the static_assert above is reported
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
