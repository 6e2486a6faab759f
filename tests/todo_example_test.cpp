// The todo example end to end through keel::test_client: CRUD, filters, paging, 201/204/404/415/422.
#include "../examples/todo_app.hpp"

#include "keel/test_client.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

template <class Client>
std::string create(Client& client, std::string_view body) {
  auto r = client.post("/todos", body);
  REQUIRE(r.status == 201);
  return std::string(r.header("Location"));
}

}  // namespace

TEST_CASE("todo: create, read, update, delete", "[example][todo]") {
  todo::todo_store store;
  auto app = todo::make_app(store);
  keel::test_client client{app};

  auto r = client.post("/todos", R"({"title":"buy milk","priority":2,"tags":["home","shop"]})");
  CHECK(r.status == 201);
  CHECK(r.header("Location") == "/todos/1");
  CHECK(r.header("Content-Type") == "application/json");
  CHECK(r.body == R"({"id":1,"title":"buy milk","priority":2,"done":false,"tags":["home","shop"]})");

  r = client.get("/todos/1");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"id":1,"title":"buy milk","priority":2,"done":false,"tags":["home","shop"]})");

  r = client.patch("/todos/1", R"({"done":true})");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"id":1,"title":"buy milk","priority":2,"done":true,"tags":["home","shop"]})");

  r = client.put("/todos/1", R"({"title":"buy oat milk"})");  // a replacement: unsent fields reset
  CHECK(r.status == 200);
  CHECK(r.body == R"({"id":1,"title":"buy oat milk","done":false,"tags":[]})");

  r = client.del("/todos/1");
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  CHECK(client.get("/todos/1").status == 404);
  CHECK(client.del("/todos/1").status == 404);
  CHECK(client.patch("/todos/1", R"({"done":true})").status == 404);
  CHECK(client.put("/todos/1", R"({"title":"x"})").status == 404);
  CHECK(client.get("/todos/abc").status == 400);  // a bad path parameter
}

TEST_CASE("todo: filters and paging", "[example][todo]") {
  todo::todo_store store;
  auto app = todo::make_app(store);
  keel::test_client client{app};
  CHECK(create(client, R"({"title":"buy milk","tags":["home","shop"]})") == "/todos/1");
  create(client, R"({"title":"call mum","tags":["home"],"done":true})");
  create(client, R"({"title":"buy stamps","tags":["shop"]})");
  for (int i = 0; i < 30; ++i) create(client, R"({"title":"chore )" + std::to_string(i) + R"("})");

  auto r = client.get("/todos");
  CHECK(r.status == 200);
  CHECK(r.body.find(R"("total":33,"limit":20,"offset":0})") != std::string::npos);
  CHECK(r.body.find(R"("id":20,)") != std::string::npos);
  CHECK(r.body.find(R"("id":21,)") == std::string::npos);

  r = client.get("/todos?limit=2&offset=31");
  CHECK(r.body.find(R"("id":32,)") != std::string::npos);
  CHECK(r.body.find(R"("id":33,)") != std::string::npos);
  CHECK(r.body.find(R"("total":33,"limit":2,"offset":31})") != std::string::npos);

  r = client.get("/todos?tag=home");
  CHECK(r.body.find(R"("total":2)") != std::string::npos);
  r = client.get("/todos?tag=home&tag=shop");  // every tag must be there
  CHECK(r.body.find(R"("total":1)") != std::string::npos);
  CHECK(r.body.find("buy milk") != std::string::npos);
  r = client.get("/todos?done=true");
  CHECK(r.body.find(R"("total":1)") != std::string::npos);
  CHECK(r.body.find("call mum") != std::string::npos);
  r = client.get("/todos?q=buy&done=false");
  CHECK(r.body.find(R"("total":2)") != std::string::npos);
  r = client.get("/todos?q=buy+stamps");
  CHECK(r.body.find(R"("total":1)") != std::string::npos);
}

TEST_CASE("todo: bad input is a 400, 415 or 422 naming the field", "[example][todo]") {
  todo::todo_store store;
  auto app = todo::make_app(store);
  keel::test_client client{app};

  auto r = client.post("/todos", R"({"title":"","priority":9,"tags":["ok",""],"titel":"x"})");
  CHECK(r.status == 422);
  CHECK(r.body.find(R"({"location":"body","path":"title","reason":"length must be 1..120"})") !=
        std::string::npos);
  CHECK(r.body.find(R"({"location":"body","path":"priority","reason":"must be between 0 and 5"})") !=
        std::string::npos);
  CHECK(r.body.find(R"("path":"tags[1]")") != std::string::npos);
  CHECK(r.body.find(R"({"location":"body","path":"titel","reason":"unknown field"})") != std::string::npos);
  CHECK(client.post("/todos", R"({"priority":1})").status == 422);  // title is required
  CHECK(client.post("/todos", R"({"title":)").status == 400);
  CHECK(client.post("/todos", "title=x", "application/x-www-form-urlencoded").status == 415);
  CHECK(client.get("/todos").body == R"({"items":[],"total":0,"limit":20,"offset":0})");  // nothing stored

  r = client.get("/todos?limit=101&offset=-5&done=perhaps");
  CHECK(r.status == 422);
  CHECK(r.body.find(R"({"location":"query","path":"limit","reason":"must be between 1 and 100"})") !=
        std::string::npos);
  CHECK(r.body.find(R"("location":"query","path":"offset")") != std::string::npos);
  CHECK(r.body.find(R"("location":"query","path":"done")") != std::string::npos);
}
