// keel::parse_app_command_line<Settings>: an app's typed settings and keel's server flags from one command
// line. Settings is a plain struct; each field is read, lowest precedence first, from
//   1. its initialiser (the default),
//   2. a JSON file given with --config FILE (key: the field's JSON key),
//   3. the variable PREFIX + NAME (APP_DB_URL for db_url; the prefix is settings_options::env_prefix),
//   4. its flag (--db-url URL, --db-url=URL; a bool field is a switch, --spa or --spa=false),
// then checked by the keel::validated rules the field's type carries. Every bad setting is reported at once,
// each with where its value came from ("env APP_PORT: must be between 1 and 65535"). keel's own flags
// (--port, --threads ... and KEEL_* variables, also accepted as keys of the file) fill `config` as
// keel::parse_command_line does, and one --help lists both.
//
//   struct settings {
//     keel::url db_url = std::string("http://127.0.0.1:5984");
//     keel::range<int, 1, 64> pool = 8;
//     keel::secret<std::string> api_token;  // never printed: "***" in `config`, no default in --help
//     std::optional<std::string> upload_dir;
//     static constexpr std::pair<std::string_view, std::string_view> keel_field_descriptions[] = {
//         {"db_url", "database URL"}, {"pool", "connections"}};  // the table DTOs give OpenAPI
//     static constexpr std::pair<std::string_view, std::string_view> keel_value_names[] = {{"db_url",
//     "URL"}};
//   };
//   auto cli = keel::parse_app_command_line<settings>(argc, argv, {.env_prefix = "APP_"});
//   cli.settings.pool.get(); cli.config.port; cli.command;  // "serve" unless another command was given
//
// The first argument that is not a flag is the command: serve (the default), routes, openapi, config, and
// migrate [up|status] when settings_options::migrations is set; keel::run_command
// (keel/settings/commands.hpp) runs the ones that are not serve.
#pragma once

#include "keel/config.hpp"
#include "keel/server/command_line.hpp"
#include "keel/server/config.hpp"
#include "keel/server/config_parse.hpp"
#include "keel/settings/detail/fields.hpp"
#include "keel/settings/detail/json_file.hpp"
#include "keel/settings/detail/value.hpp"
#include "keel/settings/secret.hpp"

#include <boost/pfr.hpp>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

struct settings_options {
  std::string_view env_prefix = "APP_";  // APP_DB_URL for field db_url
  std::string_view about{};              // a line under the usage line of --help
  bool migrations = false;               // the app has SQL migrations: offer `migrate [up|status]`
};

template <class Settings>
struct app_command_line {
  Settings settings{};
  server_config config{};                // keel's flags and KEEL_* variables, as parse_command_line fills it
  std::string command = "serve";         // serve, routes, openapi, config or migrate
  std::vector<std::string> arguments{};  // after the command: migrate's "up" (the default) or "status"
  bool help = false;                     // --help was given (then nothing else was read)
  std::vector<std::string> sources{};    // per field of Settings: "default", "file F", "env APP_X", "--x"
  std::vector<std::pair<std::string, std::string>> server_sources{};  // keel flag key -> where it was set
};

// Everything wrong with a command line, one problem per entry; what() is them joined by newlines.
struct settings_error : command_line_error {
  std::vector<std::string> problems;
  explicit settings_error(std::vector<std::string> list)
      : command_line_error(join(list)), problems(std::move(list)) {}

 private:
  static std::string join(const std::vector<std::string>& list) {
    std::string out;
    for (const std::string& p : list) out.append(out.empty() ? "" : "\n").append(p);
    return out;
  }
};

namespace detail {

inline constexpr std::string_view app_commands[] = {"serve", "routes", "openapi", "config", "migrate"};

template <class S>
inline constexpr auto settings_flag_names = [] {
  static_assert(check_settings_struct<S>());
  return cpp_field_names<S>;
}();

// Reads `text` into field `index` of `s`; "" or the problem, naming `source` (and the text unless secret).
template <class S>
std::string set_field(S& s, std::size_t index, std::string_view text, std::string_view source) {
  std::string problem;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using M = boost::pfr::tuple_element_t<I, S>;
          if constexpr (settable<M>) {
            if (I != index) return;
            M value = boost::pfr::get<I>(s);
            std::string reason = parse_value(text, value);
            if (reason.empty()) {
              boost::pfr::get<I>(s) = std::move(value);
            } else {
              problem = std::string(source) + ": " + reason;
              if (!is_secret_setting<M>()) problem += " (got '" + std::string(text) + "')";
            }
          }
        }(),
        ...);
  }
  (std::make_index_sequence<field_count<S>>{});
  return problem;
}

template <class S>
std::optional<std::size_t> field_by_flag(std::string_view flag) {
  for (std::size_t i = 0; i < field_count<S>; ++i)
    if (flag_name_of(settings_flag_names<S>[i]) == flag) return i;
  return std::nullopt;
}

template <class S>
std::optional<std::size_t> field_by_key(std::string_view key) {
  for (std::size_t i = 0; i < field_count<S>; ++i)
    if (json_field_names<S>[i] == key) return i;
  return std::nullopt;
}

template <class S>
bool field_is_switch(std::size_t index) {
  bool result = false;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((result = result || (I == index && is_switch_setting<boost::pfr::tuple_element_t<I, S>>)), ...);
  }
  (std::make_index_sequence<field_count<S>>{});
  return result;
}

// The app's settings as cli_flags, for "did you mean" and the --help rows.
template <class S>
std::vector<cli_flag> settings_cli_flags() {
  std::vector<cli_flag> out;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (out.push_back(cli_flag{flag_name_of(settings_flag_names<S>[I]), field_value_name<S, I>(),
                            std::string(field_description<S, I>())}),
     ...);
  }
  (std::make_index_sequence<field_count<S>>{});
  out.push_back(
      cli_flag{"config", "FILE", "read settings from a JSON object file (keys as the field names)"});
  return out;
}

// A server setting from any source; problems are collected, not thrown.
inline void set_server(server_config& cfg, std::string_view key, std::string_view text,
                       const std::string& source, std::vector<std::pair<std::string, std::string>>& sources,
                       std::vector<std::string>& problems) {
  try {
    apply_setting(cfg, key, text, source);
    sources.emplace_back(std::string(key), source);
  } catch (const std::invalid_argument& e) {
    std::string_view what = e.what();
    if (what.starts_with("keel: ")) what.remove_prefix(6);
    problems.emplace_back(what);
  }
}

inline std::string nearest(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (std::string_view c : candidates)
    if (std::size_t d = edit_distance(word, c); d < best_distance) best = c, best_distance = d;
  return best.empty() ? std::string() : " (did you mean '" + std::string(best) + "'?)";
}

struct flag_use {
  std::string key;
  std::string value;
  std::optional<std::size_t> field;  // an app setting; else one of keel's
};

}  // namespace detail

// The strict parse, without printing or exiting: throws settings_error listing every problem. With --help
// anywhere it returns at once with `help` set.
template <class Settings>
app_command_line<Settings> parse_app_command_line_or_throw(int argc, char** argv,
                                                           const settings_options& options = {}) {
  static_assert(detail::check_settings_struct<Settings>());
  app_command_line<Settings> out;
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      out.help = true;
      return out;
    }
  out.sources.assign(field_count<Settings>, "default");
  std::vector<std::string> problems;
  std::vector<detail::flag_use> flags;
  std::vector<std::string> positional;
  std::optional<std::string> file;
  const std::vector<cli_flag> app_flags = detail::settings_cli_flags<Settings>();

  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("--") || arg.size() == 2) {
      if (arg.starts_with("-"))
        problems.push_back("unexpected argument '" + std::string(arg) + "'");
      else
        positional.emplace_back(arg);
      continue;
    }
    const auto [key, inline_value] = detail::split_flag(arg);
    const std::string flag = "--" + std::string(key);
    const std::optional<std::size_t> field = detail::field_by_flag<Settings>(key);
    const bool is_switch = field && detail::field_is_switch<Settings>(*field);
    if (!field && key != "config" && key != "no-server-header" && !detail::is_setting(key)) {
      problems.push_back(detail::unknown_flag_message(key, app_flags));
      if (!inline_value && i + 1 < argc && !std::string_view(argv[i + 1]).starts_with("-")) ++i;  // its value
      continue;
    }
    if (key == "no-server-header") {  // a flag: applied after the file and KEEL_SERVER_HEADER, as "" would be
      if (inline_value)
        problems.push_back(flag + " takes no value");
      else
        flags.push_back({"server-header", "", std::nullopt});
      continue;
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (is_switch) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      problems.push_back("missing value after " + flag);
      continue;
    }
    if (key == "config")
      file = value;
    else
      flags.push_back({std::string(key), std::move(value), field});
  }

  // The command and its arguments.
  if (!positional.empty()) {
    const std::size_t known = options.migrations ? std::size(detail::app_commands) : 4;
    const std::span<const std::string_view> commands(detail::app_commands, known);
    bool found = false;
    for (std::string_view c : commands) found = found || c == positional[0];
    if (!found) {
      problems.push_back("unknown command '" + positional[0] + "'" +
                         detail::nearest(positional[0], commands));
    } else {
      out.command = positional[0];
      out.arguments.assign(positional.begin() + 1, positional.end());
      const bool migrate_argument_ok = out.command == "migrate" && out.arguments.size() == 1 &&
                                       (out.arguments[0] == "up" || out.arguments[0] == "status");
      if (out.command == "migrate" && out.arguments.empty())
        out.arguments.emplace_back("up");
      else if (!out.arguments.empty() && !migrate_argument_ok)
        problems.push_back("unexpected argument '" + out.arguments[0] + "' after " + out.command +
                           (out.command == "migrate" ? " (expected up or status)" : ""));
    }
  }

  auto set = [&](std::size_t index, std::string_view text, std::string source) {
    std::string problem = detail::set_field(out.settings, index, text, source);
    if (problem.empty())
      out.sources[index] = std::move(source);
    else
      problems.push_back(std::move(problem));
  };

  // 2. The file.
  if (file) {
    detail::settings_file read = detail::read_settings_file(*file);
    problems.insert(problems.end(), read.problems.begin(), read.problems.end());
    std::vector<std::string_view> keys(json_field_names<Settings>.begin(), json_field_names<Settings>.end());
    for (const detail::setting_description& s : detail::settings) keys.push_back(s.key);
    for (const detail::file_setting& setting : read.values) {
      const std::string source = "file " + *file + " " + setting.key;
      std::string server_key = detail::flag_name_of(setting.key);
      if (auto index = detail::field_by_key<Settings>(setting.key))
        set(*index, setting.text, source);
      else if (detail::is_setting(server_key))
        detail::set_server(out.config, server_key, setting.text, source, out.server_sources, problems);
      else
        problems.push_back(*file + ": unknown setting '" + setting.key + "'" +
                           detail::nearest(setting.key, keys));
    }
  }

  // 3. The environment.
  for (std::size_t i = 0; i < field_count<Settings>; ++i) {
    const std::string name =
        detail::env_name_of(options.env_prefix, detail::settings_flag_names<Settings>[i]);
    if (const char* value = std::getenv(name.c_str())) set(i, value, "env " + name);
  }
  for (const detail::setting_description& s : detail::settings) {
    const std::string name = detail::env_name(s.key);
    if (const char* value = std::getenv(name.c_str()))
      detail::set_server(out.config, s.key, value, "env " + name, out.server_sources, problems);
  }

  // 4. The flags, in order (the last of a repeated flag wins).
  for (const detail::flag_use& f : flags) {
    if (f.field)
      set(*f.field, f.value, "--" + f.key);
    else
      detail::set_server(out.config, f.key, f.value, "--" + f.key, out.server_sources, problems);
  }

  // The rules of validated fields, on the values that won.
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if (std::string_view reason = detail::check_value(boost::pfr::get<I>(out.settings));
              !reason.empty()) {
            const std::string& source = out.sources[I];
            problems.push_back(
                (source == "default" ? std::string(json_field_names<Settings>[I]) + " (default)" : source) +
                ": " + std::string(reason));
          }
        }(),
        ...);
  }
  (std::make_index_sequence<field_count<Settings>>{});

  if (!problems.empty()) throw settings_error(std::move(problems));
  return out;
}

// The --help text: usage, commands, the app's settings (with defaults, never a secret's), keel's flags.
template <class Settings>
std::string app_help(std::string_view program, const settings_options& options = {}) {
  static_assert(detail::check_settings_struct<Settings>());
  const Settings defaults{};
  detail::help_section commands{"commands", {}};
  commands.rows = {{"serve", "run the server (the default)"},
                   {"routes", "print the route table: method, path, summary"},
                   {"openapi", "print the OpenAPI document"},
                   {"config", "print the effective settings and where each came from (secrets redacted)"}};
  if (options.migrations)
    commands.rows.emplace_back("migrate [up|status]", "apply the SQL migrations, or list them");
  detail::help_section app{
      "settings (flag, " + std::string(options.env_prefix) + "<NAME> variable, or key of the --config file)",
      {}};
  const std::vector<cli_flag> flags = detail::settings_cli_flags<Settings>();
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using M = boost::pfr::tuple_element_t<I, Settings>;
          const cli_flag& f = flags[I];
          std::string text = f.description;
          if constexpr (detail::is_secret_setting<M>()) {
            text.append(text.empty() ? "" : " ").append("(secret)");
          } else if constexpr (detail::settable<M>) {
            const std::string value = detail::format_value(boost::pfr::get<I>(defaults));
            if (value != "\"\"" && value != "(unset)" && value != "false")
              text.append(text.empty() ? "" : " ").append("(default ").append(value).append(")");
          }
          app.rows.emplace_back("--" + f.name + (f.takes_value() ? " " + f.value_name : ""), std::move(text));
        }(),
        ...);
  }
  (std::make_index_sequence<field_count<Settings>>{});
  app.rows.emplace_back("--config FILE", flags.back().description);
  std::string usage = std::string(program) + " [command] [flags]";
  if (!options.about.empty()) usage.append("\n\n").append(options.about);
  const detail::help_section sections[] = {std::move(commands), std::move(app),
                                           detail::server_help_section()};
  return detail::render_help(usage, sections);
}

// For main(): --help prints app_help and exits 0; a bad command line prints every problem, one per line, to
// stderr and exits 2.
template <class Settings>
app_command_line<Settings> parse_app_command_line(int argc, char** argv,
                                                  const settings_options& options = {}) {
  const std::string_view program = argc > 0 && argv[0] != nullptr ? std::string_view(argv[0]) : "app";
  try {
    app_command_line<Settings> cli = parse_app_command_line_or_throw<Settings>(argc, argv, options);
    if (cli.help) {
      const std::string help = app_help<Settings>(program, options);
      std::fwrite(help.data(), 1, help.size(), stdout);
      std::exit(0);
    }
    return cli;
  } catch (const settings_error& e) {
    const std::string name(program.substr(program.rfind('/') + 1));  // npos + 1 == 0
    for (const std::string& problem : e.problems)
      std::fprintf(stderr, "%s: %s\n", name.c_str(), problem.c_str());
    std::fprintf(stderr, "%s: see %s --help\n", name.c_str(), name.c_str());
    std::exit(2);
  }
}

}  // namespace v0
}  // namespace keel
