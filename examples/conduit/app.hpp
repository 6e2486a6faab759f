// The Conduit app: the 19 operations of the RealWorld API under /api, its OpenAPI document at
// /api/openapi.json and Swagger UI at /docs, open CORS, and the RealWorld error shape. Shared by main.cpp and
// the tests (tests/conduit_*.cpp).
#pragma once

#include "articles.hpp"
#include "auth.hpp"
#include "comments.hpp"
#include "errors.hpp"
#include "migrations.hpp"
#include "profiles.hpp"
#include "users.hpp"

#include <keel.hpp>
#include <keel/middleware/cors.hpp>
#include <keel/openapi/docs.hpp>
#include <keel/sql/database.hpp>

#include <utility>

namespace conduit {

inline auto make_router() {
  const auto users = std::vector<std::string>{"User and Authentication"};
  const auto profile = std::vector<std::string>{"Profile"};
  const auto articles = std::vector<std::string>{"Articles"};
  const auto favorites = std::vector<std::string>{"Favorites"};
  const auto comments = std::vector<std::string>{"Comments"};
  return keel::router{keel::group<"/api">(
      keel::post<"/users/login">(&login).doc(
          {.summary = "Existing user login", .tags = users, .operation_id = "Login"}),
      keel::post<"/users">(&register_user)
          .doc({.summary = "Register a new user", .tags = users, .operation_id = "CreateUser"}),
      keel::get<"/user">(&current_user)
          .doc({.summary = "Get current user", .tags = users, .operation_id = "GetCurrentUser"}),
      keel::put<"/user">(&update_user)
          .doc({.summary = "Update current user", .tags = users, .operation_id = "UpdateCurrentUser"}),
      keel::get<"/profiles/{username}">(&get_profile)
          .doc({.summary = "Get a profile", .tags = profile, .operation_id = "GetProfileByUsername"}),
      keel::post<"/profiles/{username}/follow">(&follow_user)
          .doc({.summary = "Follow a user", .tags = profile, .operation_id = "FollowUserByUsername"}),
      keel::del<"/profiles/{username}/follow">(&unfollow_user)
          .doc({.summary = "Unfollow a user", .tags = profile, .operation_id = "UnfollowUserByUsername"}),
      keel::get<"/articles/feed">(&feed).doc({.summary = "Get recent articles from users you follow",
                                              .tags = articles,
                                              .operation_id = "GetArticlesFeed"}),
      keel::get<"/articles">(&list_articles)
          .doc({.summary = "Get recent articles globally", .tags = articles, .operation_id = "GetArticles"}),
      keel::post<"/articles">(&create_article)
          .doc({.summary = "Create an article", .tags = articles, .operation_id = "CreateArticle"}),
      keel::get<"/articles/{slug}">(&get_article)
          .doc({.summary = "Get an article", .tags = articles, .operation_id = "GetArticle"}),
      keel::put<"/articles/{slug}">(&update_article)
          .doc({.summary = "Update an article", .tags = articles, .operation_id = "UpdateArticle"}),
      keel::del<"/articles/{slug}">(&delete_article)
          .doc({.summary = "Delete an article", .tags = articles, .operation_id = "DeleteArticle"}),
      keel::get<"/articles/{slug}/comments">(&list_comments)
          .doc({.summary = "Get comments for an article",
                .tags = comments,
                .operation_id = "GetArticleComments"}),
      keel::post<"/articles/{slug}/comments">(&add_comment)
          .doc({.summary = "Create a comment for an article",
                .tags = comments,
                .operation_id = "CreateArticleComment"}),
      keel::del<"/articles/{slug}/comments/{id}">(&delete_comment)
          .doc({.summary = "Delete a comment for an article",
                .tags = comments,
                .operation_id = "DeleteArticleComment"}),
      keel::post<"/articles/{slug}/favorite">(&favorite_article)
          .doc(
              {.summary = "Favorite an article", .tags = favorites, .operation_id = "CreateArticleFavorite"}),
      keel::del<"/articles/{slug}/favorite">(&unfavorite_article)
          .doc({.summary = "Unfavorite an article",
                .tags = favorites,
                .operation_id = "DeleteArticleFavorite"}),
      keel::get<"/tags">(&list_tags)
          .doc({.summary = "Get tags", .tags = {"Tags"}, .operation_id = "GetTags"}))};
}

// The app over `db` (migrated with migrations_for(db.engine())) and `auth`; both must outlive it.
inline auto make_app(keel::db& db, authority& auth) {
  auto api = make_router();
  auto docs = keel::openapi_docs(
      api, {.info = {.title = "RealWorld Conduit API",
                     .version = "1.1.0",
                     .description =
                         "keel's flagship example: the RealWorld \"Conduit\" API (users, profiles, "
                         "articles, comments, favorites, tags) over SQLite or PostgreSQL. "
                         "Authenticated calls send `Authorization: Token <jwt>` (RealWorld's word) or "
                         "`Bearer <jwt>`: in Swagger UI, Authorize with the token from Login or CreateUser.",
                     .error_schema = error_schema},
            .spec_path = "/api/openapi.json",
            .docs_path = "/docs"});
  return keel::app{std::move(api)}
      .use(keel::cors{}, std::move(docs), bearer_layer(auth))
      .provide(db, auth)
      .template errors<error_format>();
}

}  // namespace conduit
