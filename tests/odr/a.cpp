// ODR check, first translation unit: all of keel, included again in b.cpp, linked into one binary. A
// non-inline definition in a header breaks the link; an inline variable must have one address.
#include "keel/fwd.hpp"  // before the definitions: the forward declarations must agree with them
#include <keel.hpp>

#include <string>

// Names only forward-declared types: what fwd.hpp is for.
keel::response odr_make_response(keel::http::status status);

std::string odr_a_error_body() {
  keel::response res = odr_make_response(keel::http::status::ok);
  keel::render_error<keel::json_error_formatter>(keel::not_found("no such todo"), "req-a", res);
  return std::string(res.body());
}

const keel::http::method* odr_a_methods() { return keel::http::all_methods; }
