// A small CRUD API over typed DTOs: validated bodies, query filters, paging, 201 + Location, 404, 422.
// clang-format off
//   build/examples/todo --port 8080
//   J='Content-Type: application/json'
//   curl -i -H "$J" -d '{"title":"buy milk","tags":["home"]}' localhost:8080/todos
//   curl -i 'localhost:8080/todos?done=false&tag=home&limit=10'
//   curl -i -X PATCH -H "$J" -d '{"done":true}' localhost:8080/todos/1
//   curl -i -H "$J" -d '{"title":"","priority":9}' localhost:8080/todos     (a 422 listing both fields)
// clang-format on
#include "todo_app.hpp"

int main(int argc, char** argv) {
  todo::todo_store store;
  todo::make_app(store).serve(keel::server_config::from_args(argc, argv));
}
