// keel::query<T>: the query string read into a DTO, as a handler parameter.
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/extract.hpp"
#include "keel/extractors/detail/value_holder.hpp"
#include "keel/extractors/detail/text_fields.hpp"
#include "keel/json/reflect.hpp"

#include <string_view>
#include <utility>

// `keel::query<todo_filter> q` (then `q->limit`, `*q`): `?done=true&tag=a&tag=b&limit=20` into
//   struct todo_filter { std::optional<bool> done; std::vector<std::string> tag; keel::range<int, 1, 100>
//   limit = 20; };
// Absent keys keep their member initializers (query DTOs behave as `keel_missing_fields = keel::use_defaults`
// unless they declare `keel_missing_fields = keel::reject`); unknown keys are ignored unless the DTO declares
// `keel_unknown_fields = keel::reject`. Bad values: 422, location "query", path the key. Field types: see
// keel/extractors/detail/text_fields.hpp.

namespace keel {
inline namespace v0 {

template <Dto T>
struct query : detail::value_holder<T> {
  static_assert(
      detail::all_text_fields<T>,
      "keel::query<T>: every field of T must be a bool, integer, floating point, std::string, enum or "
      "validator type over one, or a std::optional / std::vector of those");
  using keel_dto = T;  // for the OpenAPI generator: each field of T is one query parameter
  static constexpr keel::location keel_location = keel::location::query;
};

template <class T>
struct extractor<query<T>> {
  static result<query<T>> extract(request_context& ctx) {
    auto r = detail::read_text_fields<T>(ctx.request().query, "query", true);
    if (!r) return std::move(r).error();
    return query<T>{{std::move(r).value()}};
  }
};

}  // namespace v0
}  // namespace keel
