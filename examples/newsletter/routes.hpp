// The newsletter's routes. Subscribers are written in a transaction together with their jobs (a welcome
// mail, a signed webhook), read through keel::cache with an ETag, and invalidated when they change.
#pragma once

#include "jobs.hpp"
#include "model.hpp"
#include "services.hpp"

#include <keel.hpp>
#include <keel/auth/detail/crypto.hpp>
#include <keel/auth/session.hpp>
#include <keel/http_cache.hpp>
#include <keel/jobs.hpp>
#include <keel/sql/error.hpp>
#include <keel/webhook.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace newsletter {

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

inline keel::response json_response(keel::http::status status, std::string body) {
  return keel::response(status, std::move(body), "application/json");
}

// POST /subscribers: the row, its welcome mail and (with --webhook) its webhook, all or nothing.
// snippet: create_subscriber
inline keel::task<keel::created<subscriber>> create_subscriber(services& s, new_subscriber in) {
  subscriber sub{0, lower(*in.email)};
  auto tx = co_await s.db.begin();
  bool taken = false;
  try {
    std::optional<std::int64_t> id = co_await tx.query_one<std::int64_t>(
        "INSERT INTO subscribers (email) VALUES (?) RETURNING id", sub.email);
    sub.id = *id;
  } catch (const keel::sql::constraint_error&) {
    taken = true;  // the UNIQUE index: dropping tx rolls it back
  }
  if (taken) throw keel::conflict("a subscriber with this email exists");
  welcome_email mail{sub.id, sub.email};
  keel::jobs::enqueue_options welcome;
  welcome.unique_key = "welcome:" + std::to_string(sub.id);  // idempotency key: the subscriber id
  co_await s.jobs.enqueue(tx, mail, welcome);
  if (s.webhook_url) {
    webhook_delivery hook{{"subscriber.created", sub.id, sub.email}, 1};
    keel::jobs::enqueue_options signed_hook;
    signed_hook.unique_key = webhook_key(hook);
    co_await s.jobs.enqueue(tx, hook, signed_hook);
  }
  co_await tx.commit();
  std::string location = "/subscribers/" + std::to_string(sub.id);
  co_return keel::created<subscriber>{std::move(sub), std::move(location)};
}
// end snippet: create_subscriber

// GET /subscribers/{id}: from the cache (loaded on a miss), with an ETag of the body; If-None-Match -> 304.
// snippet: get_subscriber
inline keel::task<keel::response> get_subscriber(services& s, keel::request_context& ctx, std::int64_t id) {
  auto load = [&s, id]() -> keel::task<subscriber> {
    std::optional<std::string> email =
        co_await s.db.query_one<std::string>("SELECT email FROM subscribers WHERE id = ?", id);
    if (!email) throw keel::not_found("no such subscriber");  // reaches every waiter, nothing cached
    co_return subscriber{id, std::move(*email)};
  };
  keel::task<subscriber> finding = s.cache.get(id, load);
  subscriber sub = co_await std::move(finding);
  std::string body = keel::json_io::to_string(sub);
  keel::cache_validators v{keel::etag_of(body), -1, keel::cache_control().private_().no_cache().str()};
  co_return keel::conditional_response(ctx, v,
                                       [&body] { return json_response(keel::http::status::ok, body); });
}
// end snippet: get_subscriber

// PATCH /subscribers/{id}: a new address; the cached entry goes (every process sharing Redis misses next).
inline keel::task<std::optional<subscriber>> patch_subscriber(services& s, std::int64_t id,
                                                              new_subscriber in) {
  subscriber sub{id, lower(*in.email)};
  bool taken = false;
  std::int64_t changed = 0;
  try {
    changed = co_await s.db.execute("UPDATE subscribers SET email = ? WHERE id = ?", sub.email, id);
  } catch (const keel::sql::constraint_error&) {
    taken = true;
  }
  if (taken) throw keel::conflict("a subscriber with this email exists");
  if (changed == 0) co_return std::nullopt;
  co_await s.cache.invalidate(id);
  co_return sub;
}

// POST /newsletters: stored, and one fan-out job enqueued with it; that job enqueues the emails in batches.
inline keel::task<keel::response> create_newsletter(services& s, new_newsletter in) {
  std::string html = in.html.value_or("");
  auto tx = co_await s.db.begin();
  std::optional<std::int64_t> id = co_await tx.query_one<std::int64_t>(
      "INSERT INTO newsletters (subject, body_text, body_html) VALUES (?, ?, ?) RETURNING id", *in.subject,
      *in.text, html);
  newsletter_fanout fanout{*id};
  keel::jobs::enqueue_options o;
  o.unique_key = "newsletter:" + std::to_string(*id);
  co_await s.jobs.enqueue(tx, fanout, o);
  co_await tx.commit();
  newsletter_queued queued{*id, "queued"};
  co_return json_response(keel::http::status::accepted, keel::json_io::to_string(queued));
}

inline keel::task<job_counts> job_stats(services& s) {
  keel::jobs::stats st = co_await s.jobs.statistics();
  co_return job_counts{st.queued, st.running, st.done, st.failed, st.dead};
}

// The admin session: keel::auth::server_sessions over admin_session_store (Redis with --redis).
using admin_sessions = keel::auth::sessions<admin_session, keel::auth::server_side<admin_session_store>>;
using admin_session_state = keel::auth::session<admin_session>;

// POST /session {"name","password"}: the password is --admin-password (without it nobody signs in).
inline keel::result<admin_who> sign_in(const services& s, admin_session_state& sess, admin_login in) {
  const std::string& expected = s.admin_password;
  const bool ok = !expected.empty() && keel::auth::detail::constant_time_equals(in.password, expected);
  if (!ok) return keel::unauthorized("wrong password");
  std::string name(in.name.get());
  sess.login(admin_session{name});  // a new session id: none planted before sign-in survives it
  return admin_who{std::move(name)};
}

inline keel::result<admin_who> signed_in(const admin_session_state& sess) {
  if (!sess) return keel::unauthorized("not signed in");
  return admin_who{sess->name};
}

inline admin_who sign_out(admin_session_state& sess) {
  std::string name = sess ? sess->name : std::string();
  sess.logout();
  return admin_who{std::move(name)};
}

inline auto make_router(services& s, const admin_sessions& sessions) {
  return keel::router{
      keel::post<"/subscribers">(
          [&s](keel::json<new_subscriber> body) { return create_subscriber(s, std::move(*body)); })
          .doc({.summary =
                    "Subscribe: 201, 409 when the address exists; enqueues the welcome mail (and webhook)"}),
      keel::get<"/subscribers/{id}">([&s](keel::request_context& ctx, std::int64_t id) {
        return get_subscriber(s, ctx, id);
      }).doc({.summary = "One subscriber, cached, with an ETag (304 on If-None-Match)"}),
      keel::patch<"/subscribers/{id}">([&s](std::int64_t id, keel::json<new_subscriber> body) {
        return patch_subscriber(s, id, std::move(*body));
      })
          .doc({.summary = "Change a subscriber's address; invalidates the cached entry",
                .not_found = "no such subscriber"}),
      keel::post<"/newsletters">([&s](keel::json<new_newsletter> body) {
        return create_newsletter(s, std::move(*body));
      }).doc({.summary = "Queue a newsletter to every subscriber: 202"}),
      keel::get<"/stats/jobs">([&s] { return job_stats(s); }).doc({.summary = "Jobs by state"}),
      keel::post<"/session">([&s](admin_session_state& sess, keel::json<admin_login> body) {
        return sign_in(s, sess, std::move(*body));
      })
          .doc({.summary = "Admin sign-in: a session cookie; 401 for a wrong password"})
          .use(sessions),
      keel::get<"/session">([](const admin_session_state& sess) { return signed_in(sess); })
          .doc({.summary = "The signed-in admin; 401 without a valid session"})
          .use(sessions),
      keel::del<"/session">([](admin_session_state& sess) { return sign_out(sess); })
          .doc({.summary = "Sign out: the session is deleted everywhere"})
          .use(sessions),
      keel::post<"/hooks/incoming">([](keel::request_context& ctx) {
        return hook_received{true, ctx.request().body.size()};
      })
          .doc({.summary = "An incoming webhook: 200 when Keel-Signature verifies, else 401"})
          .use(keel::webhook::verify_signature{s.webhook_secret}),
  };
}

}  // namespace newsletter
