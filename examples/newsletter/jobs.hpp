// The newsletter's jobs: e-mails through keel::smtp_client (retries and dead letters are keel::jobs'), the
// newsletter fan-out in batches, and webhook deliveries that reschedule themselves while retryable.
#pragma once

#include "model.hpp"
#include "services.hpp"

#include <keel/http_client.hpp>
#include <keel/jobs.hpp>
#include <keel/smtp.hpp>
#include <keel/webhook.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace newsletter {

inline constexpr int webhook_max_attempts = 8;

// Delay before webhook attempt n + 1: 1 s, 2 s, 4 s ... capped at 10 minutes, or the receiver's Retry-After
// when that is longer.
inline std::chrono::milliseconds webhook_backoff(int attempt, std::chrono::seconds retry_after) {
  std::chrono::milliseconds d = std::chrono::seconds(1);
  for (int i = 1; i < attempt && d < std::chrono::minutes(10); ++i) d *= 2;
  d = std::min<std::chrono::milliseconds>(d, std::chrono::minutes(10));
  return std::max<std::chrono::milliseconds>(d, retry_after);
}

inline std::string webhook_key(const webhook_delivery& w) {
  return "webhook:" + w.event.event + ":" + std::to_string(w.event.id) + ":" + std::to_string(w.attempt);
}

// One mail, one SMTP connection. A refused or failed send throws: keel::jobs retries it with backoff and
// keeps it as `dead` after the last attempt.
inline keel::task<void> send_mail(const services& s, std::string to, std::string subject, std::string text,
                                  std::string html) {
  keel::email_message m;
  m.from = {s.mail_from, "keel newsletter"};
  m.to = {{std::move(to), ""}};
  m.subject = std::move(subject);
  m.text = std::move(text);
  m.html = std::move(html);
  keel::smtp_client client(s.smtp);  // on the queue's reactor
  keel::task<void> sending = client.send(m);
  co_await std::move(sending);
}

inline void register_jobs(services& s) {
  s.jobs.handle<welcome_email>([&s](const welcome_email& w, keel::jobs::context&) -> keel::task<void> {
    std::string text = "Hello " + w.email + ",\n\nthank you for subscribing (subscriber #" +
                       std::to_string(w.subscriber_id) + ").\n";
    keel::task<void> sending = send_mail(s, w.email, "Welcome to the newsletter", std::move(text), "");
    co_await std::move(sending);
  });

  s.jobs.handle<newsletter_fanout>(
      [&s](const newsletter_fanout& f, keel::jobs::context&) -> keel::task<void> {
        // Keyset pages of subscribers, each page's jobs in one transaction. The unique keys make a second run
        // of this job (after a crash) enqueue only what is missing.
        std::int64_t after = 0;
        for (;;) {
          std::vector<std::int64_t> ids =
              co_await s.db.query<std::int64_t>("SELECT id FROM subscribers WHERE id > ? ORDER BY id LIMIT ?",
                                                after, static_cast<std::int64_t>(s.batch_size));
          if (ids.empty()) break;
          auto tx = co_await s.db.begin();
          for (std::int64_t id : ids) {
            newsletter_email mail{f.newsletter_id, id};
            keel::jobs::enqueue_options o;
            o.unique_key = "newsletter:" + std::to_string(f.newsletter_id) + ":" + std::to_string(id);
            co_await s.jobs.enqueue(tx, mail, o);
          }
          co_await tx.commit();
          after = ids.back();
        }
      });

  s.jobs.handle<newsletter_email>([&s](const newsletter_email& n, keel::jobs::context&) -> keel::task<void> {
    std::optional<std::string> to =
        co_await s.db.query_one<std::string>("SELECT email FROM subscribers WHERE id = ?", n.subscriber_id);
    if (!to) co_return;  // unsubscribed since
    std::optional<newsletter_row> l = co_await s.db.query_one<newsletter_row>(
        "SELECT subject, body_text, body_html FROM newsletters WHERE id = ?", n.newsletter_id);
    if (!l) throw keel::jobs::permanent_error("newsletter " + std::to_string(n.newsletter_id) + " is gone");
    keel::task<void> sending =
        send_mail(s, std::move(*to), std::move(l->subject), std::move(l->body_text), std::move(l->body_html));
    co_await std::move(sending);
  });

  s.jobs.handle<webhook_delivery>([&s](const webhook_delivery& w, keel::jobs::context&) -> keel::task<void> {
    if (!s.webhook_url) throw keel::jobs::permanent_error("no --webhook URL in this process");
    keel::http_client client;  // on the queue's reactor, for this attempt
    std::string body = keel::json_io::to_string(w.event);
    std::vector<std::pair<std::string, std::string>> headers{
        {"Keel-Webhook-Id", w.event.event + ":" + std::to_string(w.event.id)}};
    keel::task<keel::webhook::delivery_result> delivering =
        keel::webhook::deliver(client, *s.webhook_url, s.webhook_secret, std::move(body), std::move(headers));
    keel::webhook::delivery_result r = co_await std::move(delivering);
    if (r.delivered()) co_return;
    if (!r.retryable()) throw keel::jobs::permanent_error("webhook refused: " + r.error);
    if (w.attempt >= webhook_max_attempts) throw keel::jobs::permanent_error("webhook gave up: " + r.error);
    webhook_delivery next{w.event, w.attempt + 1};
    keel::jobs::enqueue_options o;
    o.delay = webhook_backoff(w.attempt, r.retry_after);
    o.unique_key = webhook_key(next);
    co_await s.jobs.enqueue(next, o);
  });
}

}  // namespace newsletter
