// An extractor that still says where it reads from with a string: keel_location is a keel::location.
#include "keel/openapi/document.hpp"
#include "keel/router/router.hpp"

#include <string_view>

struct token_header {
  using keel_dto = std::string;
  static constexpr std::string_view keel_location = "header";
  static constexpr std::string_view keel_name = "X-Token";
};
template <>
struct keel::extractor<token_header> {
  static token_header extract(keel::request_context&) { return {}; }
};

int main() {
  auto api = keel::router{keel::get<"/me">([](token_header) { return "me"; })};
  (void)keel::openapi::document(api);
}
