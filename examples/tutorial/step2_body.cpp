// Tutorial step 2 (docs/tutorial.md): a validated JSON body, and a service the handlers share.
//   build/examples/tutorial_step2_body --port 8080
//   curl -i -H 'Content-Type: application/json' -d '{"url":"https://isocpp.org","title":"C++"}'
//   localhost:8080/bookmarks curl -i -H 'Content-Type: application/json' -d '{"url":"not a url","title":""}'
//   localhost:8080/bookmarks
#include <keel.hpp>
#include <keel/json.hpp>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace bookmarks {

struct bookmark {
  std::int64_t id = 0;
  std::string url;
  std::string title;
};

// What POST /bookmarks accepts. The validators are types: a bad field is a 422 naming it, with every other
// bad field of the same body.
struct new_bookmark {
  keel::url url;
  keel::text<1, 200> title;
  using keel_unknown_fields = keel::reject;  // a typo such as "titel" is a 422 too
};

// In memory for now (step 4 stores it in SQLite). One instance, shared by every request: it locks.
class store {
 public:
  bookmark add(const new_bookmark& in) {
    std::lock_guard lock(mutex_);
    items_.push_back({static_cast<std::int64_t>(items_.size()) + 1, *in.url, *in.title});
    return items_.back();
  }
  std::optional<bookmark> find(std::int64_t id) {
    std::lock_guard lock(mutex_);
    if (id < 1 || id > static_cast<std::int64_t>(items_.size())) return std::nullopt;
    return items_[static_cast<std::size_t>(id - 1)];
  }

 private:
  std::mutex mutex_;
  std::vector<bookmark> items_;
};

// keel::json<T>: the body, parsed and checked before the handler runs. `store&`: the service given to
// app.provide(). keel::created<T> answers 201 with a Location header.
keel::created<bookmark> create_bookmark(keel::json<new_bookmark> body, store& s) {
  bookmark b = s.add(*body);
  return {b, "/bookmarks/" + std::to_string(b.id)};
}

std::optional<bookmark> get_bookmark(std::int64_t id, store& s) { return s.find(id); }

}  // namespace bookmarks

int main(int argc, char** argv) {
  bookmarks::store store;
  auto api = keel::router{
      keel::post<"/bookmarks">(&bookmarks::create_bookmark),
      keel::get<"/bookmarks/{id}">(&bookmarks::get_bookmark),
  };
  keel::app{std::move(api)}.provide(store).serve(keel::server_config::from_args(argc, argv));
}
