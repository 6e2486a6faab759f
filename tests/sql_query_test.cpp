// keel::sql::select<T>(): the SQL text of a static shape is a compile-time constant in both placeholder
// styles, building and running such a query builds no text, values are always bound, and the run-time path
// (in(range), conditions combined in a loop) gives the same text for the same shape.
#include "keel/sql/query.hpp"

#include "keel/sql/database.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Every plain `new` in this binary is counted (array forms and deletes included, so pairs match).
static std::atomic<std::size_t> allocations{0};

void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n) { return ::operator new(n); }
// The nothrow forms too (Catch2 registers tests with them): every pointer reaching the free()-based deletes
// below must come from malloc, or ASan reports a new/free mismatch.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept { return ::operator new(n, tag); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

// Named (not anonymous): reflecting field names needs types with linkage on clang.
namespace sql_query_test {

struct post {
  static constexpr std::string_view keel_table = "post";
  std::int64_t id;
  std::int64_t author_id;
  std::string title;
  int score;
  std::optional<std::string> note;
};

struct tag {
  static constexpr std::string_view keel_table = "tag";
  std::int64_t id;
  std::string label;
};

void seed(keel::db& db) {
  db.execute_script_sync(
      "CREATE TABLE post (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL, title TEXT NOT NULL, "
      "score INTEGER NOT NULL, note TEXT)");
  for (int i = 1; i <= 6; ++i)
    db.execute_sync("INSERT INTO post (author_id, title, score, note) VALUES (?, ?, ?, ?)", 1 + i % 2,
                    "post " + std::to_string(i), i, i % 3 == 0 ? std::optional<std::string>() : "n");
}

keel::db& seeded_db() {
  static keel::db db{":memory:"};
  static bool seeded = (seed(db), true);
  (void)seeded;
  return db;
}

// Runs the query on the seeded database to completion (no reactor: the SQL runs inline).
template <class Q>
std::vector<post> fetch_now(const Q& query) {
  std::optional<keel::detail::task_result<std::vector<post>>> result;
  keel::detail::start_detached(seeded_db().fetch(query), [&](auto&& r) { result.emplace(std::move(r)); });
  REQUIRE(result.has_value());
  if (result->exception) std::rethrow_exception(result->exception);
  return std::move(*result->value);
}

std::vector<std::int64_t> ids(const std::vector<post>& rows) {
  std::vector<std::int64_t> out;
  for (const post& p : rows) out.push_back(p.id);
  return out;
}

}  // namespace sql_query_test
using namespace sql_query_test;
using keel::sql::field;

namespace {

constexpr std::string_view post_columns = R"(SELECT "id", "author_id", "title", "score", "note" FROM "post")";

using page_query = decltype(keel::sql::select<post>()
                                .where(field<&post::author_id> == 1 && field<&post::score> >= 2)
                                .order_by(field<&post::score>, keel::sql::desc)
                                .order_by(field<&post::id>)
                                .limit(2)
                                .offset(1));

using not_like_query = decltype(keel::sql::select<post>()
                                    .where(!(field<&post::title>.like("a%") || field<&post::note>.is_null()))
                                    .where(field<&post::id> != 3));

}  // namespace

TEST_CASE("a static shape's SQL text is a compile-time constant in each placeholder style", "[sql][query]") {
  using keel::sql::engine;
  STATIC_REQUIRE(
      keel::sql::detail::shape_text<page_query::shape> ==
      R"(SELECT "id", "author_id", "title", "score", "note" FROM "post" WHERE ("author_id" = ?) AND )"
      R"(("score" >= ?) ORDER BY "score" DESC, "id" ASC LIMIT ? OFFSET ?)");
  STATIC_REQUIRE(
      page_query::sql_for<engine::postgres> ==
      R"(SELECT "id", "author_id", "title", "score", "note" FROM "post" WHERE ("author_id" = $1) AND )"
      R"(("score" >= $2) ORDER BY "score" DESC, "id" ASC LIMIT $3 OFFSET $4)");
  STATIC_REQUIRE(
      page_query::sql_for<engine::sqlite> ==
      R"(SELECT "id", "author_id", "title", "score", "note" FROM "post" WHERE ("author_id" = ?1) AND )"
      R"(("score" >= ?2) ORDER BY "score" DESC, "id" ASC LIMIT ?3 OFFSET ?4)");
  STATIC_REQUIRE(
      not_like_query::sql_for<engine::postgres> ==
      R"(SELECT "id", "author_id", "title", "score", "note" FROM "post" WHERE (NOT (("title" LIKE )"
      R"($1) OR ("note" IS NULL))) AND ("id" <> $2))");
  using bare = decltype(keel::sql::select<tag>().offset(5));
  STATIC_REQUIRE(bare::sql_for<engine::postgres> == R"(SELECT "id", "label" FROM "tag" LIMIT $1 OFFSET $2)");
  using every_comparison =
      decltype(keel::sql::select<tag>().where(field<&tag::id> < 1 && field<&tag::id> <= 2 &&
                                              field<&tag::id> > 3 && field<&tag::label>.is_not_null()));
  STATIC_REQUIRE(every_comparison::sql_for<engine::sqlite> ==
                 R"(SELECT "id", "label" FROM "tag" WHERE ("id" < ?1) AND ("id" <= ?2) AND ("id" > ?3) AND )"
                 R"(("label" IS NOT NULL))");

  // What the connection would send each engine is exactly the constant.
  auto query = keel::sql::select<post>()
                   .where(field<&post::author_id> == 1 && field<&post::score> >= 2)
                   .order_by(field<&post::score>, keel::sql::desc)
                   .order_by(field<&post::id>)
                   .limit(2)
                   .offset(1);
  STATIC_REQUIRE(std::is_same_v<decltype(query), page_query>);
  CHECK(query.sql() == keel::sql::detail::shape_text<page_query::shape>);
  for (engine e : {engine::sqlite, engine::postgres}) {
    auto sent = keel::sql::detail::rewrite_placeholders(query.sql(), e).text;
    CHECK(sent == (e == engine::sqlite ? page_query::sql_for<engine::sqlite>
                                       : page_query::sql_for<engine::postgres>));
  }
}

TEST_CASE("values are bound in placeholder order, never written into the text", "[sql][query]") {
  const std::string evil = "x' OR '1'='1";
  auto query = keel::sql::select<post>()
                   .where(field<&post::title> == evil || field<&post::title>.like("%'--"))
                   .limit(7);
  CHECK(query.sql().find('\'') == std::string_view::npos);
  const auto& values = query.params().values();
  REQUIRE(values.size() == 3);
  CHECK(std::get<std::string>(values[0]) == evil);
  CHECK(std::get<std::string>(values[1]) == "%'--");
  CHECK(std::get<std::int64_t>(values[2]) == 7);

  auto rows = fetch_now(keel::sql::select<post>().where(field<&post::title> == evil));
  CHECK(rows.empty());
  CHECK(fetch_now(keel::sql::select<post>().where(field<&post::title> == "'; DROP TABLE post; --")).empty());
  CHECK(fetch_now(keel::sql::select<post>()).size() == 6);  // the table is still there, every row in it
}

TEST_CASE("building and reading a static-shape select builds no text", "[sql][query]") {
  auto make = [](std::int64_t author, std::int64_t page) {
    return keel::sql::select<post>()
        .where(field<&post::author_id> == author && field<&post::score> > 0)
        .order_by(field<&post::id>)
        .limit(20)
        .offset(page * 20);
  };
  std::size_t before = allocations.load();
  auto first = make(1, 0);
  auto second = make(2, 3);
  std::string_view first_text = first.sql();
  std::string_view second_text = second.sql();
  CHECK(allocations.load() == before);  // integers only: the query objects allocate nothing at all
  CHECK(first_text.data() == second_text.data());
  CHECK(first_text.data() == keel::sql::detail::shape_text<decltype(first)::shape>.data());

  before = allocations.load();
  CHECK(second.params().size() == 4);
  CHECK(allocations.load() == before + 1);  // the one vector of values, sized once
  CHECK(std::get<std::int64_t>(second.params().values()[3]) == 60);

  // The counter does see the run-time builder's text (so the zero above means something).
  before = allocations.load();
  keel::sql::select_query<post> dynamic = make(1, 0);
  CHECK(dynamic.sql() == first_text);
  CHECK(allocations.load() > before);
}

TEST_CASE("a static select runs on SQLite and one prepared statement serves every value", "[sql][query]") {
  keel::db& db = seeded_db();
  auto by_author = [&](std::int64_t author) {
    return fetch_now(
        keel::sql::select<post>().where(field<&post::author_id> == author).order_by(field<&post::id>));
  };
  CHECK(ids(by_author(1)) == std::vector<std::int64_t>{2, 4, 6});
  CHECK(ids(by_author(2)) == std::vector<std::int64_t>{1, 3, 5});

  CHECK(ids(fetch_now(keel::sql::select<post>()
                          .where(field<&post::score> >= 2 && field<&post::score> < 5)
                          .order_by(field<&post::score>, keel::sql::desc))) ==
        std::vector<std::int64_t>{4, 3, 2});
  CHECK(ids(fetch_now(
            keel::sql::select<post>().where(field<&post::note>.is_null()).order_by(field<&post::id>))) ==
        std::vector<std::int64_t>{3, 6});
  CHECK(ids(fetch_now(keel::sql::select<post>()
                          .where(!(field<&post::title>.like("post 1%") || field<&post::id> <= 4))
                          .order_by(field<&post::id>))) == std::vector<std::int64_t>{5, 6});
  CHECK(ids(fetch_now(keel::sql::select<post>().order_by(field<&post::id>).limit(2).offset(3))) ==
        std::vector<std::int64_t>{4, 5});
  CHECK(ids(fetch_now(keel::sql::select<post>().order_by(field<&post::id>).offset(4))) ==
        std::vector<std::int64_t>{5, 6});

  auto cached = [&] {
    return db.blocking(keel::sql::access::read,
                       [](keel::sql::connection& c) { return c.cached_statements(); });
  };
  std::size_t before = cached();
  by_author(1);
  by_author(2);
  by_author(3);
  CHECK(cached() == before);
}

TEST_CASE("run-time shapes (in, conditions built in a loop, a direction variable) keep the text",
          "[sql][query]") {
  std::vector<std::int64_t> wanted{2, 5, 6};
  keel::sql::select_query<post> in_query =
      keel::sql::select<post>().where(field<&post::id>.in(wanted)).order_by(field<&post::id>);
  CHECK(in_query.sql() == std::string(post_columns) + R"( WHERE "id" IN (?, ?, ?) ORDER BY "id" ASC)");
  CHECK(ids(fetch_now(in_query)) == wanted);

  // A static condition combined with a run-time one becomes a run-time condition.
  keel::sql::condition mixed = field<&post::author_id> == 1 && field<&post::id>.in(wanted);
  CHECK(mixed.text == R"(("author_id" = ?) AND ("id" IN (?, ?, ?)))");
  CHECK(mixed.params.size() == 4);

  keel::sql::condition looped = field<&post::score> > 0;
  for (int bad : {2, 4}) looped = looped && field<&post::score> != bad;
  auto static_twin = keel::sql::select<post>().where(field<&post::score> > 0 && field<&post::score> != 2 &&
                                                     field<&post::score> != 4);
  keel::sql::select_query<post> from_loop = keel::sql::select<post>().where(looped);
  CHECK(from_loop.sql() == static_twin.sql());
  CHECK(from_loop.params().values() == static_twin.params().values());
  CHECK(fetch_now(from_loop).size() == 4);

  keel::sql::direction newest = keel::sql::desc;
  auto by_variable = keel::sql::select<post>().order_by(field<&post::id>, newest).limit(1);
  STATIC_REQUIRE(std::is_same_v<decltype(by_variable), keel::sql::select_query<post>>);
  CHECK(ids(fetch_now(by_variable)) == std::vector<std::int64_t>{6});
  bool oldest_first = true;
  CHECK(ids(fetch_now(keel::sql::select<post>()
                          .order_by(field<&post::id>,
                                    oldest_first ? keel::sql::direction::asc : keel::sql::direction::desc)
                          .limit(1))) == std::vector<std::int64_t>{1});
}
