// The OpenAPI document of a router (parsed back with simdjson) and the /openapi.json + /docs middleware.
#include "keel/openapi/docs.hpp"

#include "keel/app.hpp"
#include "keel/extractors/cookie.hpp"
#include "keel/extractors/header.hpp"
#include "keel/json.hpp"
#include "keel/test_client.hpp"
#include "keel/validate/rules.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace api {

enum class todo_state { open, done };

struct user {
  keel::email email;
  std::string name;
};

struct todo {
  static constexpr std::string_view keel_description = "A thing to do.";
  static todo keel_example() {
    todo t;
    t.id = 7;
    t.title = "Buy milk";
    return t;
  }
  std::int64_t id = 0;
  keel::text<1, 120> title;
  todo_state state = todo_state::open;
  keel::sized<std::vector<std::string>, 0, 10> tags;
  std::optional<std::chrono::system_clock::time_point> due;
  std::map<std::string, int> labels;
  std::optional<user> owner;
  std::variant<std::int64_t, std::string> ref;
  std::uint8_t priority = 0;
};

struct new_todo {
  using keel_unknown_fields = keel::reject;
  static constexpr std::string_view keel_schema_name = "NewTodo";
  static constexpr std::pair<std::string_view, std::string_view> keel_field_descriptions[] = {
      {"title", "What to do"}, {"slug", "URL \"name\""}};
  keel::text<1, 120> title;
  std::optional<keel::range<int, 0, 5>> priority;
  keel::pattern<"^[a-z]+$"> slug;
};

struct node {
  std::string name;
  std::vector<node> children;
};

struct filter {
  using keel_missing_fields = keel::use_defaults;
  std::optional<std::string> q;
  keel::range<int, 1, 100> limit = 20;
};

struct hidden {
  int x = 0;
};

template <class T>
struct page {
  std::vector<T> items;
  int total = 0;
};

// Stand-ins that follow the extractors' self-description protocol (keel_dto / keel_location / keel_name).
template <class T>
struct fake_query {
  using keel_dto = T;
  static constexpr keel::location keel_location = keel::location::query;
  T value;
};
template <class T>
struct fake_json {
  using keel_dto = T;
  static constexpr keel::location keel_location = keel::location::body;
  T value;
};
struct fake_token_header {
  using keel_dto = std::optional<std::string>;
  static constexpr keel::location keel_location = keel::location::header;
  static constexpr std::string_view keel_name = "X-Token";
};

}  // namespace api

template <class T>
struct keel::extractor<api::fake_query<T>> {
  static api::fake_query<T> extract(keel::request_context&) { return {}; }
};
template <class T>
struct keel::extractor<api::fake_json<T>> {
  static api::fake_json<T> extract(keel::request_context&) { return {}; }
};
template <>
struct keel::extractor<api::fake_token_header> {
  static api::fake_token_header extract(keel::request_context&) { return {}; }
};

namespace {

auto make_router() {
  using namespace api;
  return keel::router{
      keel::get<"/todos">([](fake_query<filter>, fake_token_header) { return std::vector<todo>{}; }),
      keel::post<"/todos">([](fake_json<new_todo>) { return keel::created<todo>{}; }),
      keel::get<"/todos/{id}">([](std::int64_t id) -> std::optional<todo> {
        if (id == 1) return todo{};
        return std::nullopt;
      }),
      keel::del<"/todos/{id}">([](keel::path<"id", std::int64_t>) {}),
      keel::get<"/files/{rest...}">([](std::string_view rest) { return std::string(rest); }),
      keel::put<"/raw">([](keel::body) -> keel::result<node> { return node{}; }),
      keel::group<"/api">(keel::get<"/ping">([] { return "pong"; })),
  };
}

using router_t = decltype(make_router());

struct parsed {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  explicit parsed(const std::string& text) { root = parser.parse(text); }
};

bool has(simdjson::simdjson_result<simdjson::dom::element> e) { return e.error() == simdjson::SUCCESS; }

std::string_view str(simdjson::dom::element e) { return std::string_view(e); }

bool array_has(simdjson::dom::element array, std::string_view value) {
  for (auto v : simdjson::dom::array(array))
    if (v.is_string() && std::string_view(v) == value) return true;
  return false;
}

simdjson::dom::element param_named(simdjson::dom::element op, std::string_view name) {
  for (auto p : simdjson::dom::array(op["parameters"]))
    if (std::string_view(p["name"]) == name) return p;
  FAIL("no parameter " << name);
  return {};
}

keel::openapi::info sample_info() {
  return {.title = "Todo API",
          .version = "1.2.3",
          .description = "Things to do",
          .operations = {
              {"GET /todos/{id}", {.summary = "One todo", .description = "By its id", .tags = {"items"}}},
              {"PUT /raw", {.operation_id = "uploadRaw", .deprecated = true}}}};
}

}  // namespace

TEST_CASE("openapi: document header, paths and operation ids", "[openapi]") {
  auto r = make_router();
  std::string text = keel::openapi::document(r, sample_info());
  parsed doc(text);
  CHECK(str(doc.root["openapi"]) == "3.1.0");
  CHECK(str(doc.root["info"]["title"]) == "Todo API");
  CHECK(str(doc.root["info"]["version"]) == "1.2.3");
  auto paths = doc.root["paths"];
  CHECK(str(paths["/todos"]["get"]["operationId"]) == "getTodos");
  CHECK(str(paths["/todos"]["post"]["operationId"]) == "postTodos");
  CHECK(str(paths["/todos/{id}"]["get"]["operationId"]) == "getTodosById");
  CHECK(str(paths["/todos/{id}"]["delete"]["operationId"]) == "deleteTodosById");
  CHECK(str(paths["/api/ping"]["get"]["operationId"]) == "getApiPing");
  CHECK(str(paths["/raw"]["put"]["operationId"]) == "uploadRaw");
  CHECK(bool(paths["/raw"]["put"]["deprecated"]));
  CHECK(has(paths["/files/{rest}"]["get"]));
  CHECK_FALSE(has(paths["/files/{rest...}"]));
  // User documentation, and the default tag from the first literal segment.
  auto one = paths["/todos/{id}"]["get"];
  CHECK(str(one["summary"]) == "One todo");
  CHECK(str(one["description"]) == "By its id");
  CHECK(array_has(one["tags"], "items"));
  CHECK(array_has(paths["/todos"]["get"]["tags"], "todos"));
  // The same type document comes from the router type alone.
  CHECK(keel::openapi::document<router_t>(sample_info()) == text);
}

TEST_CASE("openapi: parameters from path values, query DTOs and headers", "[openapi]") {
  parsed doc(keel::openapi::document(make_router()));
  auto paths = doc.root["paths"];
  auto id = param_named(paths["/todos/{id}"]["get"], "id");
  CHECK(str(id["in"]) == "path");
  CHECK(bool(id["required"]));
  CHECK(str(id["schema"]["type"]) == "integer");
  CHECK(str(id["schema"]["format"]) == "int64");
  auto named = param_named(paths["/todos/{id}"]["delete"], "id");
  CHECK(str(named["schema"]["type"]) == "integer");
  auto rest = param_named(paths["/files/{rest}"]["get"], "rest");
  CHECK(str(rest["schema"]["type"]) == "string");

  simdjson::dom::element list = paths["/todos"]["get"];
  auto q = param_named(list, "q");
  CHECK(str(q["in"]) == "query");
  CHECK_FALSE(bool(q["required"]));
  auto limit = param_named(list, "limit");
  CHECK_FALSE(bool(limit["required"]));  // use_defaults: the member initializer fills it
  CHECK(int64_t(limit["schema"]["minimum"]) == 1);
  CHECK(int64_t(limit["schema"]["maximum"]) == 100);
  CHECK(int64_t(limit["schema"]["default"]) == 20);
  CHECK_FALSE(has(param_named(list, "q")["schema"]["default"]));
  auto token = param_named(list, "X-Token");
  CHECK(str(token["in"]) == "header");
  CHECK_FALSE(bool(token["required"]));
  CHECK(has(list["responses"]["422"]));
  CHECK(str(list["responses"]["200"]["content"]["application/json"]["schema"]["type"]) == "array");
  CHECK(str(list["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"]) ==
        "#/components/schemas/todo");
}

TEST_CASE("openapi: request bodies and responses from return types and the error model", "[openapi]") {
  parsed doc(keel::openapi::document(make_router()));
  auto paths = doc.root["paths"];
  auto create = paths["/todos"]["post"];
  CHECK(bool(create["requestBody"]["required"]));
  CHECK(str(create["requestBody"]["content"]["application/json"]["schema"]["$ref"]) ==
        "#/components/schemas/NewTodo");
  CHECK(str(create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]) ==
        "#/components/schemas/todo");
  CHECK(has(create["responses"]["201"]["headers"]["Location"]));
  CHECK(str(create["responses"]["422"]["$ref"]) == "#/components/responses/ValidationFailed");
  CHECK(str(create["responses"]["400"]["$ref"]) == "#/components/responses/BadRequest");

  auto one = paths["/todos/{id}"]["get"]["responses"];
  CHECK(str(one["200"]["content"]["application/json"]["schema"]["$ref"]) == "#/components/schemas/todo");
  CHECK(str(one["404"]["$ref"]) == "#/components/responses/NotFound");
  CHECK_FALSE(has(one["422"]));

  CHECK(has(paths["/todos/{id}"]["delete"]["responses"]["204"]));
  CHECK_FALSE(has(paths["/todos/{id}"]["delete"]["responses"]["200"]));
  CHECK(str(paths["/api/ping"]["get"]["responses"]["200"]["content"]["text/plain"]["schema"]["type"]) ==
        "string");
  CHECK_FALSE(has(paths["/api/ping"]["get"]["responses"]["400"]));
  auto raw = paths["/raw"]["put"];
  CHECK(has(raw["requestBody"]["content"]["application/octet-stream"]));
  CHECK(str(raw["responses"]["default"]["$ref"]) == "#/components/responses/Error");

  auto error = doc.root["components"]["schemas"]["Error"];
  CHECK(array_has(error["required"], "error"));
  CHECK(array_has(error["properties"]["error"]["required"], "code"));
  CHECK(str(doc.root["components"]["responses"]["ValidationFailed"]["content"]["application/json"]["schema"]
                    ["$ref"]) == "#/components/schemas/Error");
}

TEST_CASE("openapi: an app with its own error shape describes it", "[openapi]") {
  keel::openapi::info meta;
  meta.error_schema = R"({"type":"object","properties":{"errors":{"type":"object"}},"required":["errors"]})";
  parsed doc(keel::openapi::document(make_router(), meta));
  auto error = doc.root["components"]["schemas"]["Error"];
  CHECK(array_has(error["required"], "errors"));
  CHECK_FALSE(has(error["properties"]["error"]));
  CHECK(
      str(doc.root["components"]["responses"]["NotFound"]["content"]["application/json"]["schema"]["$ref"]) ==
      "#/components/schemas/Error");
}

TEST_CASE("openapi: DTO schemas carry constraints, required fields, enums, formats and examples",
          "[openapi]") {
  parsed doc(keel::openapi::document(make_router()));
  auto schemas = doc.root["components"]["schemas"];
  auto todo = schemas["todo"];
  CHECK(str(todo["type"]) == "object");
  CHECK(str(todo["description"]) == "A thing to do.");
  CHECK(array_has(todo["required"], "title"));
  CHECK(array_has(todo["required"], "tags"));
  CHECK_FALSE(array_has(todo["required"], "due"));
  CHECK_FALSE(array_has(todo["required"], "owner"));
  auto props = todo["properties"];
  CHECK(int64_t(props["title"]["minLength"]) == 1);
  CHECK(int64_t(props["title"]["maxLength"]) == 120);
  CHECK(array_has(props["state"]["enum"], "open"));
  CHECK(array_has(props["state"]["enum"], "done"));
  CHECK(str(props["tags"]["type"]) == "array");
  CHECK(int64_t(props["tags"]["maxItems"]) == 10);
  CHECK(str(props["tags"]["items"]["type"]) == "string");
  CHECK(str(props["due"]["format"]) == "date-time");
  CHECK(str(props["labels"]["type"]) == "object");
  CHECK(str(props["labels"]["additionalProperties"]["type"]) == "integer");
  CHECK(str(props["owner"]["$ref"]) == "#/components/schemas/user");
  CHECK(simdjson::dom::array(props["ref"]["oneOf"]).size() == 2);
  CHECK(int64_t(props["priority"]["maximum"]) == 255);
  CHECK(int64_t(props["priority"]["minimum"]) == 0);
  CHECK(int64_t(todo["examples"].at(0)["id"]) == 7);
  CHECK(str(todo["examples"].at(0)["title"]) == "Buy milk");

  CHECK(str(schemas["user"]["properties"]["email"]["format"]) == "email");
  auto fresh = schemas["NewTodo"];
  CHECK_FALSE(bool(fresh["additionalProperties"]));
  CHECK(str(fresh["properties"]["slug"]["pattern"]) == "^[a-z]+$");
  CHECK(str(fresh["properties"]["slug"]["description"]) == "URL \"name\"");
  CHECK(str(fresh["properties"]["title"]["description"]) == "What to do");
  CHECK_FALSE(has(fresh["properties"]["priority"]["description"]));
  CHECK(int64_t(fresh["properties"]["priority"]["maximum"]) == 5);
  CHECK_FALSE(array_has(fresh["required"], "priority"));
  // A recursive DTO refers to itself.
  CHECK(str(schemas["node"]["properties"]["children"]["items"]["$ref"]) == "#/components/schemas/node");
}

TEST_CASE("openapi: documentation for a route that does not exist is an error", "[openapi]") {
  keel::openapi::info bad{.operations = {{"GET /todo/{id}", {.summary = "typo"}}}};
  CHECK_THROWS_AS(keel::openapi::document(make_router(), bad), std::invalid_argument);
  keel::openapi::info twice{
      .operations = {{"GET /todos", {.operation_id = "same"}}, {"POST /todos", {.operation_id = "same"}}}};
  CHECK_THROWS_AS(keel::openapi::document(make_router(), twice), std::invalid_argument);
}

TEST_CASE("openapi_docs: serves /openapi.json, /docs and the Swagger UI assets", "[openapi]") {
  auto dir = std::filesystem::temp_directory_path() / ("keel-openapi-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "swagger-ui-bundle.js") << "var bundle = 1; // \xc3\xa9\n";
  std::ofstream(dir / "swagger-ui.css") << "body{}";
  std::ofstream(dir.parent_path() / "keel-openapi-secret.txt") << "secret";

  auto r = make_router();
  auto docs = keel::openapi_docs(r, {.info = sample_info(), .assets_dir = dir.string()});
  std::string expected = docs.document();
  auto app = keel::app{std::move(r)}.use(std::move(docs));
  keel::test_client client{app};

  auto spec = client.get("/openapi.json");
  CHECK(spec.status == 200);
  CHECK(spec.header("Content-Type") == "application/json");
  CHECK(spec.body == expected);
  parsed doc(spec.body);
  CHECK(str(doc.root["openapi"]) == "3.1.0");

  auto page = client.get("/docs");
  CHECK(page.status == 200);
  CHECK(page.header("Content-Type") == "text/html; charset=utf-8");
  CHECK(page.body.find("<meta charset=\"utf-8\">") != std::string::npos);
  CHECK(page.body.find("src=\"/docs/assets/swagger-ui-bundle.js\"") != std::string::npos);
  CHECK(page.body.find("href=\"/docs/assets/swagger-ui.css\"") != std::string::npos);
  auto init = client.get("/docs/swagger-initializer.js");
  CHECK(init.status == 200);
  CHECK(init.body.find("\"/openapi.json\"") != std::string::npos);

  auto js = client.get("/docs/assets/swagger-ui-bundle.js");
  CHECK(js.status == 200);
  CHECK(js.header("Content-Type") == "text/javascript; charset=utf-8");
  CHECK(js.body == "var bundle = 1; // \xc3\xa9\n");
  CHECK(client.get("/docs/assets/swagger-ui.css").header("Content-Type") == "text/css; charset=utf-8");
  auto missing = client.get("/docs/assets/missing.js");
  CHECK(missing.status == 404);
  CHECK(missing.header("Content-Type") == "application/json");  // the one error shape, not plain text
  CHECK(missing.body.find(R"("code":"not_found")") != std::string::npos);
  CHECK(page.body.find("cdn.jsdelivr.net") == std::string::npos);  // local assets: nothing from the CDN
  for (const char* evil :
       {"/docs/assets/../keel-openapi-secret.txt", "/docs/assets/..%2fkeel-openapi-secret.txt",
        "/docs/assets/%2e%2e/keel-openapi-secret.txt", "/docs/assets/.hidden",
        "/docs/assets/sub/../swagger-ui.css"}) {
    auto res = client.get(evil);
    INFO(evil);
    CHECK(res.status != 200);
    CHECK(res.body.find("secret") == std::string::npos);
  }
  // The app's own routes still answer, through the middleware.
  CHECK(client.get("/api/ping").body == "pong");
  CHECK(client.get("/todos/1").status == 200);
  CHECK(client.get("/todos/2").status == 404);
  CHECK(client.post("/openapi.json", "").status != 200);
  CHECK(client.head("/openapi.json").status == 200);

  std::filesystem::remove_all(dir);
  std::filesystem::remove(dir.parent_path() / "keel-openapi-secret.txt");
}

TEST_CASE("openapi: component names drop namespaces, also inside template arguments", "[openapi]") {
  keel::openapi::schema_registry reg;
  CHECK(reg.component_of<api::hidden>() == "hidden");
  CHECK(reg.component_of<api::page<api::todo>>() == "page_todo");
  CHECK(reg.component_of<api::new_todo>() == "NewTodo");
  // How g++ and clang print types in anonymous namespaces and templates.
  using keel::openapi::detail::component_name_from;
  CHECK(component_name_from("auto f() [with T = {anonymous}::item; std::string_view = x]") == "item");
  CHECK(component_name_from("auto f() [T = (anonymous namespace)::item]") == "item");
  CHECK(component_name_from("auto f() [T = a::b::page<a::item, 3>]") == "page_item_3");
  CHECK(reg.schema_of<std::vector<api::hidden>>() ==
        R"({"type":"array","items":{"$ref":"#/components/schemas/hidden"}})");
}

namespace api {
struct login {
  keel::text<3, 30> user;
  keel::text<8> password;
};
}  // namespace api

TEST_CASE("openapi: keel's own extractors (query, json, form, header, cookie)", "[openapi]") {
  auto r = keel::router{
      keel::get<"/search">([](keel::query<api::filter>, keel::header<"X-Api-Key", std::string>,
                              keel::cookie<"session", std::optional<std::string>>) { return "found"; }),
      keel::post<"/todos">([](keel::json<api::new_todo>) { return keel::created<api::todo>{}; }),
      keel::post<"/login">([](keel::form<api::login>) { return "welcome"; }),
  };
  parsed doc(keel::openapi::document(r));
  auto paths = doc.root["paths"];
  simdjson::dom::element search = paths["/search"]["get"];
  CHECK(str(param_named(search, "limit")["in"]) == "query");
  CHECK(int64_t(param_named(search, "limit")["schema"]["default"]) == 20);
  auto key = param_named(search, "X-Api-Key");
  CHECK(str(key["in"]) == "header");
  CHECK(bool(key["required"]));
  auto session = param_named(search, "session");
  CHECK(str(session["in"]) == "cookie");
  CHECK_FALSE(bool(session["required"]));
  CHECK(str(paths["/todos"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]) ==
        "#/components/schemas/NewTodo");
  auto form =
      paths["/login"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
  CHECK(str(form["$ref"]) == "#/components/schemas/login");
  CHECK(int64_t(doc.root["components"]["schemas"]["login"]["properties"]["password"]["minLength"]) == 8);
  CHECK(has(paths["/login"]["post"]["responses"]["422"]));
}

TEST_CASE("openapi_docs: without local assets the page loads the pinned Swagger UI from the CDN",
          "[openapi]") {
  auto app = keel::app{make_router()}.use(keel::openapi_docs(make_router(), {.assets_dir = ""}));
  keel::test_client client{app};
  auto page = client.get("/docs");
  CHECK(page.status == 200);
  const std::string cdn =
      "https://cdn.jsdelivr.net/npm/swagger-ui-dist@" + std::string(keel::swagger_ui_version);
  CHECK(page.body.find("<script src=\"" + cdn + "/swagger-ui-bundle.js\" integrity=\"" +
                       std::string(keel::swagger_ui_bundle_integrity) +
                       "\" crossorigin=\"anonymous\"></script>") != std::string::npos);
  CHECK(page.body.find("<link rel=\"stylesheet\" href=\"" + cdn + "/swagger-ui.css\" integrity=\"" +
                       std::string(keel::swagger_ui_css_integrity) + "\" crossorigin=\"anonymous\">") !=
        std::string::npos);
  CHECK(keel::swagger_ui_bundle_integrity.starts_with("sha384-"));
  CHECK(keel::swagger_ui_bundle_integrity.size() == 7 + 64);  // 48 bytes in base64
  CHECK(keel::swagger_ui_css_integrity.size() == 7 + 64);
  CHECK(page.body.find("/docs/assets/") == std::string::npos);
  CHECK(page.body.find("<script src=\"/docs/swagger-initializer.js\"></script>") != std::string::npos);
  // Nothing local to serve: the asset route answers 404 in the error shape.
  auto asset = client.get("/docs/assets/swagger-ui-bundle.js");
  CHECK(asset.status == 404);
  CHECK(asset.header("Content-Type") == "application/json");
}

TEST_CASE("openapi_docs: paths and title come from the options; without assets the page says what to do",
          "[openapi]") {
  auto r = make_router();
  auto app =
      keel::app{std::move(r)}.use(keel::openapi_docs(make_router(), {.info = {.title = "A <b>&</b> API"},
                                                                     .spec_path = "/api.json",
                                                                     .docs_path = "/help",
                                                                     .assets_dir = ""}));
  keel::test_client client{app};
  CHECK(client.get("/api.json").status == 200);
  CHECK(client.get("/openapi.json").status == 404);
  auto page = client.get("/help");
  CHECK(page.status == 200);
  CHECK(page.body.find("<title>A &lt;b&gt;&amp;&lt;/b&gt; API</title>") != std::string::npos);
  CHECK(page.body.find("swagger-ui-bundle.js\" integrity=") != std::string::npos);  // from the CDN
  CHECK(page.body.find("KEEL_DOCS_ASSETS") != std::string::npos);
  CHECK(client.get("/help/swagger-initializer.js").body.find("\"/api.json\"") != std::string::npos);
  CHECK(client.get("/help/assets/swagger-ui-bundle.js").status == 404);
  CHECK(client.get("/docs").status == 404);
}

namespace api {
struct note_patch {
  keel::nullable<keel::text<1, 40>> color;  // null: clear it
  std::optional<std::string> title;         // may be left out, never null
};
struct note {
  std::int64_t id;
  std::string title;
};
}  // namespace api

TEST_CASE("openapi: documentation on the route itself, merged with the table; a route's 404 message",
          "[openapi]") {
  auto make = [] {
    return keel::router{
        keel::get<"/notes/{id}">([](std::int64_t id) -> std::optional<api::note> {
          if (id == 1) return api::note{1, "one"};
          return std::nullopt;
        })
            .doc({.summary = "One note",
                  .description = "By id.",
                  .tags = {"notes"},
                  .not_found = "no such note"}),
        keel::patch<"/notes/{id}">([](std::int64_t, keel::json<api::note_patch>) {
          return "ok";
        }).doc({.summary = "on the route"}),
        keel::del<"/notes/{id}">([](std::int64_t id) -> std::optional<std::string> {
          if (id == 1) return "gone";
          return std::nullopt;
        }),
    };
  };
  auto r = make();
  // The old table still works; where it documents an operation the route also documents, its fields win.
  parsed doc(
      keel::openapi::document(r, {.operations = {{"PATCH /notes/{id}", {.summary = "from the table"}},
                                                 {"DELETE /notes/{id}", {.summary = "Delete a note"}}}}));
  auto paths = doc.root["paths"]["/notes/{id}"];
  CHECK(str(paths["get"]["summary"]) == "One note");
  CHECK(str(paths["get"]["description"]) == "By id.");
  CHECK(array_has(paths["get"]["tags"], "notes"));
  CHECK(str(paths["get"]["responses"]["404"]["description"]) == "no such note");
  CHECK(str(paths["patch"]["summary"]) == "from the table");
  CHECK(str(paths["delete"]["summary"]) == "Delete a note");
  CHECK_FALSE(has(paths["delete"]["responses"]["404"]["description"]));
  // A nullable field: its schema or null, and not required; a plain optional is not nullable.
  auto props = doc.root["components"]["schemas"]["note_patch"]["properties"];
  CHECK(str(props["color"]["oneOf"].at(1)["type"]) == "null");
  CHECK(props["color"]["oneOf"].at(0)["maxLength"].get_int64().value() == 40);
  CHECK_FALSE(has(props["title"]["oneOf"]));
  CHECK_FALSE(has(doc.root["components"]["schemas"]["note_patch"]["required"]));

  // At run time: the 404 of a std::optional handler says the route's message; without one, the default.
  auto app = keel::app{make()};
  keel::test_client client{app};
  auto missing = client.get("/notes/2");
  CHECK(missing.status == 404);
  CHECK(missing.body.find("no such note") != std::string::npos);
  CHECK(client.get("/notes/1").status == 200);
  auto gone = client.del("/notes/2");
  CHECK(gone.status == 404);
  CHECK(gone.body.find("no such note") == std::string::npos);
  auto null_title = client.patch("/notes/1", R"({"title":null})");
  CHECK(null_title.status == 422);
  CHECK(client.patch("/notes/1", R"({"color":null})").status == 200);
}
