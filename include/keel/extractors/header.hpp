// keel::header<"X-Name", T>: one request header converted to T, as a handler parameter.
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/extract.hpp"
#include "keel/extractors/detail/value_holder.hpp"
#include "keel/extractors/detail/text_value.hpp"
#include "keel/router/fixed_string.hpp"

#include <optional>
#include <string_view>

// `keel::header<"X-Request-Priority", int> p` (then `*p`, `p.value`): the header's first value, converted
// like a query value (integers range-checked, bool, enums by name, validator types with their rules). A
// missing header is a 422 naming it (location "header") unless T is a std::optional. Names match
// case-insensitively.

namespace keel {
inline namespace v0 {

template <fixed_string Name, detail::single_text_target T>
struct header : detail::value_holder<T> {
  using keel_dto = T;  // for the OpenAPI generator: the parameter's schema, its name and its place
  static constexpr std::string_view keel_name = Name.view();
  static constexpr keel::location keel_location = keel::location::header;
};

template <fixed_string Name, class T>
struct extractor<header<Name, T>> {
  static result<header<Name, T>> extract(request_context& ctx) {
    const http::header_field* field = ctx.request().headers.find(Name.view());
    return detail::extract_single_text<header<Name, T>>(field ? std::optional<std::string_view>(field->value)
                                                              : std::nullopt);
  }
};

}  // namespace v0
}  // namespace keel
