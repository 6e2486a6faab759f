// Tutorial step 1 (docs/tutorial.md): routes and path parameters.
//   build/examples/tutorial_step1_routes --port 8080
//   curl localhost:8080/                  curl localhost:8080/bookmarks/1        curl
//   localhost:8080/bookmarks/x
#include <keel.hpp>
#include <keel/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bookmarks {

// A DTO: a plain struct. Returned from a handler, it is answered as JSON.
struct bookmark {
  std::int64_t id = 0;
  std::string url;
  std::string title;
};

const std::vector<bookmark> saved = {
    {1, "https://isocpp.org", "Standard C++"},
    {2, "https://www.sqlite.org/lang.html", "SQLite's SQL"},
};

// `{id}` in the path is the handler's std::int64_t parameter: "/bookmarks/x" is a 400 before the handler
// runs. A std::optional result answers 404 when it is empty.
std::optional<bookmark> get_bookmark(std::int64_t id) {
  for (const bookmark& b : saved)
    if (b.id == id) return b;
  return std::nullopt;
}

}  // namespace bookmarks

int main(int argc, char** argv) {
  auto api = keel::router{
      keel::get<"/">([] { return "bookmarks: try /bookmarks/1"; }),
      keel::get<"/bookmarks/{id}">(&bookmarks::get_bookmark),
  };
  keel::app{std::move(api)}.serve(keel::server_config::from_args(argc, argv));
}
