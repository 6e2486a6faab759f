// split_hello: hello with its handler in a translation unit of its own (benchmarks/compile/report.sh,
// `split_rebuild`). main.cpp names the handler, so the server, the router and the route's pipeline are
// instantiated there, once; handlers.cpp holds what an app edits most, and rebuilds without any of them.
#pragma once

#include <keel.hpp>

namespace split_hello {

keel::response hello(keel::request_context& ctx);

}  // namespace split_hello
