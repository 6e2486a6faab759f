// The keel_add_app() consumer: built with the fast-rebuild mode (a precompiled <keel.hpp>, <keel/json.hpp>
// and <keel/tls.hpp>; Asio compiled separately in keel_asio_separate, its TLS part included). Answers
// requests through the whole pipeline (a coroutine handler that offloads to the worker pool, a JSON body) and
// makes a TLS context, whose code comes from the separately compiled Asio.
#include <keel.hpp>
#include <keel/json.hpp>
#include <keel/tls.hpp>

#include <cstdio>
#include <string>

namespace consumer {  // named: keel reflects field names from structs with linkage
struct greeting {
  std::string name;
  int times = 0;
};
}  // namespace consumer

int main() {
#ifndef ASIO_SEPARATE_COMPILATION
  std::printf("keel app consumer: FAILED (keel_add_app did not set ASIO_SEPARATE_COMPILATION)\n");
  return 1;
#endif
  auto api = keel::router{
      keel::get<"/hello">([]() -> keel::task<std::string> {
        std::string text = co_await keel::offload([] { return std::string("Hello, World!"); });
        co_return text;
      }),
      keel::post<"/greet">([](keel::json<consumer::greeting> g) {
        std::string out;
        for (int i = 0; i < g->times; ++i) out += "hi " + g->name + ";";
        return out;
      }),
  };
  keel::app app{std::move(api)};
  keel::test_client client{app};
  const auto hello = client.get("/hello");
  const auto greet = client.post("/greet", R"({"name":"ada","times":2})", "application/json");
  asio::ssl::context tls(asio::ssl::context::tls_server);
  const bool ok = hello.status == 200 && hello.body == "Hello, World!" && greet.status == 200 &&
                  greet.body == "hi ada;hi ada;" && tls.native_handle() != nullptr;
  std::printf("keel %s app consumer: %s\n", KEEL_VERSION_STRING, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
