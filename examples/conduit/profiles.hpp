// GET /api/profiles/{username}, POST and DELETE /api/profiles/{username}/follow.
#pragma once

#include "auth.hpp"
#include "model.hpp"
#include "queries.hpp"

#include <keel.hpp>
#include <keel/sql/database.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace conduit {

inline keel::http_error no_profile(const std::string& username) {
  return keel::not_found("no user named " + username);
}

inline keel::task<keel::result<profile_body>> get_profile(std::string username, visitor me, keel::db& db) {
  const std::optional<std::int64_t> viewer = viewer_id(me);
  auto profile = co_await find_profile(db, username, viewer);
  if (!profile) co_return no_profile(username);
  co_return profile_body{to_view(*profile)};
}

struct follow_edge {
  std::int64_t follower = 0;
  std::int64_t followee = 0;
};

// Following twice, or unfollowing someone not followed, changes nothing and answers the profile.
inline keel::task<keel::result<profile_body>> set_following(std::string username, std::int64_t me,
                                                            bool follow, keel::db& db) {
  auto tx = co_await db.begin();
  auto profile = co_await find_profile(tx, username, me);
  if (!profile) co_return no_profile(username);
  follow_edge edge{me, profile->id};
  if (follow)
    co_await tx.execute(
        "INSERT INTO follow (follower_id, followee_id) VALUES (:follower, :followee) ON CONFLICT DO NOTHING",
        edge);
  else
    co_await tx.execute("DELETE FROM follow WHERE follower_id = :follower AND followee_id = :followee", edge);
  co_await tx.commit();
  profile->following = follow;
  co_return profile_body{to_view(*profile)};
}

inline keel::task<keel::result<profile_body>> follow_user(std::string username, signed_in me, keel::db& db) {
  co_return co_await set_following(std::move(username), me->uid, true, db);
}

inline keel::task<keel::result<profile_body>> unfollow_user(std::string username, signed_in me,
                                                            keel::db& db) {
  co_return co_await set_following(std::move(username), me->uid, false, db);
}

}  // namespace conduit
