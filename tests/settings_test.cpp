// keel::settings: precedence (defaults < --config file < env < flags), validation listing every bad setting
// with its source, the env prefix, file errors, secret redaction, --help, commands, composition with keel's
// server flags.
#include "keel/settings.hpp"

#include "keel/json.hpp"
#include "keel/router/router.hpp"
#include "keel/sql/database.hpp"
#include "keel/sql/migrate.hpp"

#include "support/env_guard.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

using keel_test::env_guard;
using namespace std::chrono_literals;

namespace settings_test {

enum class log_format { text, json };

struct app_settings {
  keel::url db_url = std::string("http://127.0.0.1:5984");
  keel::range<int, 1, 64> pool = 8;
  bool verbose = false;
  std::chrono::milliseconds poll = 250ms;
  keel::one_of<"debug", "info", "warn"> level = std::string("info");
  std::vector<std::string> origins{};
  std::optional<std::string> upload_dir{};
  keel::secret<std::string> api_token = std::string("default-token");
  log_format format = log_format::text;

  static constexpr std::pair<std::string_view, std::string_view> keel_field_descriptions[] = {
      {"db_url", "where the database lives"},
      {"pool", "database connections"},
      {"api_token", "token for the upstream API"},
  };
  static constexpr std::pair<std::string_view, std::string_view> keel_value_names[] = {{"db_url", "URL"}};
};

// parse_app_command_line_or_throw<S> on "app" followed by `args`.
template <class S = app_settings>
keel::app_command_line<S> parse_as(std::vector<std::string> args, const keel::settings_options& options) {
  args.insert(args.begin(), "app");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return keel::parse_app_command_line_or_throw<S>(static_cast<int>(args.size()), argv.data(), options);
}

keel::app_command_line<app_settings> parse(std::vector<std::string> args, std::string_view prefix = "APP_") {
  return parse_as(std::move(args), {.env_prefix = prefix});
}

std::vector<std::string> problems_of(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const keel::settings_error& e) {
    return e.problems;
  }
  FAIL("the command line was accepted");
  return {};
}

// A settings file in the test's temporary directory, removed afterwards.
struct temp_file {
  std::string path;
  explicit temp_file(const std::string& text) {
    char name[] = "/tmp/keel-settings-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream(path) << text;
  }
  ~temp_file() { std::remove(path.c_str()); }
};

}  // namespace settings_test

// Named, not anonymous: clang 16 reads field names only from structs with linkage.
using namespace settings_test;

TEST_CASE("settings: the struct's initialisers are the defaults", "[settings]") {
  auto cli = parse({});
  CHECK(cli.settings.db_url == std::string("http://127.0.0.1:5984"));
  CHECK(cli.settings.pool.get() == 8);
  CHECK_FALSE(cli.settings.verbose);
  CHECK(cli.settings.poll == 250ms);
  CHECK_FALSE(cli.settings.upload_dir.has_value());
  CHECK(cli.command == "serve");
  CHECK(cli.config.port == 8080);
  CHECK(cli.sources[0] == "default");
}

TEST_CASE("settings: file < env < flag, each field on its own", "[settings]") {
  temp_file file(
      R"({"db_url": "http://file.example", "pool": 2, "poll": 1000, "origins": ["a.example", "b.example"],
                     "level": "warn", "port": 9000, "format": "json"})");
  env_guard env{{"APP_POOL", "3"}, {"APP_LEVEL", "debug"}};
  auto cli = parse({"--config", file.path, "--level=warn", "--verbose", "--upload-dir", "/srv/up"});
  CHECK(cli.settings.db_url == std::string("http://file.example"));  // file only
  CHECK(cli.settings.pool.get() == 3);                               // env over file
  CHECK(*cli.settings.level == "warn");                              // flag over env over file
  CHECK(cli.settings.verbose);                                       // a bool flag is a switch
  CHECK(cli.settings.poll == 1000ms);
  CHECK(cli.settings.origins == std::vector<std::string>{"a.example", "b.example"});
  CHECK(cli.settings.upload_dir == "/srv/up");
  CHECK(cli.settings.format == log_format::json);  // enums by name
  CHECK(cli.config.port == 9000);                  // keel's settings may be keys of the file too
  CHECK(cli.sources[0] == "file " + file.path + " db_url");
  CHECK(cli.sources[1] == "env APP_POOL");
  CHECK(cli.sources[4] == "--level");
}

TEST_CASE("settings: the env prefix is the app's", "[settings]") {
  env_guard env{{"SITE_POOL", "5"}, {"APP_POOL", "6"}, {"SITE_ORIGINS", "x.example, y.example"}};
  auto cli = parse({}, "SITE_");
  CHECK(cli.settings.pool.get() == 5);
  CHECK(cli.settings.origins == std::vector<std::string>{"x.example", "y.example"});
  CHECK(cli.sources[1] == "env SITE_POOL");
  env_guard cleared{{"SITE_UPLOAD_DIR", "/tmp/u"}, {"SITE_VERBOSE", "yes"}};
  auto again = parse({}, "SITE_");
  CHECK(again.settings.upload_dir == "/tmp/u");
  CHECK(again.settings.verbose);
}

TEST_CASE("settings: every bad setting is named at once, with its source", "[settings]") {
  env_guard env{{"APP_POOL", "0"}, {"APP_POLL", "soon"}, {"KEEL_THREADS", "many"}};
  auto problems = problems_of(
      {"--db-url", "ftp://x", "--level", "loud", "--port", "abc", "--verbose=maybe", "--format", "xml"});
  const std::vector<std::string> expected = {
      "env APP_POLL: must be a whole number of milliseconds (got 'soon')",
      "invalid value 'many' for env KEEL_THREADS (expected an integer from 0 to 4096)",
      "invalid value 'abc' for --port (expected an integer from 0 to 65535)",
      "--verbose: must be true or false (got 'maybe')",
      "--format: must be one of: text, json (got 'xml')",
      "--db-url: must be an http or https URL",
      "env APP_POOL: must be between 1 and 64",
      "--level: must be one of: debug, info, warn",
  };
  CHECK(problems == expected);
}

namespace settings_test {
struct broken_default_settings {
  keel::range<int, 1, 5> level = 0;
};
}  // namespace settings_test

TEST_CASE("settings: a broken default is reported as the default", "[settings]") {
  CHECK_THROWS_WITH(parse_as<broken_default_settings>({}, {}), "level (default): must be between 1 and 5");
  env_guard env{{"APP_DB_URL", ""}};
  CHECK(problems_of({}) == std::vector<std::string>{"env APP_DB_URL: must be an http or https URL"});
}

TEST_CASE("settings: unknown flags, commands and keys suggest the nearest", "[settings]") {
  auto problems = problems_of({"--db-ulr", "x", "--prot", "80", "rouets", "--pool"});
  REQUIRE(problems.size() == 4);
  CHECK(problems[0] == "unknown flag --db-ulr (did you mean --db-url?)");
  CHECK(problems[1] == "unknown flag --prot (did you mean --port?)");
  CHECK(problems[2] == "missing value after --pool");
  CHECK(problems[3] == "unknown command 'rouets' (did you mean 'routes'?)");
  CHECK(problems_of({"migrate"}) == std::vector<std::string>{"unknown command 'migrate'"});
  CHECK(problems_of({"routes", "extra"}) ==
        std::vector<std::string>{"unexpected argument 'extra' after routes"});
}

TEST_CASE("settings: config file errors", "[settings]") {
  SECTION("missing file") {
    auto problems = problems_of({"--config", "/nonexistent/keel.json"});
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0], Catch::StartsWith("--config /nonexistent/keel.json: cannot read the file"));
  }
  SECTION("not JSON") {
    temp_file file("{\"pool\": 3,");
    auto problems = problems_of({"--config", file.path});
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0], Catch::StartsWith("--config " + file.path + ": not valid JSON"));
  }
  SECTION("not an object") {
    temp_file file("[1, 2]");
    CHECK(problems_of({"--config", file.path}) ==
          std::vector<std::string>{"--config " + file.path + ": must hold one JSON object of settings"});
  }
  SECTION("unknown keys, bad values and nested objects, all listed") {
    temp_file file(R"({"pol": 3, "pool": "x", "level": {"a": 1}, "api_token": "short", "port": -1})");
    const std::vector<std::string> expected = {
        file.path + " level: must be a string, number, boolean or array of them",
        file.path + ": unknown setting 'pol' (did you mean 'pool'?)",
        "file " + file.path + " pool: must be an integer from -2147483648 to 2147483647 (got 'x')",
        "invalid value '-1' for file " + file.path + " port (expected an integer from 0 to 65535)",
    };
    CHECK(problems_of({"--config", file.path}) == expected);
  }
}

TEST_CASE("settings: secrets are never printed", "[settings]") {
  env_guard env{{"APP_API_TOKEN", "s3cr3t-value"}};
  auto cli = parse({"config"});
  CHECK(cli.settings.api_token.reveal() == "s3cr3t-value");
  CHECK(cli.command == "config");
  const std::string text = keel::settings_text(cli);
  CHECK(text.find("s3cr3t") == std::string::npos);
  CHECK(text.find("api_token = ***") != std::string::npos);
  CHECK(text.find("# env APP_API_TOKEN") != std::string::npos);
  CHECK(text.find("pool = 8") != std::string::npos);
  CHECK(text.find("port = 8080") != std::string::npos);

  // A bad secret is reported without its value.
  env_guard bad{{"APP_POOL", "nope"}};
  temp_file file(R"({"api_token": 5, "pool": 3})");
  auto problems = problems_of({"--config", file.path});
  for (const auto& p : problems) CHECK(p.find("s3cr3t") == std::string::npos);
  const std::string help = keel::app_help<app_settings>("app");
  CHECK(help.find("default-token") == std::string::npos);
  CHECK(help.find("--api-token TEXT") != std::string::npos);
  CHECK(help.find("token for the upstream API (secret)") != std::string::npos);
}

namespace settings_test {
struct secret_rules_settings {
  keel::secret<keel::text<12>> token = std::string("0123456789ab");
};
}  // namespace settings_test

TEST_CASE("settings: a secret's rules are checked, its value not echoed", "[settings]") {
  try {
    parse_as<secret_rules_settings>({"--token", "short-one"}, {});
    FAIL("accepted a 9-character token");
  } catch (const keel::settings_error& e) {
    CHECK(e.problems == std::vector<std::string>{"--token: length must be at least 12"});
  }
}

TEST_CASE("settings: --help lists commands, settings with defaults, and keel's flags", "[settings]") {
  const std::string help = keel::app_help<app_settings>("app", {.env_prefix = "APP_", .about = "An app."});
  CHECK_THAT(help, Catch::StartsWith("usage: app [command] [flags]\n\nAn app.\n"));
  for (const char* line :
       {"  serve ", "  routes ", "  openapi ", "  config ",
        "settings (flag, APP_<NAME> variable, or key of the --config file):", "--db-url URL",
        "where the database lives (default \"http://127.0.0.1:5984\")", "--pool N",
        "database connections (default 8)", "--verbose ", "--poll MS", "(default 250)",
        "--level debug|info|warn", "--origins TEXT,...", "--upload-dir TEXT", "--config FILE",
        "server flags (also KEEL_<NAME> variables", "--port N", "--help"})
    CHECK_THAT(help, Catch::Contains(line));
  CHECK_THAT(help, !Catch::Contains("migrate"));
  CHECK_THAT(keel::app_help<app_settings>("app", {.migrations = true}),
             Catch::Contains("migrate [up|status]"));
  CHECK(parse({"--port", "1", "--help", "--bogus"}).help);  // --help wins over anything wrong
}

TEST_CASE("settings: commands and their arguments", "[settings]") {
  const auto run = [](std::vector<std::string> args) {
    return parse_as(std::move(args), {.migrations = true});
  };
  CHECK(run({"--port", "81", "routes"}).command == "routes");
  CHECK(run({"routes", "--port", "81"}).config.port == 81);
  CHECK(run({"migrate"}).arguments == std::vector<std::string>{"up"});
  env_guard env{{"KEEL_SERVER_HEADER", "from-env"}};
  CHECK_FALSE(
      run({"--no-server-header"}).config.server_header.has_value());  // the flag wins over the variable
  CHECK(run({}).config.server_header == "from-env");
  CHECK(run({"migrate", "status"}).arguments == std::vector<std::string>{"status"});
  CHECK_THROWS_WITH(run({"migrate", "down"}),
                    "unexpected argument 'down' after migrate (expected up or status)");
}

namespace settings_test {
struct item {
  int id;
};
item get_item(int id) { return {id}; }
}  // namespace settings_test

TEST_CASE("settings: routes_text lists method, path template and summary", "[settings]") {
  auto api = keel::router{
      keel::get<"/items/{id}">(&get_item).doc({.summary = "One item"}),
      keel::on<"/health", keel::http::method::get, keel::http::method::head>([] { return "ok"; }),
  };
  const std::string text = keel::routes_text(api);
  CHECK(text ==
        "GET     /items/{id}  One item\n"
        "GET     /health\n"
        "HEAD    /health\n");
}

namespace settings_test {

// What `f` prints to stdout (fd 1 pointed at a temporary file meanwhile).
template <class F>
std::string stdout_of(F&& f) {
  temp_file out("");
  std::fflush(stdout);
  const int saved = ::dup(1);
  const int fd = ::open(out.path.c_str(), O_WRONLY | O_TRUNC);
  ::dup2(fd, 1);
  ::close(fd);
  f();
  std::fflush(stdout);
  ::dup2(saved, 1);
  ::close(saved);
  std::ifstream in(out.path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

constexpr keel::sql::migration item_migrations[] = {
    {1, "create item", "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"},
    {2, "item price", "ALTER TABLE item ADD COLUMN price INTEGER"},
};

}  // namespace settings_test

TEST_CASE("settings: migrate status and up through run_command", "[settings]") {
  temp_file database_file("");
  keel::db db{"sqlite:" + database_file.path};
  const keel::command_options options{.openapi = {}, .migrate = [&db](std::string_view action) {
                                        return keel::sql::run_migrate_command(db, item_migrations, action);
                                      }};
  auto router = keel::router{keel::get<"/items/{id}">(&get_item)};
  const auto run = [&](std::vector<std::string> args) {
    auto cli = parse_as(std::move(args), {.migrations = true});
    std::optional<int> status;
    std::string out = stdout_of([&] { status = keel::run_command(cli, router, options); });
    REQUIRE(status == 0);
    return out;
  };
  CHECK(run({"migrate", "status"}) ==
        "     1  pending   create item\n"
        "     2  pending   item price\n"
        "keel: 0 applied, 2 pending\n");
  CHECK(run({"migrate"}) == "keel: 2 migration(s) applied, 0 already applied\n");
  CHECK(run({"migrate", "up"}) == "keel: 0 migration(s) applied, 2 already applied\n");
  CHECK(run({"migrate", "status"}) ==
        "     1  applied   create item\n"
        "     2  applied   item price\n"
        "keel: 2 applied, 0 pending\n");
  CHECK_THAT(run({"openapi"}), Catch::StartsWith("{\"openapi\":\"3.1.0\"") && Catch::Contains("/items/{id}"));
  CHECK(run({"routes"}) == "GET     /items/{id}\n");
  auto serve = parse({});
  CHECK_FALSE(keel::run_command(serve, router, options).has_value());  // the caller serves
}
