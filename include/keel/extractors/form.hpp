// keel::form<T>: an application/x-www-form-urlencoded request body read into a DTO, as a handler parameter.
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/extract.hpp"
#include "keel/extractors/detail/value_holder.hpp"
#include "keel/extractors/detail/media_type.hpp"
#include "keel/extractors/detail/text_fields.hpp"
#include "keel/http/response.hpp"
#include "keel/json/reflect.hpp"

#include <string_view>
#include <utility>

// `keel::form<login> f` (then `f->user`): `user=ann&password=p%40ss+word` into `struct login { keel::text<1,
// 64> user; std::string password; };`, '+' as space. Content-Type must be application/x-www-form-urlencoded
// (parameters such as charset allowed), else 415. Like a JSON body, every field but optionals and vectors is
// required unless the DTO declares `keel_missing_fields = keel::use_defaults`; unknown keys are ignored
// unless it declares `keel_unknown_fields = keel::reject`. Bad values: 422, location "form", path the key.

namespace keel {
inline namespace v0 {

template <Dto T>
struct form : detail::value_holder<T> {
  static_assert(
      detail::all_text_fields<T>,
      "keel::form<T>: every field of T must be a bool, integer, floating point, std::string, enum or "
      "validator type over one, or a std::optional / std::vector of those");
  using keel_dto = T;  // for the OpenAPI generator: the request body's schema and where it comes from
  static constexpr keel::location keel_location = keel::location::form;
  static constexpr std::string_view keel_content_type = "application/x-www-form-urlencoded";
};

namespace detail {
inline bool is_form_media_type(std::string_view content_type) noexcept {
  return iequals(media_type_of(content_type), "application/x-www-form-urlencoded");
}
}  // namespace detail

template <class T>
struct extractor<form<T>> {
  static result<form<T>> extract(request_context& ctx) {
    const http::request& req = ctx.request();
    if (!detail::is_form_media_type(req.header("Content-Type")))
      return http_error(http::status::unsupported_media_type,
                        "expected Content-Type: application/x-www-form-urlencoded", "unsupported_media_type");
    auto r = detail::read_text_fields<T>(req.body, "form", false);
    if (!r) return std::move(r).error();
    return form<T>{{std::move(r).value()}};
  }
};

}  // namespace v0
}  // namespace keel
