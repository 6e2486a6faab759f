// The handler bodies: a rebuild after editing them compiles this file and links.
#include "handlers.hpp"

#include <string>

namespace split_hello {

keel::response hello(keel::request_context& ctx) {
  std::string text = "Hello, World!";
  if (ctx.request().query.empty()) return keel::response(keel::http::status::ok, text, "text/plain");
  return keel::response(keel::http::status::ok, text + " (" + std::string(ctx.request().query) + ")",
                        "text/plain");
}

}  // namespace split_hello
