// The smallest keel app: GET /hello answers "Hello, World!".
//   build/examples/hello --port 8080     then     curl http://127.0.0.1:8080/hello
#include <keel.hpp>

int main(int argc, char** argv) {
  auto api = keel::router{
      keel::get<"/hello">([] { return "Hello, World!"; }),
  };
  keel::app{std::move(api)}.serve(keel::server_config::from_args(argc, argv));
}
