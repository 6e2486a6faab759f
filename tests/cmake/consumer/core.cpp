// The keel::core consumer: a hello-world app built without simdjson, Boost, SQLite or OpenSSL found (the
// packaging test hides them from CMake), answering one request through the whole pipeline.
#include <keel.hpp>

#include <cstdio>

int main() {
  auto api = keel::router{
      keel::get<"/hello">([] { return "Hello, World!"; }),
  };
  keel::app app{std::move(api)};
  keel::test_client client{app};
  const auto r = client.get("/hello");
  const bool ok = r.status == 200 && r.body == "Hello, World!";
  std::printf("keel %s core consumer: %s\n", KEEL_VERSION_STRING, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
