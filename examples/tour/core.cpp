// The README's tour, compiled: each `// snippet: NAME` region below is a code block of README.md, and
// scripts/doc-snippets (the doc_snippets test) checks that they are equal. Not a program to run: the build
// only proves that what the README shows compiles.
#include <keel.hpp>
#include <keel/jobs.hpp>
#include <keel/json.hpp>
#include <keel/offload.hpp>
#include <keel/settings.hpp>
#include <keel/sql.hpp>
#include <keel/test_client.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tour {

// --- Routes and path parameters
namespace routes {
struct my_auth {
  keel::flow before(keel::request_context&) const { return keel::flow::next; }
};
// snippet: routes
auto api = keel::router{
    keel::get<"/users/{id}">([](std::int64_t id) { return "user " + std::to_string(id); }),
    keel::get<"/users/me">([] { return "me"; }),                           // literals win over parameters
    keel::get<"/files/{rest...}">([](std::string rest) { return rest; }),  // tail: "a/b/c.css"
    keel::on<"/items", keel::http::method::put, keel::http::method::patch>([] { return "updated"; }),
    keel::group<"/api">(keel::get<"/health">([] { return "ok"; }))  // -> /api/health
        .use<my_auth>(),                                            // middleware for the group only
};
// end snippet: routes
}  // namespace routes

// --- Typed data: DTOs, validation, OpenAPI
namespace typed_data {
struct todo_item {
  std::int64_t id = 0;
  std::string title;
  std::optional<int> priority;
  bool done = false;
};
using todo_page = keel::page<todo_item>;
// snippet: typed_data
struct new_todo {                                  // a DTO: a plain aggregate, reflected field by field
  keel::text<1, 120> title;                        // validators are types
  std::optional<keel::range<int, 0, 5>> priority;  // optional: may be absent
  using keel_unknown_fields = keel::reject;        // a typo such as "titel" is a 422, not silently dropped
};
struct todo_filter {  // ?done=false&tag=a&tag=b&limit=10
  std::optional<bool> done;
  std::vector<std::string> tag;         // repeated keys
  keel::range<int, 1, 100> limit = 20;  // absent keys keep their defaults (keel::paging's types)
  keel::range<std::int64_t, 0, INT64_MAX> offset = 0;
};

// Handlers take what they need by type; keel::created<T> answers 201 + Location (the SQL is shown below).
keel::task<keel::created<todo_item>> create_todo(keel::json<new_todo> body, keel::db& db);
keel::task<todo_page> list_todos(keel::query<todo_filter> filter, keel::db& db);

auto api = keel::router{
    keel::post<"/todos">(&create_todo),
    keel::get<"/todos">(&list_todos),
};
// end snippet: typed_data
}  // namespace typed_data

// --- Middleware
namespace middleware {
[[maybe_unused]] void serve(int argc, char** argv) {
  auto api = keel::router{keel::get<"/">([] { return "hi"; })};
  // snippet: middleware
  keel::app{std::move(api)}
      .use(keel::request_id{}, keel::access_log{}, keel::cors{.allow_origins = {"https://app.example"}},
           keel::security_headers{})
      .serve(keel::server_config::from_args(argc, argv));
  // end snippet: middleware
}
}  // namespace middleware

// --- Coroutines and blocking work
namespace coroutines {
std::string build_report_blocking(std::int64_t id) { return "report " + std::to_string(id); }
auto api = keel::router{
    // snippet: coroutines
    keel::get<"/report/{id}">([](std::int64_t id) -> keel::task<std::string> {
      auto work = [id] { return build_report_blocking(id); };      // named: g++ 12 and lambdas in co_await
      std::string text = co_await keel::offload(std::move(work));  // on the worker pool
      co_return text;                                              // resumed on this request's reactor thread
    }),
    // end snippet: coroutines
};
}  // namespace coroutines

// --- Streaming, files, uploads, upgrades
namespace streaming {
auto api = keel::router{
    // snippet: streaming
    keel::get<"/numbers">([](keel::stream_writer out) -> keel::task<> {  // chunked, written as it goes
      out.content_type("text/plain");
      for (int i = 0; i < 1000; ++i)
        co_await out.write(std::to_string(i) + "\n");  // waits when the client is slow
    }),
    keel::get<"/report">([] { return keel::file::open("/srv/report.pdf", "application/pdf"); }),  // sendfile
    keel::post<"/upload">([](keel::body_stream body) -> keel::task<std::string> {  // read as it arrives
      std::size_t n = 0;
      for (std::string_view piece; !(piece = co_await body.read()).empty();) n += piece.size();
      co_return std::to_string(n);
    })
        .body_limit(std::size_t{4} << 30),  // this route takes up to 4 GiB
    keel::get<"/echo">([] {                 // 101, then the socket is the protocol's
      return keel::upgrade("line-echo", [](keel::upgraded_io& io) -> keel::task<> {
        char buf[4096];
        while (std::size_t n = co_await io.read_some(buf)) co_await io.write({buf, n});
      });
    }),
    // end snippet: streaming
};
}  // namespace streaming

// --- Test client
namespace testing {
[[maybe_unused]] bool check() {
  auto app = keel::app{keel::router{
      keel::get<"/users/{id}">([](std::int64_t id) { return "user " + std::to_string(id); }),
      keel::post<"/echo">([](keel::body b) { return std::string(b.data); }),
  }};
  // snippet: test_client
  keel::test_client client{app};
  auto r = client.get("/users/42");
  bool ok = r.status == 200 && r.body == "user 42";
  auto p = client.post("/echo", R"({"a":1})");                     // JSON content type by default
  auto me = client.get("/me", {{"Authorization", "Bearer ada"}});  // headers
  auto f = client.post("/login", "user=ada", {{"Content-Type", "application/x-www-form-urlencoded"}});
  auto raw = client.send_raw("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  // end snippet: test_client
  return ok && p.status == 200 && me.status == 404 && f.status == 404 && !raw.empty();
}
}  // namespace testing

// --- Background jobs
namespace background {
struct nightly_report {
  static constexpr std::string_view keel_job = "nightly_report";
};
keel::task<void> send_welcome(std::int64_t) { co_return; }
// snippet: jobs
struct welcome_email {
  static constexpr std::string_view keel_job = "welcome_email";  // the name stored with each job
  std::int64_t user_id = 0;
};

// In a handler: the user and the job are stored together, or neither.
keel::task<void> sign_up(keel::db& db, keel::jobs::queue& jobs, std::string email) {
  auto tx = co_await db.begin();
  auto id = co_await tx.query_one<std::int64_t>("INSERT INTO users (email) VALUES (?) RETURNING id", email);
  welcome_email mail{*id};
  co_await jobs.enqueue(tx, mail);  // rolled back with tx, or committed with it
  co_await tx.commit();
}

void serve(keel::db& db, const keel::server_config& cfg) {
  keel::jobs::queue jobs{db};  // creates keel_jobs (a migration)
  jobs.handle<welcome_email>([](const welcome_email& m, keel::jobs::context&) -> keel::task<void> {
    co_await send_welcome(m.user_id);  // or return void: runs on the worker pool
  });
  jobs.handle<nightly_report>([](const nightly_report&, keel::jobs::context&) {});
  jobs.schedule("nightly", "0 3 * * *", nightly_report{});  // 5-field cron, UTC
  // or in a zone's wall time, DST included (the zone file is read here, at start-up)
  jobs.schedule("berlin", keel::jobs::cron::parse("0 9 * * 1-5").in_zone("Europe/Berlin"), nightly_report{});
  auto api = keel::router{keel::get<"/">([] { return "hi"; })};
  keel::app{std::move(api)}
      .provide(db, jobs)
      .spawn([&](keel::background& bg) { return jobs.run(bg); })
      .serve(cfg);
}
// end snippet: jobs
}  // namespace background

// --- Configuration and CLI
namespace configuration {
// snippet: settings
struct settings {
  std::string root = ".";
  keel::range<int, 1, 64> pool = 8;
  keel::secret<std::string> api_token;
  std::optional<std::string> upload_dir;
  static constexpr std::pair<std::string_view, std::string_view> keel_field_descriptions[] = {
      {"root", "directory to serve"}};
};

int main(int argc, char** argv) {
  auto cli = keel::parse_app_command_line<settings>(argc, argv, {.env_prefix = "APP_"});
  auto api = keel::router{keel::get<"/">([] { return "hi"; })};
  if (auto status = keel::run_command(cli, api)) return *status;  // routes, openapi, config, migrate
  keel::app{std::move(api)}.serve(cli.config);
  return 0;
}
// end snippet: settings
}  // namespace configuration

}  // namespace tour

// --- A type from another library as a DTO
// snippet: dto_traits
namespace geo {  // another library's header: keel cannot add members to its structs
struct place {
  std::int64_t id;
  std::string place_name;
  double lat;
  double lon;
};
}  // namespace geo

template <>
struct keel::dto_traits<geo::place> {    // any DTO hook of <keel/customization.hpp>, declared from outside
  using keel_naming = keel::camel_case;  // place_name <-> "placeName"
  using keel_unknown_fields = keel::reject;
  static constexpr std::string_view keel_table = "place";  // a keel::sql::Table: find, insert, update
};

namespace tour::third_party {
auto api = keel::router{
    keel::post<"/places">([](keel::json<geo::place> place) { return *place; }),  // 422s, OpenAPI as usual
};
}  // namespace tour::third_party
// end snippet: dto_traits
