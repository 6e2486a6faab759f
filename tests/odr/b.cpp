// ODR check, second translation unit: the same headers as a.cpp, other entities used.
#include <keel.hpp>

#include <string>

keel::response odr_make_response(keel::http::status status) { return keel::response(status); }

std::string odr_b_describe(std::string_view method_name) {
  auto res = keel::response::json_text("{}", keel::http::status::created);
  return std::string(keel::http::to_string(keel::http::parse_method(method_name))) + " " +
         std::to_string(res.status_code()) + " " + std::string(keel::http::reason_phrase(res.status()));
}

const keel::http::method* odr_b_methods() { return keel::http::all_methods; }
