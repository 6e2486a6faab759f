// The app's composition: routes naming handlers declared in handlers.hpp, and the server.
#include "handlers.hpp"

#include <keel.hpp>

int main(int argc, char** argv) {
  auto api = keel::router{
      keel::get<"/hello">(&split_hello::hello),
  };
  keel::app{std::move(api)}.serve(keel::server_config::from_args(argc, argv));
}
