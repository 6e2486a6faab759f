// POST /api/users, POST /api/users/login, GET /api/user, PUT /api/user.
#pragma once

#include "auth.hpp"
#include "errors.hpp"
#include "model.hpp"

#include <keel.hpp>
#include <keel/sql/database.hpp>
#include <keel/sql/query.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace conduit {

inline user_body to_body(const user_row& u, std::string token) {
  return {{u.email, std::move(token), u.username, u.bio, u.image}};
}

struct taken_check {
  std::string username;
  std::string email;
  std::int64_t self = 0;  // the user being updated (0: nobody)
};

struct clash {
  bool username = false;
  bool email = false;
};

// 422 {"errors":{"username":["has already been taken"],"email":[...]}} when another user has either.
template <class Executor>
keel::task<std::optional<keel::http_error>> already_taken(Executor& executor, taken_check check) {
  auto rows = co_await executor.template query<clash>(
      "SELECT username = :username AS username, email = :email AS email FROM users"
      " WHERE (username = :username OR email = :email) AND id <> :self",
      check);
  bool username = false, email = false;
  for (const clash& c : rows) username = username || c.username, email = email || c.email;
  if (!username && !email) co_return std::nullopt;
  keel::http_error e = keel::unprocessable("has already been taken");
  if (username) e.add_field("body", "username", "has already been taken");
  if (email) e.add_field("body", "email", "has already been taken");
  co_return e;
}

inline keel::task<keel::result<keel::created<user_body>>> register_user(keel::json<new_user_body> in,
                                                                        keel::db& db, authority& auth) {
  const new_user& n = in->user;
  user_row row{0, *n.username, n.email.get(), {}, {}, {}};
  row.password_hash = co_await keel::auth::hash_password(*n.password, auth.passwords());
  auto insert = keel::sql::insert(row);
  auto tx = co_await db.begin();
  taken_check check{row.username, row.email, 0};
  auto taken = co_await already_taken(tx, std::move(check));
  if (taken) co_return std::move(*taken);
  row.id = *co_await tx.fetch_one(insert);
  co_await tx.commit();
  co_return keel::created<user_body>{to_body(row, auth.issue(row.id)), "/api/profiles/" + row.username};
}

struct user_by_email {
  std::string email;
};

inline keel::task<keel::result<user_body>> login(keel::json<login_body> in, keel::db& db, authority& auth) {
  const login_user& l = in->user;
  user_by_email by{*l.email};
  auto user = co_await db.query_one<user_row>("SELECT * FROM users WHERE email = :email", by);
  std::optional<std::string_view> stored;
  if (user) stored = user->password_hash;
  // An unknown e-mail costs the same Argon2id work as a wrong password.
  auto verdict = co_await keel::auth::verify_password_or_dummy(*l.password, stored, auth.passwords());
  if (!verdict) co_return authority::unauthorized("email or password is invalid");
  if (verdict.needs_rehash()) {  // hashed with another cost: replace it now that the password is known
    std::string fresh = co_await keel::auth::hash_password(*l.password, auth.passwords());
    co_await db.execute("UPDATE users SET password_hash = ? WHERE id = ?", fresh, user->id);
  }
  co_return to_body(*user, auth.issue(user->id));
}

inline keel::task<keel::result<user_body>> current_user(signed_in me, keel::db& db, authority& auth) {
  auto find = keel::sql::find<user_row>(me->uid);
  auto user = co_await db.fetch_one(std::move(find));
  if (!user) co_return authority::unauthorized("the token's user no longer exists");
  co_return to_body(*user, auth.issue(user->id));
}

inline keel::task<keel::result<user_body>> update_user(signed_in me, keel::json<user_update_body> in,
                                                       keel::db& db, authority& auth) {
  const user_update& u = in->user;
  std::optional<std::string> fresh_hash;
  if (u.password) fresh_hash = co_await keel::auth::hash_password(**u.password, auth.passwords());
  auto find = keel::sql::find<user_row>(me->uid);
  auto tx = co_await db.begin();
  auto user = co_await tx.fetch_one(std::move(find));
  if (!user) co_return authority::unauthorized("the token's user no longer exists");
  if (u.username) user->username = **u.username;
  if (u.email) user->email = u.email->get();
  if (fresh_hash) user->password_hash = std::move(*fresh_hash);
  if (u.bio.has_value()) user->bio = **u.bio;
  if (u.bio.is_null()) user->bio.clear();
  if (u.image.has_value()) user->image = **u.image;
  if (u.image.is_null()) user->image.clear();
  taken_check check{user->username, user->email, user->id};
  auto taken = co_await already_taken(tx, std::move(check));
  if (taken) co_return std::move(*taken);
  auto update = keel::sql::update(*user);
  co_await tx.run(std::move(update));
  co_await tx.commit();
  co_return to_body(*user, auth.issue(user->id));
}

}  // namespace conduit
