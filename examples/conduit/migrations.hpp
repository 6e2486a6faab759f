// The Conduit schema, in each engine's dialect. Applied in order at start-up (or by `conduit --migrate`);
// never edit one that shipped, add the next version. Tags, favorites and comments go with their article
// (ON DELETE CASCADE; SQLite enforces it because keel turns foreign_keys on).
#pragma once

#include <keel/sql/database.hpp>
#include <keel/sql/migrate.hpp>

#include <span>

namespace conduit {

constexpr keel::sql::migration sqlite_migrations[] = {
    {1, "users and follows",
     "CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, email TEXT NOT NULL UNIQUE, "
     "password_hash TEXT NOT NULL, bio TEXT NOT NULL DEFAULT '', image TEXT NOT NULL DEFAULT '');"
     "CREATE TABLE follow (follower_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, "
     "followee_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, "
     "PRIMARY KEY (follower_id, followee_id));"
     "CREATE INDEX follow_by_followee ON follow (followee_id)"},
    {2, "articles, tags, favorites, comments",
     "CREATE TABLE article (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, title TEXT NOT NULL, "
     "description TEXT NOT NULL, body TEXT NOT NULL, "
     "author_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, "
     "created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
     "CREATE INDEX article_by_author ON article (author_id, id);"
     "CREATE TABLE article_tag (id INTEGER PRIMARY KEY, "
     "article_id INTEGER NOT NULL REFERENCES article(id) ON DELETE CASCADE, tag TEXT NOT NULL);"
     "CREATE INDEX article_tag_by_article ON article_tag (article_id);"
     "CREATE INDEX article_tag_by_tag ON article_tag (tag, article_id);"
     "CREATE TABLE favorite (user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, "
     "article_id INTEGER NOT NULL REFERENCES article(id) ON DELETE CASCADE, "
     "PRIMARY KEY (user_id, article_id));"
     "CREATE INDEX favorite_by_article ON favorite (article_id);"
     "CREATE TABLE comment (id INTEGER PRIMARY KEY, "
     "article_id INTEGER NOT NULL REFERENCES article(id) ON DELETE CASCADE, "
     "author_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, body TEXT NOT NULL, "
     "created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
     "CREATE INDEX comment_by_article ON comment (article_id, id)"},
};

constexpr keel::sql::migration postgres_migrations[] = {
    {1, "users and follows",
     "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, username TEXT NOT NULL UNIQUE, email TEXT NOT NULL "
     "UNIQUE, "
     "password_hash TEXT NOT NULL, bio TEXT NOT NULL DEFAULT '', image TEXT NOT NULL DEFAULT '');"
     "CREATE TABLE follow (follower_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE, "
     "followee_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE, "
     "PRIMARY KEY (follower_id, followee_id));"
     "CREATE INDEX follow_by_followee ON follow (followee_id)"},
    {2, "articles, tags, favorites, comments",
     "CREATE TABLE article (id BIGSERIAL PRIMARY KEY, slug TEXT NOT NULL UNIQUE, title TEXT NOT NULL, "
     "description TEXT NOT NULL, body TEXT NOT NULL, "
     "author_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE, "
     "created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL);"
     "CREATE INDEX article_by_author ON article (author_id, id);"
     "CREATE TABLE article_tag (id BIGSERIAL PRIMARY KEY, "
     "article_id BIGINT NOT NULL REFERENCES article(id) ON DELETE CASCADE, tag TEXT NOT NULL);"
     "CREATE INDEX article_tag_by_article ON article_tag (article_id);"
     "CREATE INDEX article_tag_by_tag ON article_tag (tag, article_id);"
     "CREATE TABLE favorite (user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE, "
     "article_id BIGINT NOT NULL REFERENCES article(id) ON DELETE CASCADE, "
     "PRIMARY KEY (user_id, article_id));"
     "CREATE INDEX favorite_by_article ON favorite (article_id);"
     "CREATE TABLE comment (id BIGSERIAL PRIMARY KEY, "
     "article_id BIGINT NOT NULL REFERENCES article(id) ON DELETE CASCADE, "
     "author_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE, body TEXT NOT NULL, "
     "created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL);"
     "CREATE INDEX comment_by_article ON comment (article_id, id)"},
};

inline std::span<const keel::sql::migration> migrations_for(keel::sql::engine engine) {
  if (engine == keel::sql::engine::postgres) return postgres_migrations;
  return sqlite_migrations;
}

}  // namespace conduit
