// The Conduit API's shapes: what clients send (validated request DTOs), what they get back (the envelopes of
// the RealWorld spec: {"user":...}, {"article":...}, {"articles":[...],"articlesCount":N} ...), and the rows
// the queries read.
#pragma once

#include <keel.hpp>
#include <keel/json.hpp>
#include <keel/sql/page.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace conduit {

using time_point = std::chrono::system_clock::time_point;

// --- Answers

struct user_view {
  std::string email;
  std::string token;
  std::string username;
  std::string bio;
  std::string image;
};
struct user_body {
  user_view user;
};

struct profile_view {
  std::string username;
  std::string bio;
  std::string image;
  bool following = false;
};
struct profile_body {
  profile_view profile;
};

// One article. Lists leave `body` out (the spec's list items have none), a single article carries it.
struct article_view {
  using keel_naming = keel::camel_case;
  std::string slug;
  std::string title;
  std::string description;
  std::optional<std::string> body;
  std::vector<std::string> tag_list;
  time_point created_at;
  time_point updated_at;
  bool favorited = false;
  std::int64_t favorites_count = 0;
  profile_view author;
};
struct article_body {
  article_view article;
};
struct articles_body {
  using keel_naming = keel::camel_case;
  std::vector<article_view> articles;
  std::int64_t articles_count = 0;
};

struct comment_view {
  using keel_naming = keel::camel_case;
  std::int64_t id = 0;
  time_point created_at;
  time_point updated_at;
  std::string body;
  profile_view author;
};
struct comment_body {
  comment_view comment;
};
struct comments_body {
  std::vector<comment_view> comments;
};

struct tags_body {
  std::vector<std::string> tags;
};

// --- Requests

using username_text = keel::text<1, 64>;
using password_text = keel::text<1, 256>;
using tag_text = keel::text<1, 64>;

struct new_user {
  username_text username;
  keel::email email;
  password_text password;
};
struct new_user_body {
  new_user user;
};

struct login_user {
  keel::text<1, 256> email;
  password_text password;
};
struct login_body {
  login_user user;
};

// PUT /user: only the fields sent change; "bio": null and "image": null clear them.
struct user_update {
  std::optional<keel::email> email;
  std::optional<username_text> username;
  std::optional<password_text> password;
  keel::nullable<keel::text<0, 2000>> bio;
  keel::nullable<keel::text<0, 2000>> image;
};
struct user_update_body {
  user_update user;
};

struct new_article {
  using keel_naming = keel::camel_case;
  keel::text<1, 200> title;
  keel::text<1, 1000> description;
  keel::text<1, 100000> body;
  std::optional<keel::sized<std::vector<tag_text>, 0, 20>> tag_list;
};
struct new_article_body {
  new_article article;
};

// PUT /articles/{slug}: only the fields sent change; a new title gives a new slug.
struct article_update {
  using keel_naming = keel::camel_case;
  std::optional<keel::text<1, 200>> title;
  std::optional<keel::text<1, 1000>> description;
  std::optional<keel::text<1, 100000>> body;
  std::optional<keel::sized<std::vector<tag_text>, 0, 20>> tag_list;
};
struct article_update_body {
  article_update article;
};

struct new_comment {
  keel::text<1, 10000> body;
};
struct new_comment_body {
  new_comment comment;
};

// GET /articles?tag=&author=&favorited=&limit=&offset=
struct article_filter {
  std::optional<std::string> tag;
  std::optional<std::string> author;
  std::optional<std::string> favorited;
  decltype(keel::paging::limit) limit = 20;
  decltype(keel::paging::offset) offset = 0;
};
// GET /articles/feed?limit=&offset=
struct feed_filter {
  decltype(keel::paging::limit) limit = 20;
  decltype(keel::paging::offset) offset = 0;
};

// --- Rows

struct user_row {
  static constexpr std::string_view keel_table = "users";
  std::int64_t id = 0;
  std::string username;
  std::string email;
  std::string password_hash;
  std::string bio;
  std::string image;
};

struct article_row {
  static constexpr std::string_view keel_table = "article";
  std::int64_t id = 0;
  std::string slug;
  std::string title;
  std::string description;
  std::string body;
  std::int64_t author_id = 0;
  time_point created_at;
  time_point updated_at;
};

struct article_tag_row {
  static constexpr std::string_view keel_table = "article_tag";
  std::int64_t id = 0;
  std::int64_t article_id = 0;
  std::string tag;
};

struct comment_row {
  static constexpr std::string_view keel_table = "comment";
  std::int64_t id = 0;
  std::int64_t article_id = 0;
  std::int64_t author_id = 0;
  std::string body;
  time_point created_at;
  time_point updated_at;
};

// An article as the list query reads it: the row, its author, and what the caller sees of it.
struct article_record {
  std::int64_t id = 0;
  std::string slug;
  std::string title;
  std::string description;
  std::string body;
  time_point created_at;
  time_point updated_at;
  std::string author_username;
  std::string author_bio;
  std::string author_image;
  std::int64_t favorites_count = 0;
  bool favorited = false;
  bool following = false;
};

struct comment_record {
  std::int64_t id = 0;
  std::int64_t author_id = 0;
  std::string body;
  time_point created_at;
  time_point updated_at;
  std::string author_username;
  std::string author_bio;
  std::string author_image;
  bool following = false;
};

struct profile_record {
  std::int64_t id = 0;
  std::string username;
  std::string bio;
  std::string image;
  bool following = false;
};

}  // namespace conduit
