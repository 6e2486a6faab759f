// What the newsletter's routes and jobs share: the database, the job queue, the cache and the settings that
// say where mail and webhooks go. Built once in main(); it outlives the app.
#pragma once

#include "model.hpp"
#include "store.hpp"

#include <keel/jobs.hpp>
#include <keel/smtp.hpp>
#include <keel/sql/database.hpp>

#include <charconv>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace newsletter {

// "HOST:PORT" (or "[v6]:PORT") and the security mode as keel::smtp_options.
inline keel::smtp_options smtp_options_from(std::string_view host_port, std::string_view security) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    throw std::invalid_argument("--smtp: expected HOST:PORT");
  std::string_view host = host_port.substr(0, colon);
  const std::string_view port = host_port.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
    throw std::invalid_argument("--smtp: the port must be a number from 1 to 65535");
  keel::smtp_options o;
  o.host = std::string(host);
  o.port = static_cast<std::uint16_t>(value);
  o.security = security == "none"  ? keel::smtp_security::none
               : security == "tls" ? keel::smtp_security::tls
                                   : keel::smtp_security::starttls;
  return o;
}

struct services {
  keel::db& db;
  keel::jobs::queue& jobs;
  subscriber_cache& cache;
  keel::smtp_options smtp;
  std::string mail_from;
  std::optional<std::string> webhook_url;  // none: no webhook jobs
  std::string webhook_secret;              // also checks /hooks/incoming
  int batch_size = 500;
  std::string admin_password;  // empty: POST /session refuses everyone
};

}  // namespace newsletter
