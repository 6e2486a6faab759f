// keel::dto_traits<T>: a struct from another library, which cannot be edited, becomes a DTO through a
// specialisation and behaves exactly like the same struct with member hooks: JSON in and out, 422s, its
// OpenAPI schema, its SQLite table. And keel::location, the extractors' place, through requests on a real
// socket.
#include "keel/customization.hpp"

#include "keel/app.hpp"
#include "keel/extractors/header.hpp"
#include "keel/extractors/query.hpp"
#include "keel/json.hpp"
#include "keel/openapi.hpp"
#include "keel/server/server.hpp"
#include "keel/sql/database.hpp"
#include "keel/sql/query.hpp"
#include "support/curl_output.hpp"
#include "support/local_server.hpp"
#include "support/running_server.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

// Stands in for a header of another library: plain aggregates without any keel_* member.
namespace vendor {
struct station {
  std::int64_t id = 0;
  std::string station_name;
  double elevation_m = 0;
  std::optional<std::string> operator_name;
};
struct station_filter {
  std::int64_t min_elevation = 0;
  std::optional<std::string> name;
};
}  // namespace vendor

// The same struct with the same hooks as members: the behaviour the specialisation must reproduce.
namespace customization_test {
struct member_station {
  using keel_naming = keel::camel_case;
  using keel_rename = keel::rename<"elevation_m", "elevation">;
  using keel_unknown_fields = keel::reject;
  static constexpr std::string_view keel_description = "A weather station.";
  static constexpr std::pair<std::string_view, std::string_view> keel_field_descriptions[] = {
      {"elevation", "metres above sea level"}};
  static member_station keel_example() { return {1, "Zugspitze", 2962, std::nullopt}; }
  static constexpr std::string_view keel_table = "member_station";

  std::int64_t id = 0;
  std::string station_name;
  double elevation_m = 0;
  std::optional<std::string> operator_name;
};
}  // namespace customization_test
using customization_test::member_station;

template <>
struct keel::dto_traits<vendor::station> {
  using keel_naming = keel::camel_case;
  using keel_rename = keel::rename<"elevation_m", "elevation">;
  using keel_unknown_fields = keel::reject;
  static constexpr std::string_view keel_description = "A weather station.";
  static constexpr std::pair<std::string_view, std::string_view> keel_field_descriptions[] = {
      {"elevation", "metres above sea level"}};
  static vendor::station keel_example() { return {1, "Zugspitze", 2962, std::nullopt}; }
  static constexpr std::string_view keel_table = "station";
};

template <>
struct keel::dto_traits<vendor::station_filter> {
  using keel_missing_fields = keel::reject;  // query DTOs otherwise keep member initializers
  using keel_unknown_fields = keel::reject;
};

namespace {

using keel_test::body_of;
using keel_test::run_command;
using keel_test::status_of;

// Two identical APIs, one over the vendor struct, one over the member-hook struct: each stores what it
// reads in its SQLite table and reads it back by id.
template <class Row>
keel::task<keel::created<Row>> store(keel::json<Row> body, keel::db& db) {
  Row row = *body;
  auto insert = keel::sql::insert(row);  // named: g++ 12 and temporaries inside co_await
  std::optional<std::int64_t> id = co_await db.fetch_one(insert);
  row.id = *id;
  co_return keel::created<Row>{std::move(row), ""};
}
template <class Row>
keel::task<std::optional<Row>> load(std::int64_t id, keel::db& db) {
  auto find = keel::sql::find<Row>(id);
  std::optional<Row> row = co_await db.fetch_one(find);
  co_return row;
}

auto make_router() {
  return keel::router{
      keel::post<"/stations">(store<vendor::station>),
      keel::get<"/stations/{id}">(load<vendor::station>),
      keel::post<"/member_stations">(store<member_station>),
      keel::get<"/member_stations/{id}">(load<member_station>),
      keel::get<"/search">(
          [](keel::query<vendor::station_filter> filter, keel::header<"X-Station-Key", std::int64_t> key) {
            return std::to_string(filter->min_elevation) + "|" + filter->name.value_or("-") + "|" +
                   std::to_string(*key);
          }),
  };
}

keel::db& station_db() {
  static keel::db db{"sqlite::memory:"};
  static bool created =
      (db.execute_script_sync(
           "CREATE TABLE station (id INTEGER PRIMARY KEY, station_name TEXT NOT NULL, "
           "elevation_m REAL NOT NULL, operator_name TEXT);"
           "CREATE TABLE member_station (id INTEGER PRIMARY KEY, station_name TEXT NOT NULL, "
           "elevation_m REAL NOT NULL, operator_name TEXT);"),
       true);
  (void)created;
  return db;
}

auto make_app() { return keel::app{make_router()}.provide(station_db()); }
using app_type = decltype(make_app());

struct running {
  app_type app = make_app();
  keel_test::running_server<app_type> server{app, keel_test::local_config(1)};
  std::uint16_t port = server.port();
  std::string base = server.base();
  // curl -i: status line, headers, body.
  std::string get(const std::string& target, const std::string& extra = "") const {
    return run_command("curl -s -i --max-time 10 " + extra + " '" + base + target + "'");
  }
  std::string post(const std::string& target, const std::string& json) const {
    return run_command("curl -s -i --max-time 10 -H 'Content-Type: application/json' --data-binary '" + json +
                       "' '" + base + target + "'");
  }
};

// The schema text registered for T, its name aside.
template <class T>
std::string component_schema(keel::openapi::schema_registry& reg) {
  const std::string& name = reg.component_of<T>();
  for (const auto& c : reg.components())
    if (c.name == name) return c.schema;
  return {};
}

}  // namespace

TEST_CASE("dto_traits: the hooks of a specialisation are the hooks of the type", "[customization]") {
  using namespace keel::detail;
  STATIC_REQUIRE(rejects_unknown_fields_hook<vendor::station>());
  STATIC_REQUIRE_FALSE(rejects_unknown_fields_hook<std::string>());
  STATIC_REQUIRE(table_of<vendor::station>() == "station");
  STATIC_REQUIRE(primary_key_of<vendor::station>() == "id");
  STATIC_REQUIRE(keel::sql::Table<vendor::station>);
  STATIC_REQUIRE(keel::sql::Table<member_station>);
  STATIC_REQUIRE_FALSE(keel::sql::Table<vendor::station_filter>);
  STATIC_REQUIRE(declares_missing_fields<vendor::station_filter>);
  STATIC_REQUIRE_FALSE(missing_fields_use_defaults_hook<vendor::station_filter>(true));
  STATIC_REQUIRE(keel::to_string(keel::location::cookie) == "cookie");
}

TEST_CASE("dto_traits: JSON written and read like the member-hook twin", "[customization]") {
  const vendor::station v{7, "Brocken", 1141.5, "DWD"};
  const member_station m{7, "Brocken", 1141.5, "DWD"};
  const std::string text = keel::json_io::to_string(v);
  CHECK(text == keel::json_io::to_string(m));
  CHECK(text == R"({"id":7,"stationName":"Brocken","elevation":1141.5,"operatorName":"DWD"})");

  auto back = keel::json_io::read<vendor::station>(std::string_view(text));
  REQUIRE(back.ok());
  CHECK(back.value().station_name == "Brocken");
  CHECK(back.value().elevation_m == 1141.5);
  CHECK(back.value().operator_name == "DWD");
  // keel_unknown_fields = reject, from the specialisation.
  CHECK_FALSE(keel::json_io::read<vendor::station>(std::string_view(R"({"id":1,"stationName":"x",)"
                                                                    R"("elevation":1,"owner":"y"})"))
                  .ok());
}

TEST_CASE("dto_traits: the OpenAPI schema is the member-hook twin's", "[customization]") {
  keel::openapi::schema_registry reg;
  const std::string schema = component_schema<vendor::station>(reg);
  CHECK(schema == component_schema<member_station>(reg));
  CHECK(reg.component_of<vendor::station>() == "station");
  simdjson::dom::parser parser;
  simdjson::dom::element s = parser.parse(schema);
  CHECK(std::string_view(s["description"]) == "A weather station.");
  CHECK(std::string_view(s["properties"]["elevation"]["description"]) == "metres above sea level");
  CHECK(std::string_view(s["properties"]["stationName"]["type"]) == "string");
  CHECK_FALSE(bool(s["additionalProperties"]));
  CHECK(std::string_view(s["examples"].at(0)["stationName"]) == "Zugspitze");

  // The operation's query parameters and header, placed by keel::location.
  simdjson::dom::parser doc_parser;
  simdjson::dom::element doc = doc_parser.parse(keel::openapi::document(make_router()));
  bool saw_min = false, saw_key = false;
  for (simdjson::dom::element p : simdjson::dom::array(doc["paths"]["/search"]["get"]["parameters"])) {
    const std::string_view name(p["name"]);
    if (name == "min_elevation") {
      saw_min = true;
      CHECK(std::string_view(p["in"]) == "query");
      CHECK(bool(p["required"]));  // keel_missing_fields = reject, from the specialisation
    } else if (name == "X-Station-Key") {
      saw_key = true;
      CHECK(std::string_view(p["in"]) == "header");
    }
  }
  CHECK(saw_min);
  CHECK(saw_key);
}

TEST_CASE("dto_traits: a vendor struct is read, checked, stored in SQLite and served over a socket",
          "[customization]") {
  running s;
  const std::string body = R"({"id":0,"stationName":"Zugspitze","elevation":2962,"operatorName":"DWD"})";
  std::string r = s.post("/stations", body);
  REQUIRE(status_of(r) == 201);
  CHECK(body_of(r).find(R"("stationName":"Zugspitze")") != std::string::npos);
  const std::int64_t id =
      station_db()
          .query_one_sync<std::int64_t>("SELECT id FROM station WHERE station_name = ? AND elevation_m = ?",
                                        "Zugspitze", 2962.0)
          .value_or(-1);
  REQUIRE(id > 0);
  r = s.get("/stations/" + std::to_string(id));
  CHECK(status_of(r) == 200);
  CHECK(body_of(r) == R"({"id":)" + std::to_string(id) +
                          R"(,"stationName":"Zugspitze","elevation":2962,"operatorName":"DWD"})");

  // The twin answers the same JSON for the same row.
  REQUIRE(status_of(s.post("/member_stations", body)) == 201);
  const std::int64_t twin =
      station_db().query_one_sync<std::int64_t>("SELECT max(id) FROM member_station").value_or(-1);
  std::string twin_body = body_of(s.get("/member_stations/" + std::to_string(twin)));
  std::string own_body = body_of(s.get("/stations/" + std::to_string(id)));
  CHECK(twin_body.substr(twin_body.find(',')) == own_body.substr(own_body.find(',')));

  // 422s: the same errors, from the specialisation's hooks and from the members.
  for (const char* bad : {R"({"id":0,"stationName":"x","elevation":1,"owner":"y"})",  // unknown: rejected
                          R"({"id":0,"elevation":1})",                                // stationName missing
                          R"({"id":0,"stationName":"x","elevation":"high"})"}) {      // wrong type
    const std::string own = s.post("/stations", bad);
    const std::string member = s.post("/member_stations", bad);
    CHECK(status_of(own) == 422);
    CHECK(body_of(own) == body_of(member));
  }
  CHECK(body_of(s.post("/stations", R"({"id":0,"elevation":1})")).find(R"("path":"stationName")") !=
        std::string::npos);
}

TEST_CASE("keel::location: extractors name their place in 422s over a socket", "[customization]") {
  running s;
  std::string r = s.get("/search?min_elevation=100&name=Brocken", "-H 'X-Station-Key: 5'");
  CHECK(status_of(r) == 200);
  CHECK(body_of(r) == "100|Brocken|5");
  // keel_missing_fields = reject from the specialisation: min_elevation is required.
  r = s.get("/search?name=Brocken", "-H 'X-Station-Key: 5'");
  CHECK(status_of(r) == 422);
  CHECK(body_of(r).find(R"({"location":"query","path":"min_elevation")") != std::string::npos);
  r = s.get("/search?min_elevation=1", "-H 'X-Station-Key: five'");
  CHECK(status_of(r) == 422);
  CHECK(body_of(r).find(R"({"location":"header","path":"X-Station-Key")") != std::string::npos);
}
