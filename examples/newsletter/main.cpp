// keel's newsletter example: subscribers, welcome mails and newsletters as durable jobs, signed webhooks,
// a cached subscriber resource with ETags, an admin session. See docs/newsletter.md.
// clang-format off
//   build/examples/newsletter --port 8080 --smtp 127.0.0.1:2525 --smtp-security none
//   build/examples/newsletter --port 8080 --db postgres://keel@127.0.0.1/news --redis redis://127.0.0.1:6379
//       --smtp mail.example.com:587 --webhook https://hooks.example.com/in --webhook-secret "$SECRET"
//   curl -H 'Content-Type: application/json' -d '{"email":"ada@example.com"}' localhost:8080/subscribers
//   curl -i localhost:8080/subscribers/1            then again with -H 'If-None-Match: "..."' -> 304
//   curl -H 'Content-Type: application/json' -d '{"subject":"News","text":"Hello"}' localhost:8080/newsletters
//   curl localhost:8080/stats/jobs
//   curl -c jar -H 'Content-Type: application/json' -d '{"name":"ada","password":"..."}' localhost:8080/session
//   curl -b jar localhost:8080/session            (with --admin-password; in Redis with --redis)
// clang-format on
#include "jobs.hpp"
#include "model.hpp"
#include "routes.hpp"
#include "services.hpp"
#include "store.hpp"

#include <keel.hpp>
#include <keel/jobs.hpp>
#include <keel/settings.hpp>
#include <keel/sql/migrate.hpp>
#if KEEL_EXAMPLE_POSTGRES
#include <keel/sql/postgres.hpp>  // lets keel::db open postgres:// URLs
#endif

#include <openssl/rand.h>

#include <cstdio>
#include <exception>
#include <string>
#include <utility>

namespace {

// Without --webhook-secret nobody can sign for /hooks/incoming: a random key nobody knows.
std::string unknowable_secret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  std::string hex;
  for (unsigned char b : bytes) {
    constexpr char digits[] = "0123456789abcdef";
    hex += digits[b >> 4];
    hex += digits[b & 15];
  }
  return hex;
}

}  // namespace

int main(int argc, char** argv) {
  auto cli = keel::parse_app_command_line<newsletter_settings>(
      argc, argv, {.env_prefix = "NEWSLETTER_", .about = "keel's newsletter example (docs/newsletter.md)."});
  const newsletter_settings& cfg = cli.settings;
  const bool serving = cli.command == "serve";  // routes, openapi and config need no mail server
  if (serving && cfg.smtp.empty()) {
    std::fprintf(stderr, "newsletter: --smtp HOST:PORT is required\nnewsletter: see newsletter --help\n");
    return 2;
  }
  if (serving && cfg.webhook && cfg.webhook_secret.reveal().empty()) {
    std::fprintf(stderr, "newsletter: --webhook needs --webhook-secret\nnewsletter: see newsletter --help\n");
    return 2;
  }
  try {
    keel::db db{cfg.db};
    keel::sql::migrate_sync(db, newsletter::migrations_for(db.engine()));
    keel::jobs::options opt;
    opt.queues = {{"emails", 4}, {"webhooks", 2}};
    opt.retry.base = std::chrono::seconds(2);
    opt.lease = std::chrono::seconds(*cfg.job_lease);  // how soon another process reruns a dead one's jobs
    keel::jobs::queue jobs{db, opt};
    newsletter::subscriber_cache cache{cfg.redis};
    newsletter::services s{
        db,
        jobs,
        cache,
        cfg.smtp.empty() ? keel::smtp_options{} : newsletter::smtp_options_from(cfg.smtp, *cfg.smtp_security),
        cfg.mail_from,
        cfg.webhook,
        cfg.webhook_secret.reveal().empty() ? unknowable_secret() : cfg.webhook_secret.reveal(),
        *cfg.batch_size,
        cfg.admin_password.reveal()};
    newsletter::register_jobs(s);
    newsletter::admin_session_store session_store{cache.redis()};
    auto sessions = keel::auth::server_sessions<newsletter::admin_session>(session_store);
    auto api = newsletter::make_router(s, sessions);
    keel::command_options commands;
    commands.openapi.title = "Newsletter";
    commands.openapi.version = "1.0.0";
    if (auto status = keel::run_command(cli, api, commands)) return *status;
    auto app = keel::app{std::move(api)};
    app.on_start([&jobs] { jobs.check(); });
    app.spawn([&jobs](keel::background& bg) { return jobs.run(bg); });
    app.serve(cli.config);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "newsletter: %s\n", e.what());
    return 1;
  }
}
