// Paging a list: keel::paging (the `?limit=&offset=` query DTO), keel::page<T> (the answer:
// {"items":[...],"total":N,"limit":L,"offset":O}) and sql::fetch_page, which fills one from a typed select.
//   keel::task<keel::page<article>> list(keel::query<keel::paging> paging, keel::db& db) {
//     co_return co_await keel::sql::fetch_page(
//         db, sql::select<article>().order_by(field<&article::id>), *paging);   // count + one page
//   }
// The OpenAPI document describes both: `limit` an integer 1..100 defaulting to 20, `offset` >= 0 defaulting
// to 0, and the page as an object with those four members.
#pragma once

#include "keel/config.hpp"
#include "keel/sql/aggregate.hpp"
#include "keel/sql/rows.hpp"
#include "keel/sql/runner.hpp"
#include "keel/task.hpp"
#include "keel/validate/rules.hpp"

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

// `?limit=20&offset=40`: a keel::query<keel::paging> handler parameter. Absent keys keep these defaults; a
// limit outside 1..100 or a negative offset is a 422. A handler with filters of its own puts the same two
// fields into its filter DTO instead (see todo_filter in examples/todo_model.hpp): a 422 then names every bad
// key at once, where two query parameters would report only the first one's.
struct paging {
  range<int, 1, 100> limit = 20;
  range<std::int64_t, 0, std::numeric_limits<std::int64_t>::max()> offset = 0;
};

// One page of a longer list: `total` counts every match, `items` holds at most `limit` of them, starting
// at the `offset`-th.
template <class T>
struct page {
  std::vector<T> items;
  std::int64_t total = 0;
  int limit = 0;
  std::int64_t offset = 0;
};

}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {
namespace sql {

namespace detail {

// A paging field's number: a keel::range (or other validator) holds it, a plain integer is it.
template <class V>
constexpr std::int64_t paging_number(const V& v) {
  if constexpr (requires { *v; })
    return static_cast<std::int64_t>(*v);
  else
    return static_cast<std::int64_t>(v);
}

}  // namespace detail

// What fetch_page reads the page from: keel::paging, or a handler's own query DTO that has `limit` and
// `offset` among its filters (one DTO, so one 422 lists every bad key of the query string).
template <class P>
concept PagingRequest = requires(const P& p) {
  detail::paging_number(p.limit);
  detail::paging_number(p.offset);
};

// The page `paging` names of what `select` matches, and the count of all of them. Give the select an
// order_by, or the pages are in whatever order the engine likes (and may overlap). With a keel::db the
// count and the page are read from one snapshot, so `total` agrees with `items` while writers commit; with
// a transaction or a read snapshot they are read through it.
template <class Executor, BuiltQuery Q, PagingRequest P>
auto fetch_page(Executor& executor, Q select, const P& paging) -> task<page<typename Q::row_type>> {
  static_assert(
      !RowWithTextViews<typename Q::row_type>,
      "keel::sql::fetch_page: a page's rows must own their text (std::string, not std::string_view)");
  page<typename Q::row_type> out;
  out.limit = static_cast<int>(detail::paging_number(paging.limit));
  out.offset = detail::paging_number(paging.offset);
  auto total = count(select);
  auto rows = std::move(select).limit(out.limit).offset(out.offset);
  if constexpr (requires { executor.snapshot(); }) {
    auto snapshot = co_await executor.snapshot();
    out.total = co_await snapshot.fetch_value(std::move(total));
    auto items = co_await snapshot.fetch(std::move(rows));
    // Ended here rather than in its destructor (which ends it in the background): the connection is free
    // before the answer goes out, which a :memory: database, with its single connection, needs at once.
    co_await snapshot.close();
    out.items.assign(std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
  } else {
    out.total = co_await executor.fetch_value(std::move(total));
    auto items = co_await executor.fetch(std::move(rows));
    out.items.assign(std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
  }
  co_return out;
}

}  // namespace sql
}  // namespace v0
}  // namespace keel
