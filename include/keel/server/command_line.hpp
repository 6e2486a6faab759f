// keel::parse_command_line: a whole command line for main(): keel's flags (--port, ...) into a server_config,
// the app's own declared flags (--db URL, --migrate) into values, --help listing both, and anything else
// rejected. server_config::from_args stays lenient (it skips what it does not know); this one is strict, so a
// typo like `--prot 8080` cannot be silently ignored.
//
//   int main(int argc, char** argv) {
//     auto cli = keel::parse_command_line(argc, argv, {
//         {.name = "db", .value_name = "URL", .description = "database URL (default sqlite:app.db)"},
//         {.name = "migrate", .description = "apply the migrations and exit"},  // a switch: no value_name
//     });
//     std::string url = cli.value("db").value_or("sqlite:app.db");
//     ...serve(cli.config);
//   }
//
// On a bad command line it prints one line to stderr and exits with status 2 (the usual "usage error"
// status); on --help it prints the flags to stdout and exits with 0.
#pragma once

#include "keel/config.hpp"
#include "keel/server/config.hpp"
#include "keel/server/config_parse.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

// A flag of the app, declared so that it is not "unknown" and shows up in --help.
struct cli_flag {
  std::string name;         // without the dashes: "db" for --db
  std::string value_name;   // "URL": the flag takes a value (--db URL or --db=URL); empty: a switch
  std::string description;  // one line for --help
  bool takes_value() const noexcept { return !value_name.empty(); }
};

// What the command line said.
struct command_line {
  server_config config;                                         // from_env(), then keel's flags on top
  std::vector<std::pair<std::string, std::string>> app_values;  // declared flags that were given, in order

  // The value of app flag `name` (the last one given); nullopt when absent. A switch that was given has "".
  std::optional<std::string> value(std::string_view name) const {
    std::optional<std::string> found;
    for (const auto& [flag, value] : app_values)
      if (flag == name) found = value;
    return found;
  }
  bool has(std::string_view name) const { return value(name).has_value(); }
};

// A command line that cannot be run: an unknown flag, a missing or bad value, a stray argument.
struct command_line_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

namespace detail {

// Edit distance, for "did you mean --port?"; flags are short, so the quadratic table is nothing.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

inline std::string unknown_flag_message(std::string_view key, std::span<const cli_flag> app_flags) {
  std::string message = "unknown flag --" + std::string(key);
  std::string_view best;
  std::size_t best_distance = 3;  // further than two edits away is not a typo
  auto consider = [&](std::string_view candidate) {
    if (std::size_t d = edit_distance(key, candidate); d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  };
  for (const setting_description& s : settings) consider(s.key);
  consider("no-server-header");
  consider("help");
  for (const cli_flag& f : app_flags) consider(f.name);
  if (!best.empty()) message += " (did you mean --" + std::string(best) + "?)";
  return message;
}

// "--key=value" -> ("key", "value"); "--key" -> ("key", nullopt). `arg` starts with "--".
struct flag_parts {
  std::string_view key;
  std::optional<std::string_view> inline_value;
};
inline flag_parts split_flag(std::string_view arg) {
  arg.remove_prefix(2);
  if (const auto eq = arg.find('='); eq != std::string_view::npos)
    return {arg.substr(0, eq), arg.substr(eq + 1)};
  return {arg, std::nullopt};
}

inline const cli_flag* find_app_flag(std::string_view key, std::span<const cli_flag> app_flags) {
  for (const cli_flag& f : app_flags)
    if (f.name == key) return &f;
  return nullptr;
}

}  // namespace detail

namespace detail {

// One titled block of --help: "--flag VALUE" and its description per row.
struct help_section {
  std::string title;
  std::vector<std::pair<std::string, std::string>> rows;
};

// keel's own flags, as --help lists them under every app's.
inline help_section server_help_section() {
  help_section out{"server flags (also KEEL_<NAME> variables, e.g. KEEL_PORT)", {}};
  for (const setting_description& s : settings)
    out.rows.emplace_back("--" + std::string(s.key) + " " + std::string(s.value_name),
                          std::string(s.description));
  out.rows.emplace_back("--no-server-header", "send no Server header");
  out.rows.emplace_back("--help", "print this help and exit");
  return out;
}

// The usage line, then each non-empty section, descriptions lined up across all of them.
inline std::string render_help(std::string_view usage, std::span<const help_section> sections) {
  std::size_t width = 0;
  for (const help_section& section : sections)
    for (const auto& row : section.rows) width = std::max(width, row.first.size());
  std::string out = "usage: " + std::string(usage) + "\n";
  for (const help_section& section : sections) {
    if (section.rows.empty()) continue;
    out.append("\n").append(section.title).append(":\n");
    for (const auto& [flag, description] : section.rows)
      out.append("  ").append(flag).append(width - flag.size() + 2, ' ').append(description).append("\n");
  }
  return out;
}

}  // namespace detail

// The --help text: usage, then the app's flags, then keel's, one line each.
inline std::string command_line_help(std::string_view program, std::span<const cli_flag> app_flags) {
  detail::help_section app{"flags", {}};
  for (const cli_flag& f : app_flags)
    app.rows.emplace_back("--" + f.name + (f.takes_value() ? " " + f.value_name : ""), f.description);
  const detail::help_section sections[] = {std::move(app), detail::server_help_section()};
  return detail::render_help(std::string(program) + " [flags]", sections);
}

// The strict parse without the exiting, for tests and for apps that report errors their own way. --help is
// not handled here. Throws command_line_error (and std::invalid_argument for a bad KEEL_* variable).
inline command_line parse_command_line_or_throw(int argc, char** argv, std::span<const cli_flag> app_flags) {
  command_line result{server_config::from_env(), {}};
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("--") || arg.size() == 2)
      throw command_line_error("keel: unexpected argument '" + std::string(arg) + "'");
    const auto [key, inline_value] = detail::split_flag(arg);
    const std::string flag = "--" + std::string(key);
    const cli_flag* app_flag = detail::find_app_flag(key, app_flags);
    const bool is_switch = key == "no-server-header" || (app_flag != nullptr && !app_flag->takes_value());
    if (is_switch) {
      if (inline_value) throw command_line_error("keel: " + flag + " takes no value");
      if (app_flag != nullptr)
        result.app_values.emplace_back(app_flag->name, "");
      else
        result.config.server_header.reset();
      continue;
    }
    if (app_flag == nullptr && !detail::is_setting(key))
      throw command_line_error("keel: " + detail::unknown_flag_message(key, app_flags));
    std::string_view value;
    if (inline_value) {
      value = *inline_value;
    } else {
      if (i + 1 >= argc) throw command_line_error("keel: missing value after " + flag);
      value = argv[++i];
    }
    if (app_flag != nullptr) {
      result.app_values.emplace_back(app_flag->name, std::string(value));
    } else {
      try {
        detail::apply_setting(result.config, key, value, flag);
      } catch (const std::invalid_argument& e) {
        throw command_line_error(e.what());
      }
    }
  }
  return result;
}

// For main(): --help prints the help and exits 0; a bad command line (or KEEL_* variable) prints one line to
// stderr and exits 2.
inline command_line parse_command_line(int argc, char** argv,
                                       std::initializer_list<cli_flag> app_flags = {}) {
  const std::span<const cli_flag> flags(app_flags.begin(), app_flags.size());
  const std::string_view program = argc > 0 && argv[0] != nullptr ? std::string_view(argv[0]) : "app";
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      std::string help = command_line_help(program, flags);
      std::fwrite(help.data(), 1, help.size(), stdout);
      std::exit(0);
    }
  }
  try {
    return parse_command_line_or_throw(argc, argv, flags);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s (see --help)\n", e.what());
    std::exit(2);
  }
}

}  // namespace v0
}  // namespace keel
