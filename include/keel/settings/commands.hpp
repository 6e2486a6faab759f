// keel::run_command: the commands of an app's command line besides serve, given its router:
//   routes            one line per route and method: METHOD  /path/{template}  summary
//   openapi           the OpenAPI document of the router (keel/openapi/document.hpp)
//   config            the effective settings and keel's, each with its source; secrets as ***
//   migrate [up|status]  through command_options::migrate (e.g. keel::sql::migrate_command_for)
//
//   auto cli = keel::parse_app_command_line<settings>(argc, argv, {.env_prefix = "SITE_"});
//   auto api = keel::router{...};
//   if (auto status = keel::run_command(cli, api, {.openapi = {.title = "Site"}})) return *status;
//   keel::app{std::move(api)}.serve(cli.config);
#pragma once

#include "keel/config.hpp"
#include "keel/http/method.hpp"
#include "keel/openapi/document.hpp"
#include "keel/settings/command_line.hpp"
#include "keel/settings/detail/value.hpp"

#include <boost/pfr.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

struct command_options {
  openapi::info openapi{};  // title, version ... of the `openapi` command's document
  // `migrate up` / `migrate status`: does it, prints what it did, returns the exit status.
  std::function<int(std::string_view action)> migrate{};
};

namespace detail {

inline std::string server_setting_text(const server_config& c, std::string_view key) {
  auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()); };
  if (key == "host") return format_value(c.host);
  if (key == "port") return std::to_string(c.port);
  if (key == "threads") return std::to_string(c.threads);
  if (key == "workers") return std::to_string(c.workers);
  if (key == "max-connections") return std::to_string(c.max_connections);
  if (key == "max-body-bytes") return std::to_string(c.limits.max_body_bytes);
  if (key == "max-header-bytes") return std::to_string(c.limits.max_header_bytes);
  if (key == "server-header") return format_value(c.server_header);
  if (key == "tls-cert") return format_value(c.tls.certificate_file);
  if (key == "tls-key") return format_value(c.tls.private_key_file);
  if (key == "shutdown-ms") return ms(c.timeout.shutdown);
  if (key == "header-timeout-ms") return ms(c.timeout.header);
  if (key == "body-timeout-ms") return ms(c.timeout.body);
  if (key == "idle-timeout-ms") return ms(c.timeout.idle);
  if (key == "write-timeout-ms") return ms(c.timeout.write);
  return {};
}

inline void append_aligned(std::string& out, const std::vector<std::pair<std::string, std::string>>& rows,
                           std::string_view separator) {
  std::size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  for (const auto& [left, right] : rows) {
    out.append(left);
    if (!right.empty()) out.append(width - left.size(), ' ').append(separator).append(right);
    out.push_back('\n');
  }
}

}  // namespace detail

// The `config` text: "key = value  # source" per app setting, then keel's; secrets print as ***.
template <class Settings>
std::string settings_text(const app_command_line<Settings>& cli) {
  std::vector<std::pair<std::string, std::string>> app_rows, server_rows;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (app_rows.emplace_back(std::string(json_field_names<Settings>[I]) + " = " +
                               detail::format_value(boost::pfr::get<I>(cli.settings)),
                           cli.sources.size() > I ? cli.sources[I] : std::string("default")),
     ...);
  }
  (std::make_index_sequence<field_count<Settings>>{});
  for (const detail::setting_description& s : detail::settings) {
    std::string source = "default";
    for (const auto& [key, where] : cli.server_sources)
      if (key == s.key) source = where;
    server_rows.emplace_back(std::string(s.key) + " = " + detail::server_setting_text(cli.config, s.key),
                             source);
  }
  std::string out = "# settings\n";
  detail::append_aligned(out, app_rows, "  # ");
  out.append("# server\n");
  detail::append_aligned(out, server_rows, "  # ");
  return out;
}

// The `routes` text: one line per route and method, in the router's order.
template <class Router>
std::string routes_text(const Router& api) {
  std::vector<std::pair<std::string, std::string>> rows;
  std::apply(
      [&](const auto&... route) {
        auto add = [&](const auto& r) {
          using R = std::remove_cvref_t<decltype(r)>;
          for (http::method m : http::all_methods) {
            if (!R::methods.contains(m)) continue;
            std::string left(http::to_string(m));
            left.append(8 - std::min<std::size_t>(left.size(), 7), ' ').append(R::path.view());
            rows.emplace_back(std::move(left), r.documentation.summary);
          }
        };
        (add(route), ...);
      },
      api.routes());
  std::string out;
  detail::append_aligned(out, rows, "  ");
  return out;
}

// Runs cli.command unless it is serve: prints its output to stdout (errors to stderr) and returns the exit
// status; std::nullopt for serve, which the caller does itself.
template <class Settings, class Router>
std::optional<int> run_command(const app_command_line<Settings>& cli, const Router& api,
                               const command_options& options = {}) {
  std::string out;
  if (cli.command == "serve") {
    return std::nullopt;
  } else if (cli.command == "routes") {
    out = routes_text(api);
  } else if (cli.command == "openapi") {
    out = openapi::document(api, options.openapi) + "\n";
  } else if (cli.command == "config") {
    out = settings_text(cli);
  } else if (cli.command == "migrate") {
    if (!options.migrate) {
      std::fprintf(stderr, "keel: this app has no migrations\n");
      return 2;
    }
    std::fflush(stdout);
    return options.migrate(cli.arguments.empty() ? std::string_view("up")
                                                 : std::string_view(cli.arguments[0]));
  } else {
    std::fprintf(stderr, "keel: unknown command '%s'\n", cli.command.c_str());
    return 2;
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace v0
}  // namespace keel
