// Tutorial step 3 (docs/tutorial.md): a query-string DTO, and paging with keel::paging / keel::page<T>.
//   build/examples/tutorial_step3_query --port 8080
//   curl 'localhost:8080/bookmarks?limit=2&offset=1'     curl 'localhost:8080/bookmarks?q=sql'
//   curl -i 'localhost:8080/bookmarks?limit=500'         (a 422: limit must be between 1 and 100)
#include <keel.hpp>
#include <keel/json.hpp>
#include <keel/sql/page.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bookmarks {

struct bookmark {
  std::int64_t id = 0;
  std::string url;
  std::string title;
};

// GET /bookmarks?q=sql&limit=20&offset=40. Each field is one query parameter; absent keys keep these
// defaults. The paging fields are keel::paging's (limit 1..100, default 20; offset >= 0): in the same DTO
// as the filter, a bad request gets one 422 naming every bad key.
struct bookmark_filter {
  std::optional<keel::text<1, 100>> q;  // a piece of the title, any letter case
  decltype(keel::paging::limit) limit = 20;
  decltype(keel::paging::offset) offset = 0;
};

const std::vector<bookmark> saved = {
    {1, "https://isocpp.org", "Standard C++"},
    {2, "https://www.sqlite.org/lang.html", "SQLite's SQL"},
    {3, "https://www.postgresql.org/docs/", "PostgreSQL manuals"},
    {4, "https://github.com/simdjson/simdjson", "simdjson"},
};

bool contains_ignoring_case(std::string_view text, std::string_view piece) {
  auto lower = [](unsigned char c) { return std::tolower(c); };
  auto hit = std::search(text.begin(), text.end(), piece.begin(), piece.end(),
                         [&](char a, char b) { return lower(a) == lower(b); });
  return hit != text.end();
}

// keel::page<T> answers {"items":[...],"total":N,"limit":L,"offset":O}: `total` counts every match.
keel::page<bookmark> list_bookmarks(keel::query<bookmark_filter> filter) {
  std::vector<bookmark> matches;
  for (const bookmark& b : saved)
    if (!filter->q || contains_ignoring_case(b.title, **filter->q)) matches.push_back(b);
  keel::page<bookmark> page{{}, static_cast<std::int64_t>(matches.size()), *filter->limit, *filter->offset};
  for (std::int64_t i = page.offset; i < page.total && i < page.offset + page.limit; ++i)
    page.items.push_back(matches[static_cast<std::size_t>(i)]);
  return page;
}

}  // namespace bookmarks

int main(int argc, char** argv) {
  auto api = keel::router{
      keel::get<"/bookmarks">(&bookmarks::list_bookmarks),
  };
  keel::app{std::move(api)}.serve(keel::server_config::from_args(argc, argv));
}
