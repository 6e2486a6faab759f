// Middleware: the built-in stack (request id, access log, CORS, security headers) app-wide, and a small
// middleware of our own on one group that answers early and hands typed state to the handlers.
//   build/examples/middleware --port 8080
//   curl -i http://127.0.0.1:8080/public/hello
//   curl -i -H 'Authorization: Bearer demo' http://127.0.0.1:8080/admin/whoami
//   curl -i -X OPTIONS -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: DELETE'
//        http://127.0.0.1:8080/admin/cache      (a CORS preflight)
#include <keel.hpp>

#include <string>
#include <string_view>

namespace {

// What bearer_auth puts into the request for the layers and handlers inside it.
struct principal {
  std::string name;
};

// A toy authentication layer: the token is the user name. A real one would verify a signed token.
struct bearer_auth {
  using state = principal;

  template <class Ctx>
  keel::flow before(Ctx& ctx) const {
    std::string_view auth = ctx.request().header("Authorization");
    if (!auth.starts_with("Bearer ") || auth.size() == 7) {
      ctx.fail(keel::unauthorized("a bearer token is required").with_header("WWW-Authenticate", "Bearer"));
      return keel::flow::respond;  // the handler never runs; the app's layers still finish the response
    }
    ctx.template state<principal>().name = std::string(auth.substr(7));
    return keel::flow::next;
  }
};

}  // namespace

int main(int argc, char** argv) {
  auto api = keel::router{
      keel::get<"/public/hello">([] { return "Hello, World!"; }),
      keel::group<"/admin">(
          keel::get<"/whoami">([](const principal& p) { return "you are " + p.name; }),
          keel::del<"/cache">([] { return keel::status_only{keel::http::status::accepted}; }))
          .use<bearer_auth>(),
  };

  // Outermost first: the request id exists before anything logs or fails, and the access log sees the final
  // response, CORS and security headers included.
  keel::app{std::move(api)}
      .use(keel::request_id{}, keel::access_log{},
           keel::cors{.allow_origins = {"https://app.example"},
                      .allow_headers = {"Authorization", "Content-Type"},
                      .allow_credentials = true},
           keel::security_headers{.hsts_include_subdomains = true})
      .serve(keel::server_config::from_args(argc, argv));
}
