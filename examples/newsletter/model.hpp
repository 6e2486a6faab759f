// The newsletter example's types: the command line's settings, the API's DTOs and the jobs' payloads.
#pragma once

#include <keel.hpp>
#include <keel/json.hpp>
#include <keel/settings.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Namespace scope, outside any anonymous namespace: keel reads the settings' field names by reflection.
struct newsletter_settings {
  std::string db = "sqlite:newsletter.db";
  std::optional<std::string> redis;
  std::string smtp;  // HOST:PORT, required
  keel::one_of<"none", "starttls", "tls"> smtp_security = std::string("starttls");
  std::string mail_from = "newsletter@localhost";
  std::optional<std::string> webhook;
  keel::secret<std::string> webhook_secret;
  keel::range<int, 1, 10000> batch_size = 500;
  keel::secret<std::string> admin_password;
  keel::range<int, 1, 3600> job_lease = 60;
  static constexpr std::pair<std::string_view, std::string_view> keel_field_descriptions[] = {
      {"db", "database: sqlite:FILE or postgres://..."},
      {"redis", "redis://host:port: the subscriber cache in Redis (in memory without it)"},
      {"smtp", "the SMTP server that sends the mail (required)"},
      {"smtp_security", "none for a local relay, starttls or implicit tls"},
      {"mail_from", "the From address of every mail"},
      {"webhook", "URL that receives a signed subscriber.created event"},
      {"webhook_secret", "HMAC secret of outgoing webhooks and of /hooks/incoming"},
      {"batch_size", "subscribers per transaction when a newsletter is queued"},
      {"admin_password", "password of POST /session (without it nobody can sign in)"},
      {"job_lease", "seconds a running job stays claimed; a process that dies gives its jobs back after it"}};
  static constexpr std::pair<std::string_view, std::string_view> keel_value_names[] = {
      {"db", "URL"},
      {"redis", "URL"},
      {"smtp", "HOST:PORT"},
      {"webhook", "URL"},
      {"webhook_secret", "SECRET"},
      {"admin_password", "SECRET"},
      {"job_lease", "SECONDS"}};
};

namespace newsletter {

// --- The API.

struct new_subscriber {
  keel::email email;
};

struct subscriber {
  std::int64_t id = 0;
  std::string email;
};

struct new_newsletter {
  keel::text<1, 200> subject;
  keel::text<1, 100000> text;
  std::optional<std::string> html;
};

struct newsletter_queued {
  std::int64_t id = 0;
  std::string status;  // "queued": the emails are enqueued by a job, in batches
};

struct job_counts {
  std::int64_t queued = 0, running = 0, done = 0, failed = 0, dead = 0;
};

struct hook_received {
  bool verified = true;
  std::size_t bytes = 0;
};

// POST /session: an admin signs in; GET /session answers who is signed in.
struct admin_login {
  keel::text<1, 100> name;
  std::string password;
};

struct admin_who {
  std::string name;
};

// What the admin session holds (in Redis with --redis, so every process reads it).
struct admin_session {
  std::string name;
};

// The body of the outgoing webhook.
struct subscriber_event {
  std::string event;
  std::int64_t id = 0;
  std::string email;
};

// A stored newsletter, as its email jobs read it.
struct newsletter_row {
  std::string subject;
  std::string body_text;
  std::string body_html;
};

// --- The jobs (names are stored with each job: keep them stable).

struct welcome_email {
  static constexpr std::string_view keel_job = "welcome_email";
  static constexpr std::string_view keel_queue = "emails";
  std::int64_t subscriber_id = 0;
  std::string email;
};

// Enqueues one newsletter_email per subscriber, `batch_size` per transaction.
struct newsletter_fanout {
  static constexpr std::string_view keel_job = "newsletter_fanout";
  std::int64_t newsletter_id = 0;
};

struct newsletter_email {
  static constexpr std::string_view keel_job = "newsletter_email";
  static constexpr std::string_view keel_queue = "emails";
  std::int64_t newsletter_id = 0;
  std::int64_t subscriber_id = 0;
};

// One delivery attempt of a signed webhook; a retryable failure enqueues attempt + 1.
struct webhook_delivery {
  static constexpr std::string_view keel_job = "webhook_delivery";
  static constexpr std::string_view keel_queue = "webhooks";
  subscriber_event event;
  int attempt = 1;
};

}  // namespace newsletter
