// A DTO taken as a plain struct parameter: the body is not read by magic; keel::json<T> says where it is.
#include <keel.hpp>
#include <keel/json.hpp>
#include <keel/test_client.hpp>
#include <string>
struct new_todo {
  std::string title;
};
int main() {
  auto app = keel::app{keel::router{keel::post<"/todos">([](new_todo t) { return t.title; })}};
  keel::test_client client{app};
  (void)client.post("/todos", R"({"title":"milk"})");
}
