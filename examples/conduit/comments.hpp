// GET/POST /api/articles/{slug}/comments, DELETE /api/articles/{slug}/comments/{id}.
#pragma once

#include "auth.hpp"
#include "model.hpp"
#include "queries.hpp"

#include <keel.hpp>
#include <keel/sql/database.hpp>
#include <keel/sql/query.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace conduit {

struct comment_query {
  std::int64_t article = 0;
  std::optional<std::int64_t> viewer;
  std::optional<std::int64_t> id;  // one comment, or all of the article's
};

inline constexpr const char* comments_sql =
    "SELECT c.id AS id, c.author_id AS author_id, c.body AS body, c.created_at AS created_at,"
    " c.updated_at AS updated_at, u.username AS author_username, u.bio AS author_bio, u.image AS "
    "author_image,"
    " EXISTS (SELECT 1 FROM follow w WHERE w.followee_id = c.author_id AND w.follower_id = :viewer) AS "
    "following"
    " FROM comment c JOIN users u ON u.id = c.author_id"
    " WHERE c.article_id = :article AND (CAST(:id AS BIGINT) IS NULL OR c.id = :id) ORDER BY c.id";

inline comment_view to_view(comment_record& c) {
  return {c.id,
          c.created_at,
          c.updated_at,
          std::move(c.body),
          {std::move(c.author_username), std::move(c.author_bio), std::move(c.author_image), c.following}};
}

// The article's comments, oldest first (2 statements in one snapshot, whatever their number).
inline keel::task<keel::result<comments_body>> list_comments(std::string slug, visitor me, keel::db& db) {
  auto snapshot = co_await db.snapshot();
  auto article = co_await article_id(snapshot, slug);
  if (!article) co_return keel::not_found("no article " + slug);
  comment_query q{*article, viewer_id(me), std::nullopt};
  auto records = co_await snapshot.query<comment_record>(comments_sql, q);
  comments_body out;
  out.comments.reserve(records.size());
  for (comment_record& c : records) out.comments.push_back(to_view(c));
  co_return out;
}

// 200 with the comment, as the spec says (not 201).
inline keel::task<keel::result<comment_body>> add_comment(std::string slug, signed_in me,
                                                          keel::json<new_comment_body> in, keel::db& db) {
  auto tx = co_await db.begin();
  auto article = co_await article_id(tx, slug);
  if (!article) co_return keel::not_found("no article " + slug);
  const time_point now = now_ms();
  comment_row row{0, *article, me->uid, *in->comment.body, now, now};
  auto insert = keel::sql::insert(row);
  row.id = *co_await tx.fetch_one(std::move(insert));
  comment_query q{*article, me->uid, row.id};
  auto records = co_await tx.query<comment_record>(comments_sql, q);
  co_await tx.commit();
  co_return comment_body{to_view(records.front())};
}

// Only its author may delete a comment (403 for anyone else); 404 when the article or the comment (on that
// article) does not exist.
inline keel::task<keel::result<keel::status_only>> delete_comment(std::string slug, std::int64_t id,
                                                                  signed_in me, keel::db& db) {
  auto tx = co_await db.begin();
  auto article = co_await article_id(tx, slug);
  if (!article) co_return keel::not_found("no article " + slug);
  comment_query q{*article, me->uid, id};
  auto records = co_await tx.query<comment_record>(comments_sql, q);
  if (records.empty()) co_return keel::not_found("no comment " + std::to_string(id) + " on " + slug);
  if (records.front().author_id != me->uid) co_return keel::forbidden("only its author may delete a comment");
  auto remove = keel::sql::remove<comment_row>(id);
  co_await tx.run(std::move(remove));
  co_await tx.commit();
  co_return keel::status_only{keel::http::status::no_content};
}

}  // namespace conduit
