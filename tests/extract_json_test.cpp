// keel::json<T>: the request body as a typed DTO; content type, empty, malformed and invalid bodies.
#include "keel/extractors/json.hpp"

#include "keel/app.hpp"
#include "keel/json.hpp"
#include "keel/router/router.hpp"
#include "keel/test_client.hpp"
#include "support/field_errors.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

// Named, not anonymous: field-name reflection needs DTOs with linkage (clang).
namespace extract_json_test {

struct line_item {
  std::string sku;
  keel::range<int, 1, 1000> price;
};
struct order {
  keel::text<1, 20> customer;
  std::optional<std::string> note;
  std::vector<line_item> items;
};

auto make_app() {
  auto api = keel::router{
      keel::post<"/orders">([](keel::json<order> body) {
        int sum = 0;
        for (const auto& item : body->items) sum += *item.price;
        return std::string(*body->customer) + ":" + std::to_string(body.value.items.size()) + ":" +
               std::to_string(sum) + ":" + (*body).note.value_or("-");
      }),
  };
  return keel::app{std::move(api)};
}

}  // namespace extract_json_test

using namespace extract_json_test;

TEST_CASE("json<T> exposes its DTO and place for the OpenAPI generator", "[extract][json]") {
  STATIC_REQUIRE(std::is_same_v<keel::json<order>::keel_dto, order>);
  STATIC_REQUIRE(keel::json<order>::keel_location == keel::location::body);
}

TEST_CASE("json<T> reads a valid body", "[extract][json]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r =
      client.post("/orders", R"({"customer":"ann","items":[{"sku":"a","price":3},{"sku":"b","price":4}]})");
  CHECK(r.status == 200);
  CHECK(r.body == "ann:2:7:-");
  // Parameters and +json suffixes are JSON too.
  r = client.post("/orders", R"({"customer":"bo","note":"hi","items":[]})",
                  "application/json; charset=utf-8");
  CHECK(r.status == 200);
  CHECK(r.body == "bo:0:0:hi");
  CHECK(client.post("/orders", R"({"customer":"c","items":[]})", "application/vnd.shop+json").status == 200);
  CHECK(client.post("/orders", R"({"customer":"c","items":[]})", "Application/JSON").status == 200);
}

TEST_CASE("json<T> answers 415 to other content types", "[extract][json]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.post("/orders", R"({"customer":"ann","items":[]})", "text/plain");
  CHECK(r.status == 415);
  CHECK(r.body.find("unsupported_media_type") != std::string::npos);
  CHECK(client.post("/orders", R"({"customer":"ann","items":[]})", "application/jsonx").status == 415);
  CHECK(client.post("/orders", R"({"customer":"ann","items":[]})", "application/x-www-form-urlencoded")
            .status == 415);
  // No Content-Type at all.
  CHECK(client.request("POST", "/orders", {}, R"({"customer":"ann","items":[]})").status == 415);
}

TEST_CASE("json<T> answers 400 to an empty or malformed body", "[extract][json]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.post("/orders", "");
  CHECK(r.status == 400);
  CHECK(r.body.find("invalid_json") != std::string::npos);
  r = client.post("/orders", R"({"customer":"ann","items":[)");
  CHECK(r.status == 400);
  CHECK(r.body.find("invalid_json") != std::string::npos);
  CHECK(client.post("/orders", R"({"customer":"ann","items":[]} trailing)").status == 400);
  // A scalar document is valid JSON but no object: a 422 at the root, not a syntax error.
  CHECK(client.post("/orders", "42").status == 422);
}

TEST_CASE("json<T> lists every bad field with its path in one 422", "[extract][json]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.post("/orders", R"({"customer":"","items":[{"sku":"a","price":3},{"sku":"b","price":0},)"
                                  R"({"sku":1,"price":"x"},{"price":5}]})");
  CHECK(r.status == 422);
  CHECK(r.body.find("validation_failed") != std::string::npos);
  CHECK(keel_test::has_field(r, "body", "customer"));
  CHECK(keel_test::has_field(r, "body", "items[1].price"));
  CHECK(keel_test::has_field(r, "body", "items[2].sku"));
  CHECK(keel_test::has_field(r, "body", "items[2].price"));
  CHECK(keel_test::has_field(r, "body", "items[3].sku"));
  CHECK_FALSE(keel_test::has_field(r, "body", "items[0].price"));
  CHECK(r.body.find("must be between 1 and 1000") != std::string::npos);
  CHECK(r.body.find("field required") != std::string::npos);
}

TEST_CASE("json<T> parses pipelined requests straight from the shared read buffer", "[extract][json]") {
  auto app = make_app();
  keel::test_client client{app};
  // Two requests in one read: the first body is followed by the second request's bytes, not padding.
  std::string one = R"({"customer":"a","items":[{"sku":"x","price":1}]})";
  std::string two = R"({"customer":"b","items":[]})";
  std::string raw;
  for (const auto& body : {one, two})
    raw += "POST /orders HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  auto responses = client.send_raw(raw);
  REQUIRE(responses.size() == 2);
  CHECK(responses[0].body == "a:1:1:-");
  CHECK(responses[1].body == "b:0:0:-");
}

TEST_CASE("json<T> reads a chunked body (de-chunked in place)", "[extract][json]") {
  auto app = make_app();
  keel::test_client client{app};
  std::string raw =
      "POST /orders HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: "
      "chunked\r\n\r\n"
      "10\r\n{\"customer\":\"ch\"\r\n"
      "15\r\n,\"items\":[{\"sku\":\"s\",\r\n"
      "c\r\n\"price\":9}]}\r\n"
      "0\r\n\r\n";
  auto responses = client.send_raw(raw);
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].status == 200);
  CHECK(responses[0].body == "ch:1:9:-");
}
