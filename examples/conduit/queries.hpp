// Conduit's reads. Every list answers in a fixed number of statements whatever its length: the page query
// computes each article's author, favorite count, `favorited` and `following` for the caller in the same
// statement (correlated subqueries), and one more statement reads the tags of the whole page
// (`WHERE article_id IN (...)`). The filters are one constant SQL text: a filter left out binds NULL and
// `CAST(:x AS TEXT) IS NULL OR ...` lets every row through, so each statement is prepared once.
#pragma once

#include "model.hpp"

#include <keel.hpp>
#include <keel/sql/database.hpp>
#include <keel/sql/query.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace conduit {

// What one article query selects; every member is bound by name (`:viewer`, `:tag` ...).
struct article_query {
  std::optional<std::int64_t> viewer;  // whose `favorited` / `following`
  std::optional<std::string> slug;
  std::optional<std::string> tag;
  std::optional<std::string> author;
  std::optional<std::string> favorited;
  std::optional<std::int64_t> feed;  // articles of the authors this user follows
  std::int64_t limit = 20;
  std::int64_t offset = 0;
};

// The filters name only `a`, so the count runs over the covering index article_by_author (author_id, id)
// and never reads the article rows (29 ms -> 0.7 ms for 10,000 articles).
inline constexpr const char* article_filters =
    " WHERE (CAST(:tag AS TEXT) IS NULL OR a.id IN (SELECT t.article_id FROM article_tag t WHERE t.tag = "
    ":tag))"
    " AND (CAST(:author AS TEXT) IS NULL OR a.author_id IN (SELECT au.id FROM users au"
    " WHERE au.username = :author))"
    " AND (CAST(:favorited AS TEXT) IS NULL OR a.id IN (SELECT f.article_id FROM favorite f"
    " JOIN users fu ON fu.id = f.user_id WHERE fu.username = :favorited))"
    " AND (CAST(:feed AS BIGINT) IS NULL OR a.author_id IN (SELECT w.followee_id FROM follow w"
    " WHERE w.follower_id = :feed))";

inline constexpr const char* article_columns =
    "SELECT a.id AS id, a.slug AS slug, a.title AS title, a.description AS description, a.body AS body,"
    " a.created_at AS created_at, a.updated_at AS updated_at, u.username AS author_username,"
    " u.bio AS author_bio, u.image AS author_image,"
    " (SELECT count(*) FROM favorite f WHERE f.article_id = a.id) AS favorites_count,"
    " EXISTS (SELECT 1 FROM favorite f WHERE f.article_id = a.id AND f.user_id = :viewer) AS favorited,"
    " EXISTS (SELECT 1 FROM follow w WHERE w.followee_id = a.author_id AND w.follower_id = :viewer)"
    " AS following FROM article a JOIN users u ON u.id = a.author_id";

inline const std::string& article_page_sql() {
  static const std::string sql =
      std::string(article_columns) + article_filters + " ORDER BY a.id DESC LIMIT :limit OFFSET :offset";
  return sql;
}
inline const std::string& article_count_sql() {
  static const std::string sql = std::string("SELECT count(*) FROM article a") + article_filters;
  return sql;
}
// One article by its slug (the unique index, not a filter that could be NULL).
inline const std::string& article_by_slug_sql() {
  static const std::string sql = std::string(article_columns) + " WHERE a.slug = :slug";
  return sql;
}

// A timestamp as the API shows it (milliseconds), so what is stored is what is answered.
inline time_point now_ms() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

inline profile_view author_of(const article_record& r) {
  return {r.author_username, r.author_bio, r.author_image, r.following};
}

// The records with their tags (in the order given), in ONE statement for the whole page. `Executor`:
// keel::db, a transaction or a snapshot.
template <class Executor>
keel::task<std::vector<article_view>> with_tags(Executor& executor, std::vector<article_record> records,
                                                bool with_body) {
  std::vector<std::int64_t> ids;
  ids.reserve(records.size());
  for (const article_record& r : records) ids.push_back(r.id);
  std::unordered_map<std::int64_t, std::vector<std::string>> tags;
  if (!ids.empty()) {
    using keel::sql::field;
    auto query = keel::sql::select<article_tag_row>()
                     .where(field<&article_tag_row::article_id>.in(ids))
                     .order_by(field<&article_tag_row::id>);
    for (article_tag_row& t : co_await executor.fetch(std::move(query)))
      tags[t.article_id].push_back(std::move(t.tag));
  }
  std::vector<article_view> out;
  out.reserve(records.size());
  for (article_record& r : records) {
    article_view v{r.slug,       r.title,      r.description, std::nullopt,      std::move(tags[r.id]),
                   r.created_at, r.updated_at, r.favorited,   r.favorites_count, author_of(r)};
    if (with_body) v.body = std::move(r.body);
    out.push_back(std::move(v));
  }
  co_return out;
}

// One page of articles and the count of all that match, from one snapshot: 2 statements + 1 for the tags.
inline keel::task<articles_body> article_page(keel::db& db, article_query q) {
  auto snapshot = co_await db.snapshot();
  std::optional<std::int64_t> total = co_await snapshot.query_one<std::int64_t>(article_count_sql(), q);
  auto records = co_await snapshot.query<article_record>(article_page_sql(), q);
  articles_body page;
  page.articles_count = total.value_or(0);
  page.articles = co_await with_tags(snapshot, std::move(records), false);
  co_return page;
}

// One article by slug as `viewer` sees it (2 statements); nullopt when there is none.
template <class Executor>
keel::task<std::optional<article_view>> find_article(Executor& executor, std::string slug,
                                                     std::optional<std::int64_t> viewer) {
  article_query q;
  q.viewer = viewer;
  q.slug = std::move(slug);
  auto records = co_await executor.template query<article_record>(article_by_slug_sql(), q);
  if (records.empty()) co_return std::nullopt;
  auto views = co_await with_tags(executor, std::move(records), true);
  co_return std::move(views.front());
}

// A profile as `viewer` sees it.
struct profile_lookup {
  std::string username;
  std::optional<std::int64_t> viewer;
};
template <class Executor>
keel::task<std::optional<profile_record>> find_profile(Executor& executor, std::string username,
                                                       std::optional<std::int64_t> viewer) {
  profile_lookup q{std::move(username), viewer};
  co_return co_await executor.template query_one<profile_record>(
      "SELECT u.id AS id, u.username AS username, u.bio AS bio, u.image AS image,"
      " EXISTS (SELECT 1 FROM follow w WHERE w.followee_id = u.id AND w.follower_id = :viewer) AS following"
      " FROM users u WHERE u.username = :username",
      q);
}

inline profile_view to_view(const profile_record& p) { return {p.username, p.bio, p.image, p.following}; }

// The id of the article with this slug, if any.
template <class Executor>
keel::task<std::optional<std::int64_t>> article_id(Executor& executor, const std::string& slug) {
  co_return co_await executor.template query_one<std::int64_t>("SELECT id FROM article WHERE slug = ?", slug);
}

}  // namespace conduit
