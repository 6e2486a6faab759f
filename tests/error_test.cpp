// The error model end to end: the default JSON shape, a replaced shape, exceptions becoming 500s, error
// headers, and how errors and early answers travel through the middleware onion.
#include "keel/error.hpp"

#include "keel/app.hpp"
#include "keel/middleware/request_id.hpp"
#include "keel/router/router.hpp"
#include "keel/task.hpp"
#include "keel/test_client.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace {

// --- handlers that fail in every way a handler can

keel::http_error invalid_article() {
  return keel::unprocessable("invalid article")
      .add_field("body", "article.title", "must not be empty")
      .add_field("body", "article.tags[1]", "must be at most 20 characters");
}

keel::task<std::string> async_boom() {
  throw std::runtime_error("async secret");
  co_return "unreachable";
}

auto make_router() {
  return keel::router{
      keel::get<"/users/{id}">([](int id) { return "user " + std::to_string(id); }),
      keel::post<"/articles">([]() -> std::string { throw invalid_article(); }),
      keel::post<"/articles/returned">([]() { return invalid_article(); }),
      keel::get<"/result/{ok}">([](bool ok) -> keel::result<std::string> {
        if (ok) return std::string("fine");
        return keel::conflict("already there");
      }),
      keel::get<"/private">([]() -> std::string {
        throw keel::unauthorized("token expired")
            .with_header("WWW-Authenticate", R"(Bearer error="invalid_token")");
      }),
      keel::get<"/boom">([]() -> std::string { throw std::runtime_error(R"(db "password" is hunter2)"); }),
      keel::get<"/boom/int">([]() -> std::string { throw 42; }),
      keel::get<"/boom/async">([] { return async_boom(); }),
  };
}

bool is_json(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  return parser.parse(text.data(), text.size()).get(doc) == simdjson::SUCCESS;
}

// Captures what the process writes to stderr while it lives (the framework logs escaped exceptions there).
class stderr_capture {
 public:
  stderr_capture() {
    path_ = std::filesystem::temp_directory_path() / ("keel_error_test_" + std::to_string(::getpid()));
    std::fflush(stderr);
    saved_ = ::dup(2);
    std::FILE* f = std::fopen(path_.c_str(), "w");
    ::dup2(::fileno(f), 2);
    std::fclose(f);
  }
  ~stderr_capture() {
    restore();
    std::filesystem::remove(path_);
  }
  std::string text() {
    restore();
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::filesystem::path path_;
  int saved_ = -1;
};

// --- a formatter for RealWorld's shape: {"errors":{"body":["..."]}}
struct realworld_errors {
  static void format(const keel::http_error& e, std::string_view, keel::response& res) {
    std::string& out = res.body_buffer();
    out.assign(R"({"errors":{"body":[)");
    if (e.fields().empty()) {
      keel::detail::append_json_string(out, e.message());
    } else {
      bool first = true;
      for (const auto& f : e.fields()) {
        if (!first) out.push_back(',');
        first = false;
        keel::detail::append_json_string(out, f.path + " " + f.reason);
      }
    }
    out.append("]}}");
    res.content_type("application/json");
  }
};

// --- middleware that records the onion
struct trace {
  std::string steps;
};

template <char Name>
struct tracer {
  using state = trace;
  template <class Ctx>
  void before(Ctx& ctx) const {
    ctx.template state<trace>().steps += std::string("<") + Name;
  }
  template <class Ctx>
  void after(Ctx& ctx) const {
    auto& steps = ctx.template state<trace>().steps;
    steps += std::string(">") + Name;
    ctx.response().set_header("X-Trace", steps);
  }
};

// Answers 401 before the handler unless the request carries a token.
struct require_token {
  keel::flow before(keel::request_context& ctx) const {
    if (ctx.request().headers.contains("Authorization")) return keel::flow::next;
    ctx.fail(keel::unauthorized("missing token").with_header("WWW-Authenticate", "Bearer"));
    return keel::flow::respond;
  }
};

// Throws from before(): the error still becomes a response and the outer layers still finish.
struct throwing_gate {
  void before(keel::request_context& ctx) const {
    if (ctx.request().headers.contains("X-Deny")) throw keel::forbidden("denied by gate");
  }
};

}  // namespace

TEST_CASE("the default shape for router errors", "[error]") {
  auto app = keel::app{make_router()};
  keel::test_client client{app};

  auto missing = client.get("/nope");
  CHECK(missing.status == 404);
  CHECK(missing.header("Content-Type") == "application/json");
  CHECK(missing.body == R"({"error":{"status":404,"code":"not_found","message":"Not Found"}})");

  auto wrong_method = client.del("/users/1");
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.header("Allow") == "GET, HEAD, OPTIONS");
  CHECK(wrong_method.body ==
        R"({"error":{"status":405,"code":"method_not_allowed","message":"Method Not Allowed"}})");

  auto bad_param = client.get("/users/x");
  CHECK(bad_param.status == 400);
  CHECK(is_json(bad_param.body));
  CHECK(bad_param.body.find(R"("code":"bad_path_parameter")") != std::string::npos);
  CHECK(bad_param.body.find(R"("fields":[{"location":"path","path":"id","reason":)") != std::string::npos);
}

TEST_CASE("422 with fields, thrown, returned or as a result", "[error]") {
  auto app = keel::app{make_router()};
  keel::test_client client{app};
  const std::string expected =
      R"({"error":{"status":422,"code":"validation_failed","message":"invalid article","fields":[)"
      R"({"location":"body","path":"article.title","reason":"must not be empty"},)"
      R"({"location":"body","path":"article.tags[1]","reason":"must be at most 20 characters"}]}})";
  auto thrown = client.post("/articles", "{}");
  CHECK(thrown.status == 422);
  CHECK(thrown.body == expected);
  auto returned = client.post("/articles/returned", "{}");
  CHECK(returned.status == 422);
  CHECK(returned.body == expected);

  auto res = client.get("/result/false");
  CHECK(res.status == 409);
  CHECK(res.body == R"({"error":{"status":409,"code":"conflict","message":"already there"}})");
  CHECK(client.get("/result/true").body == "fine");
}

TEST_CASE("error headers reach the response", "[error]") {
  auto app = keel::app{make_router()};
  keel::test_client client{app};
  auto r = client.get("/private");
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate") == R"(Bearer error="invalid_token")");
  CHECK(r.body.find(R"("message":"token expired")") != std::string::npos);
}

TEST_CASE("an escaped exception is a 500 with the request id, logged but never shown", "[error]") {
  auto app = keel::app{make_router()}.use<keel::request_id>();
  keel::test_client client{app};
  stderr_capture capture;
  auto r = client.get("/boom", {{"X-Request-ID", "req-boom"}});
  auto i = client.get("/boom/int", {{"X-Request-ID", "req-int"}});
  auto a = client.get("/boom/async", {{"X-Request-ID", "req-async"}});
  std::string log = capture.text();

  CHECK(r.status == 500);
  CHECK(
      r.body ==
      R"({"error":{"status":500,"code":"internal_error","message":"internal server error"},"request_id":"req-boom"})");
  CHECK(r.header("X-Request-ID") == "req-boom");
  CHECK(i.status == 500);
  CHECK(i.body.find(R"("request_id":"req-int")") != std::string::npos);
  CHECK(a.status == 500);
  CHECK(a.body.find(R"("request_id":"req-async")") != std::string::npos);
  for (const auto* body : {&r.body, &i.body, &a.body}) {
    CHECK(body->find("hunter2") == std::string::npos);
    CHECK(body->find("secret") == std::string::npos);
  }

  // The details go to the log, one JSON line each, tied to the request by its id.
  INFO(log);
  std::istringstream lines(log);
  std::string line;
  int found = 0;
  while (std::getline(lines, line)) {
    CHECK(is_json(line));
    if (line.find("req-boom") != std::string::npos) {
      ++found;
      CHECK(line.find(R"(db \"password\" is hunter2)") != std::string::npos);
      CHECK(line.find(R"("route":"/boom")") != std::string::npos);
    }
    if (line.find("req-async") != std::string::npos && line.find("async secret") != std::string::npos)
      ++found;
    if (line.find("req-int") != std::string::npos) ++found;
  }
  CHECK(found == 3);
}

TEST_CASE("a replaced error shape applies to every error", "[error]") {
  auto app = keel::app{make_router()}.use<keel::request_id>().errors<realworld_errors>();
  keel::test_client client{app};

  auto invalid = client.post("/articles", "{}");
  CHECK(invalid.status == 422);
  CHECK(
      invalid.body ==
      R"({"errors":{"body":["article.title must not be empty","article.tags[1] must be at most 20 characters"]}})");
  CHECK(client.get("/nope").body == R"({"errors":{"body":["Not Found"]}})");
  auto wrong_method = client.del("/users/1");
  CHECK(wrong_method.body == R"({"errors":{"body":["Method Not Allowed"]}})");
  CHECK(wrong_method.header("Allow") ==
        "GET, HEAD, OPTIONS");  // headers are the model's, not the formatter's
  CHECK(client.get("/private").header("WWW-Authenticate") == R"(Bearer error="invalid_token")");
  {
    stderr_capture quiet;
    auto boom = client.get("/boom");
    CHECK(boom.status == 500);
    CHECK(boom.body == R"({"errors":{"body":["internal server error"]}})");
  }
}

TEST_CASE("after() runs on errors, and the onion unwinds in order", "[error][middleware]") {
  auto api = keel::router{
      keel::get<"/ok">([](const trace& t) { return "handler saw " + t.steps; }),
      keel::get<"/fail">([]() -> std::string { throw keel::conflict("taken"); }),
      keel::get<"/boom">([]() -> std::string { throw std::runtime_error("x"); }),
      keel::group<"/g">(
          keel::get<"/r">([](const trace& t) { return t.steps; }).use(tracer<'r'>{}),
          keel::get<"/fail">([]() -> std::string { throw keel::conflict("taken"); }).use(tracer<'r'>{}))
          .use(tracer<'g'>{}),
  };
  auto app = keel::app{std::move(api)}.use(tracer<'a'>{}, tracer<'b'>{});
  keel::test_client client{app};

  auto ok = client.get("/ok");
  CHECK(ok.body == "handler saw <a<b");
  CHECK(ok.header("X-Trace") == "<a<b>b>a");

  auto nested = client.get("/g/r");
  CHECK(nested.body == "<a<b<g<r");  // app, then group, then route
  CHECK(nested.header("X-Trace") == "<a<b<g<r>r>g>b>a");

  auto fail = client.get("/g/fail");
  CHECK(fail.status == 409);
  CHECK(fail.header("X-Trace") == "<a<b<g<r>r>g>b>a");

  auto missing = client.get("/none");
  CHECK(missing.status == 404);
  CHECK(missing.header("X-Trace") == "<a<b>b>a");  // app middleware wraps unmatched requests too

  stderr_capture quiet;
  auto boom = client.get("/boom");
  CHECK(boom.status == 500);
  CHECK(boom.header("X-Trace") == "<a<b>b>a");
}

TEST_CASE("an early answer skips the handler and the inner layers", "[error][middleware]") {
  int handler_calls = 0;
  auto api = keel::router{
      keel::get<"/guarded">([&handler_calls] {
        ++handler_calls;
        return "secret";
      }).use(tracer<'o'>{}, require_token{}, tracer<'i'>{}),
  };
  auto app = keel::app{std::move(api)}.use(tracer<'a'>{});
  keel::test_client client{app};

  auto denied = client.get("/guarded");
  CHECK(denied.status == 401);
  CHECK(denied.header("WWW-Authenticate") == "Bearer");
  CHECK(denied.body.find(R"("message":"missing token")") != std::string::npos);
  CHECK(denied.header("X-Trace") == "<a<o>o>a");  // 'i' never ran; the layers outside the gate did
  CHECK(handler_calls == 0);

  auto allowed = client.get("/guarded", {{"Authorization", "Bearer t"}});
  CHECK(allowed.status == 200);
  CHECK(allowed.body == "secret");
  CHECK(allowed.header("X-Trace") == "<a<o<i>i>o>a");
  CHECK(handler_calls == 1);
}

TEST_CASE("an app-wide early answer never reaches the router", "[error][middleware]") {
  int handler_calls = 0;
  auto api = keel::router{keel::get<"/x">([&handler_calls] {
    ++handler_calls;
    return "x";
  })};
  auto app =
      keel::app{std::move(api)}.use(tracer<'a'>{}, require_token{}, tracer<'b'>{}).use<keel::request_id>();
  keel::test_client client{app};
  auto r = client.get("/x", {{"X-Request-ID", "early-1"}});
  CHECK(r.status == 401);
  CHECK(r.header("X-Trace") == "<a>a");
  CHECK(r.body.find(R"("request_id")") == std::string::npos);  // request_id sits inside the gate: not run yet
  CHECK(handler_calls == 0);
}

TEST_CASE("an http_error thrown by a middleware's before() is answered and unwinds", "[error][middleware]") {
  auto api = keel::router{
      keel::get<"/route">([] { return "route"; }).use(tracer<'r'>{}, throwing_gate{}),
  };
  auto app = keel::app{std::move(api)}.use(tracer<'a'>{}).use<keel::request_id>();
  keel::test_client client{app};
  auto r = client.get("/route", {{"X-Deny", "1"}, {"X-Request-ID", "gate-1"}});
  CHECK(r.status == 403);
  CHECK(r.body.find(R"("message":"denied by gate")") != std::string::npos);
  CHECK(r.body.find(R"("request_id":"gate-1")") != std::string::npos);
  CHECK(r.header("X-Request-ID") == "gate-1");
  CHECK(r.header("X-Trace") == "<a<r>r>a");
  CHECK(client.get("/route").body == "route");

  auto app_level = keel::app{keel::router{keel::get<"/x">([] { return "x"; })}}.use<keel::request_id>().use(
      tracer<'a'>{}, throwing_gate{});
  keel::test_client client2{app_level};
  auto r2 = client2.get("/x", {{"X-Deny", "1"}, {"X-Request-ID", "gate-2"}});
  CHECK(r2.status == 403);
  CHECK(r2.header("X-Request-ID") == "gate-2");
  CHECK(r2.header("X-Trace") == "<a>a");
}
