// The articles: GET/POST /api/articles, GET /api/articles/feed, GET/PUT/DELETE /api/articles/{slug},
// POST/DELETE /api/articles/{slug}/favorite, GET /api/tags.
#pragma once

#include "auth.hpp"
#include "model.hpp"
#include "queries.hpp"
#include "slug.hpp"

#include <keel.hpp>
#include <keel/sql/database.hpp>
#include <keel/sql/query.hpp>
#include <keel/sql/transaction.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace conduit {

inline keel::http_error no_article(const std::string& slug) { return keel::not_found("no article " + slug); }

inline keel::task<articles_body> list_articles(keel::query<article_filter> filter, visitor me, keel::db& db) {
  const article_filter& f = *filter;
  article_query q;
  q.viewer = viewer_id(me);
  q.tag = f.tag;
  q.author = f.author;
  q.favorited = f.favorited;
  q.limit = *f.limit;
  q.offset = *f.offset;
  co_return co_await article_page(db, std::move(q));
}

inline keel::task<articles_body> feed(keel::query<feed_filter> filter, signed_in me, keel::db& db) {
  article_query q;
  q.viewer = me->uid;
  q.feed = me->uid;
  q.limit = *filter->limit;
  q.offset = *filter->offset;
  co_return co_await article_page(db, std::move(q));
}

inline keel::task<keel::result<article_body>> get_article(std::string slug, visitor me, keel::db& db) {
  auto snapshot = co_await db.snapshot();
  const std::optional<std::int64_t> viewer = viewer_id(me);
  auto article = co_await find_article(snapshot, slug, viewer);
  if (!article) co_return no_article(slug);
  co_return article_body{std::move(*article)};
}

struct slug_probe {
  std::string base;
  std::string prefix;  // base + "-"
  std::int64_t prefix_length = 0;
  std::int64_t self = 0;
};

// A slug for `title` no other article has (the article `self` may keep its own).
inline keel::task<std::string> free_slug(keel::sql::transaction& tx, const std::string& title,
                                         std::int64_t self) {
  slug_probe probe{slugify(title), {}, 0, self};
  probe.prefix = probe.base + "-";
  probe.prefix_length = utf8_length(probe.prefix);
  auto taken = co_await tx.query<std::string>(
      "SELECT slug FROM article WHERE (slug = :base OR substr(slug, 1, CAST(:prefix_length AS INTEGER)) = "
      ":prefix) AND id <> :self",
      probe);
  co_return unique_slug(probe.base, taken);
}

// The tags in the order given, each once.
inline std::vector<std::string> tag_names(
    const std::optional<keel::sized<std::vector<tag_text>, 0, 20>>& tags) {
  std::vector<std::string> out;
  if (!tags) return out;
  for (const tag_text& t : **tags) {
    bool seen = false;
    for (const std::string& have : out) seen = seen || have == *t;
    if (!seen) out.push_back(*t);
  }
  return out;
}

inline keel::task<void> write_tags(keel::sql::transaction& tx, std::int64_t article,
                                   const std::vector<std::string>& tags) {
  co_await tx.execute("DELETE FROM article_tag WHERE article_id = ?", article);
  for (const std::string& name : tags) {
    article_tag_row row{0, article, name};
    auto insert = keel::sql::insert(row);
    co_await tx.fetch_one(std::move(insert));
  }
}

inline keel::task<keel::result<keel::created<article_body>>> create_article(signed_in me,
                                                                            keel::json<new_article_body> in,
                                                                            keel::db& db) {
  const new_article& n = in->article;
  const time_point now = now_ms();
  article_row row{0, {}, *n.title, *n.description, *n.body, me->uid, now, now};
  auto tx = co_await db.begin();
  row.slug = co_await free_slug(tx, row.title, 0);
  auto insert = keel::sql::insert(row);
  row.id = *co_await tx.fetch_one(std::move(insert));
  co_await write_tags(tx, row.id, tag_names(n.tag_list));
  auto article = co_await find_article(tx, row.slug, me->uid);
  co_await tx.commit();
  std::string location = "/api/articles/" + row.slug;
  co_return keel::created<article_body>{article_body{std::move(*article)}, std::move(location)};
}

// The article for a change by `me`: 404 when there is none, 403 when it is someone else's.
inline keel::task<keel::result<article_row>> own_article(keel::sql::transaction& tx, const std::string& slug,
                                                         std::int64_t me) {
  auto row = co_await tx.query_one<article_row>("SELECT * FROM article WHERE slug = ?", slug);
  if (!row) co_return no_article(slug);
  if (row->author_id != me) co_return keel::forbidden("only the author may change this article");
  co_return std::move(*row);
}

inline keel::task<keel::result<article_body>> update_article(std::string slug, signed_in me,
                                                             keel::json<article_update_body> in,
                                                             keel::db& db) {
  const article_update& u = in->article;
  auto tx = co_await db.begin();
  auto found = co_await own_article(tx, slug, me->uid);
  if (!found) co_return std::move(found).error();
  article_row row = std::move(*found);
  if (u.title && **u.title != row.title) {
    row.title = **u.title;
    row.slug = co_await free_slug(tx, row.title, row.id);
  }
  if (u.description) row.description = **u.description;
  if (u.body) row.body = **u.body;
  row.updated_at = now_ms();
  auto update = keel::sql::update(row);
  co_await tx.run(std::move(update));
  if (u.tag_list) co_await write_tags(tx, row.id, tag_names(u.tag_list));
  auto article = co_await find_article(tx, row.slug, me->uid);
  co_await tx.commit();
  co_return article_body{std::move(*article)};
}

// Its tags, favorites and comments go with it (ON DELETE CASCADE).
inline keel::task<keel::result<keel::status_only>> delete_article(std::string slug, signed_in me,
                                                                  keel::db& db) {
  auto tx = co_await db.begin();
  auto found = co_await own_article(tx, slug, me->uid);
  if (!found) co_return std::move(found).error();
  auto remove = keel::sql::remove<article_row>(found->id);
  co_await tx.run(std::move(remove));
  co_await tx.commit();
  co_return keel::status_only{keel::http::status::no_content};
}

struct favorite_edge {
  std::int64_t user = 0;
  std::string slug;
};

// Favoriting twice, or unfavoriting an article not favorited, changes nothing and answers the article. The
// write is one statement that finds the article by its slug (an unknown slug writes nothing, and the read
// after it answers 404), outside a transaction: a transaction would keep its row lock while waiting for a
// worker thread, and on PostgreSQL concurrent (un)favorites of one article could then block every worker on
// each other's locks.
inline keel::task<keel::result<article_body>> set_favorite(std::string slug, std::int64_t me, bool favorite,
                                                           keel::db& db) {
  favorite_edge edge{me, slug};
  if (favorite)
    co_await db.execute(
        "INSERT INTO favorite (user_id, article_id) SELECT :user, a.id FROM article a WHERE a.slug = :slug"
        " ON CONFLICT DO NOTHING",
        edge);
  else
    co_await db.execute(
        "DELETE FROM favorite WHERE user_id = :user AND article_id IN (SELECT a.id FROM article a WHERE "
        "a.slug "
        "= :slug)",
        edge);
  auto snapshot = co_await db.snapshot();
  auto article = co_await find_article(snapshot, slug, me);
  if (!article) co_return no_article(slug);
  co_return article_body{std::move(*article)};
}

inline keel::task<keel::result<article_body>> favorite_article(std::string slug, signed_in me, keel::db& db) {
  co_return co_await set_favorite(std::move(slug), me->uid, true, db);
}

inline keel::task<keel::result<article_body>> unfavorite_article(std::string slug, signed_in me,
                                                                 keel::db& db) {
  co_return co_await set_favorite(std::move(slug), me->uid, false, db);
}

// Every tag in use, the most used first.
inline keel::task<tags_body> list_tags(keel::db& db) {
  auto tags =
      co_await db.query<std::string>("SELECT tag FROM article_tag GROUP BY tag ORDER BY count(*) DESC, tag");
  co_return tags_body{std::move(tags)};
}

}  // namespace conduit
